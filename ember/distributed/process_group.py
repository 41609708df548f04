"""The default process group (``init_process_group``), subgroups (``new_group``) and the questions
about them (``get_rank``, ``get_world_size``, ...)."""
import os
from datetime import timedelta

from ember.distributed import _mpi
from ember.distributed._group import GroupMember, ProcessGroup
from ember.distributed._nccl import NcclProcessGroup, nccl_available
from ember.distributed.constants import Backend, default_pg_timeout


class _State:
    default = None
    groups = []


_state = _State()


class group:  # noqa: N801 - torch's name: ``dist.group.WORLD``
    WORLD = None


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
