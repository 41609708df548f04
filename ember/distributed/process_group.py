"""Process groups over MPI communicators: the default group made by ``init_process_group`` and the
subgroups of ``new_group``; the bounded wait and the post-mortem that names the missing ranks."""
import os
import time
from datetime import timedelta

import numpy as np

from ember.distributed import _mpi, _mpi_collectives
from ember.distributed.constants import Backend, DistBackendError, default_pg_timeout

_MONITOR_TAG_SPACE = 1 << 20


class ProcessGroup:
    """A set of ranks that run collectives together, carried by one MPI communicator.

    ``comm`` is None on ranks outside the group. Collectives are numbered per group
    (``seq``) so that an error can say which call failed."""

    ops = _mpi_collectives  # the engine's collectives; the NCCL group brings its own

    def __init__(self, comm, ranks, backend, timeout):
        self.comm = comm
        self._monitor = comm.Dup() if comm is not None else None
        self.ranks = list(ranks)
        self.backend = Backend(backend)
        self.timeout = timeout
        self.seq = 0
        self.p2p_seq = 0
        self.broken = None
        self.debug = os.environ.get("TORCH_DISTRIBUTED_DEBUG", os.environ.get("EMBER_DISTRIBUTED_DEBUG", "")) == "DETAIL"

    def __repr__(self):
        return f"ProcessGroup(backend={self.backend!r}, ranks={self.ranks})"

    def check_device(self, tensor, what):
        if tensor.device.type != "cpu":
            raise RuntimeError(f"{what}: the {self.backend} process group carries CPU tensors, got one on "
                               f"{tensor.device}; use init_process_group('nccl') for CUDA tensors")

    def rank(self):
        return self.comm.Get_rank() if self.comm is not None else -1

    def size(self):
        return len(self.ranks)

    def group_rank(self, global_rank, role="rank"):
        if global_rank not in self.ranks:
            raise ValueError(f"{role} {global_rank} is not part of the process group (ranks {self.ranks})")
        return self.ranks.index(global_rank)

    def next_seq(self):
        if self.broken:
            raise DistBackendError(f"the process group is unusable since {self.broken}")
        self.seq += 1
        return self.seq

    def timeout_s(self):
        return self.timeout.total_seconds()

    def wait(self, requests, what, seq=None, statuses=None):
        """Wait for this group's ``requests``; on a timeout or a failed peer raise ``DistBackendError``
        naming ``what``, its sequence number and the ranks that did not join."""
        def failure(peer):
            if peer is not None:
                reason = (f"{what} aborted: rank {peer.get('rank')} failed first "
                          f"({peer.get('reason', 'no reason recorded')})")
            else:
                reason = f"{what} timed out after {self.timeout_s():g} s"
                if seq is not None:
                    missing = self._missing_ranks(seq)
                    reason += (f": rank(s) {missing} did not join it" if missing
                               else ": every rank joined, but the transfer did not finish")
            self.broken = reason
            return _mpi.timeout_error(reason)
        _mpi.wait_all(requests, time.monotonic() + self.timeout_s(), failure, statuses)

    def _missing_ranks(self, seq):
        """Ask every other rank which collective it is in; those that are not in ``seq`` are missing.

        Each rank that times out sends its sequence number to all others on a side communicator and
        listens for a short grace period; a rank that died or stalls outside the collective never answers."""
        me, n = self.rank(), self.size()
        tag = seq % _MONITOR_TAG_SPACE
        mine = np.array([seq], dtype=np.int64)
        others = [r for r in range(n) if r != me]
        sends = [self._monitor.Isend(mine, dest=r, tag=tag) for r in others]
        inbox = {r: np.zeros(1, dtype=np.int64) for r in others}
        recvs = {r: self._monitor.Irecv(inbox[r], source=r, tag=tag) for r in others}
        deadline = time.monotonic() + min(2.0, max(0.25, 0.1 * self.timeout_s()))
        answered = set()
        while time.monotonic() < deadline and len(answered) < len(others):
            for r, req in recvs.items():
                if r not in answered and req.Test() and inbox[r][0] == seq:
                    answered.add(r)
            time.sleep(0.01)
        del sends  # left pending: the group is being torn down and a dead peer never takes them
        return [self.ranks[r] for r in others if r not in answered]

    def destroy(self):
        for comm in (self._monitor, self.comm):
            if comm is not None and comm != _mpi.mpi().COMM_WORLD and not self.broken:
                comm.Free()
        self.comm = self._monitor = None


class _State:
    default = None
    groups = []


_state = _State()


class group:  # noqa: N801 - torch's name: ``dist.group.WORLD``
    WORLD = None


class _NonGroupMember:
    """What ``new_group`` gives a rank outside the group: collectives on it do nothing and return None."""

    comm = None
    ranks = ()

    def __repr__(self):
        return "GroupMember.NON_GROUP_MEMBER"

    def rank(self):
        return -1

    def size(self):
        return -1


class GroupMember:
    NON_GROUP_MEMBER = _NonGroupMember()


