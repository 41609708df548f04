"""``ProcessGroup``: a set of ranks over one MPI communicator, with the bounded wait and the post-mortem
that names the missing ranks; and the stand-in that ranks outside a group get."""
import os
import time

import numpy as np

from ember.distributed import _mpi, _mpi_collectives
from ember.distributed.constants import Backend, DistBackendError

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
