"""Collectives on picklable Python objects (``broadcast_object_list``, ``all_gather_object``, ...).

Objects travel as pickles between the ranks of one job, and are unpickled on arrival: this trusts
the job's own ranks, exactly as ``torch.distributed`` does. Never join ranks you do not trust.
"""
import pickle

import numpy as np

from ember._tensor import Tensor
from ember.backend import CPU, from_numpy_dtype
from ember.distributed import collectives
from ember.distributed.process_group import GroupMember, resolve


def _wrap(array):
    return Tensor._make(array, from_numpy_dtype(array.dtype), CPU)


def _encode(obj):
    return np.frombuffer(pickle.dumps(obj), dtype=np.uint8).copy()


def _decode(array, size):
    return pickle.loads(array[:size].tobytes())


def _member(group):
    pg = resolve(group)
    return None if pg is GroupMember.NON_GROUP_MEMBER or pg.comm is None else pg


def broadcast_object_list(object_list, src=None, group=None, device=None, group_src=None):
    """Replace ``object_list``'s entries on every rank with those of rank ``src`` (in place)."""
    pg = _member(group)
    if pg is None:
        return
    src = pg.ranks[group_src] if group_src is not None else (0 if src is None else src)
    mine = pg.ranks[pg.rank()] == src
    payload = _encode(list(object_list)) if mine else None
    size = _wrap(np.array([payload.size if mine else 0], dtype=np.int64))
    collectives.broadcast(size, src, group)
    data = _wrap(payload if mine else np.empty(int(size.item()), dtype=np.uint8))
    collectives.broadcast(data, src, group)
    if not mine:
        object_list[:] = _decode(data._data, int(size.item()))


def _gather_payloads(obj, group, pg):
    payload = _encode(obj)
    sizes = _wrap(np.zeros(pg.size(), dtype=np.int64))
    collectives.all_gather_into_tensor(sizes, _wrap(np.array([payload.size], dtype=np.int64)), group)
    longest = int(sizes._data.max())
    padded = np.zeros(longest, dtype=np.uint8)
    padded[:payload.size] = payload
    everyone = _wrap(np.empty(pg.size() * longest, dtype=np.uint8))
    return sizes._data, longest, padded, everyone


def all_gather_object(object_list, obj, group=None):
    """Every rank's ``obj`` into ``object_list`` (one entry per rank)."""
    pg = _member(group)
    if pg is None:
        return
    if len(object_list) != pg.size():
        raise ValueError(f"all_gather_object: object_list has {len(object_list)} entries for {pg.size()} ranks")
    sizes, longest, padded, everyone = _gather_payloads(obj, group, pg)
    collectives.all_gather_into_tensor(everyone, _wrap(padded), group)
    for r in range(pg.size()):
        object_list[r] = _decode(everyone._data[r * longest:], int(sizes[r]))


def gather_object(obj, object_gather_list=None, dst=None, group=None):
    """Every rank's ``obj`` into ``dst``'s ``object_gather_list``."""
    pg = _member(group)
    if pg is None:
        return
    dst = 0 if dst is None else dst
    sizes, longest, padded, everyone = _gather_payloads(obj, group, pg)
    rows = [_wrap(everyone._data[r * longest:(r + 1) * longest]) for r in range(pg.size())]
    root = pg.ranks[pg.rank()] == dst
    collectives.gather(_wrap(padded), rows if root else None, dst, group)
    if root:
        for r in range(pg.size()):
            object_gather_list[r] = _decode(rows[r]._data, int(sizes[r]))


def scatter_object_list(scatter_object_output_list, scatter_object_input_list=None, src=None, group=None):
    """Entry ``r`` of ``src``'s input list into rank ``r``'s ``scatter_object_output_list[0]``."""
    pg = _member(group)
    if pg is None:
        return
    src = 0 if src is None else src
    box = [list(scatter_object_input_list) if pg.ranks[pg.rank()] == src else None]
    broadcast_object_list(box, src, group)
    scatter_object_output_list[0] = box[0][pg.rank()]