def _as_timedelta(timeout):
    if timeout is None:
        return default_pg_timeout
    if isinstance(timeout, timedelta):
        return timeout
    return timedelta(seconds=float(timeout))


def _env_int(name):
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else None


def _check_init_method(init_method):
    if init_method is None or init_method == "env://":
        return
    for scheme in ("tcp://", "file://"):
        if init_method.startswith(scheme):
            return
    raise ValueError(f"init_method must be 'env://', 'tcp://HOST:PORT' or 'file://PATH', got {init_method!r}")


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1, store=None,
                       group_name="", pg_options=None, device_id=None):
    """Join this process to the job's default process group.

    Ranks are MPI ranks: start processes with ``python -m ember.distributed.run``, ``mpiexec`` or
    ``ember.multiprocessing.spawn``. ``rank``/``world_size`` (or ``RANK``/``WORLD_SIZE`` with
    ``env://``) are checked against MPI's; ``init_method``'s address is not needed, since MPI
    already joined the processes.

    >>> import ember.distributed as dist
    >>> dist.init_process_group("gloo", rank=0, world_size=1)  # doctest: +SKIP
    """
    if _state.default is not None:
        raise ValueError("trying to initialize the default process group twice!")
    _check_init_method(init_method)
    backend = Backend(backend or Backend.MPI)
    timeout = _as_timedelta(timeout)
    if init_method in (None, "env://"):
        world_size = world_size if world_size != -1 else (_env_int("WORLD_SIZE") or -1)
        rank = rank if rank != -1 else (_env_int("RANK") if _env_int("RANK") is not None else -1)
    comm = _mpi.mpi().COMM_WORLD
    mpi_rank, mpi_size = comm.Get_rank(), comm.Get_size()
    if world_size not in (-1, mpi_size):
        raise ValueError(
            f"init_process_group: world_size={world_size}, but MPI started {mpi_size} process(es); "
            "start the ranks with `python -m ember.distributed.run --nproc-per-node N`, `mpiexec -n N` "
            "or ember.multiprocessing.spawn")
    if rank not in (-1, mpi_rank):
        raise ValueError(f"init_process_group: rank={rank}, but this process is MPI rank {mpi_rank} of {mpi_size}")
    if backend == Backend.NCCL:
        from ember.distributed._nccl import NcclProcessGroup  # CuPy is optional and heavy
        pg = NcclProcessGroup(comm, range(mpi_size), backend, timeout, device_id)
    else:
        pg = ProcessGroup(comm, range(mpi_size), backend, timeout)
    _state.default = group.WORLD = pg
    _state.groups = [pg]


def _default():
    if _state.default is None:
        raise ValueError("Default process group has not been initialized, please make sure to call init_process_group.")
    return _state.default


def resolve(group_=None):
    return _default() if group_ is None else group_


def is_initialized():
    return _state.default is not None


def is_available():
    return True


def is_mpi_available():
    return _mpi.is_available()


is_gloo_available = is_mpi_available


def is_nccl_available():
    from ember.distributed._nccl import nccl_available  # CuPy is optional and heavy
    return nccl_available()


def get_rank(group=None):
    """This process's rank in ``group`` (the default group: its global rank); -1 outside the group."""
    return resolve(group).rank()


def get_world_size(group=None):
    pg = resolve(group)
    return pg.size() if pg.comm is not None else -1


def get_backend(group=None):
    return resolve(group).backend


def get_process_group_ranks(group):
    return list(resolve(group).ranks)


def get_global_rank(group, group_rank):
    return resolve(group).ranks[group_rank]


def get_group_rank(group, global_rank):
    return resolve(group).group_rank(global_rank)


def new_group(ranks=None, timeout=None, backend=None, pg_options=None, use_local_synchronization=False):
    """A group of some ranks; every rank of the default group must call it with the same ``ranks``."""
    world = _default()
    ranks = sorted(range(world.size())) if ranks is None else sorted(int(r) for r in ranks)
    for r in ranks:
        if not 0 <= r < world.size():
            raise ValueError(f"new_group: rank {r} is outside the world of {world.size()} ranks")
    mpi = _mpi.mpi()
    me = world.rank()
    color = 0 if me in ranks else mpi.UNDEFINED
    comm = world.comm.Split(color, ranks.index(me) if me in ranks else 0)
    comm = None if comm == mpi.COMM_NULL else comm
    pg = ProcessGroup(comm, ranks, backend or world.backend, _as_timedelta(timeout) if timeout else world.timeout)
    _state.groups.append(pg)
    return pg if comm is not None else GroupMember.NON_GROUP_MEMBER


def destroy_process_group(group=None):
    """Free ``group`` (all groups, and the default one, when None)."""
    if group is None:
        for pg in reversed(_state.groups):
            pg.destroy()
        _state.default = group_.WORLD = None
        _state.groups = []
    else:
        group.destroy()
        if group in _state.groups:
            _state.groups.remove(group)


group_ = group
