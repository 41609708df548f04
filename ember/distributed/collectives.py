"""The public collectives (``all_reduce``, ``broadcast``, ... ``send``/``recv``), as in ``torch.distributed``.

Each call checks its arguments, numbers itself within its group, optionally (with
``TORCH_DISTRIBUTED_DEBUG=DETAIL``) checks that every rank makes the same call, and hands the
tensors to the group's engine: MPI for CPU tensors, NCCL for CUDA tensors. ``async_op=True``
returns a ``Work``; otherwise the call returns once the result is in place. Ranks in arguments
(``src``, ``dst``) are global ranks, as in PyTorch.
"""
import numpy as np

from ember._tensor import Tensor
from ember.distributed.constants import DistBackendError, ReduceOp
from ember.distributed.process_group import GroupMember, resolve
from ember.distributed.work import Work

_CALLS = ("all_reduce", "broadcast", "reduce", "all_gather", "all_gather_into_tensor", "reduce_scatter",
          "reduce_scatter_tensor", "gather", "scatter", "all_to_all", "all_to_all_single", "barrier")
_OPS = tuple(ReduceOp)
_DTYPES = ("float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool")
_MAX_DIMS = 6


def _check_tensor(t, name="tensor"):
    if not isinstance(t, Tensor):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type Tensor but got {type(t)} instead.")


def _check_list(tensors, name):
    if not isinstance(tensors, (list, tuple)) or not all(isinstance(t, Tensor) for t in tensors):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type List[Tensor].")


def _describe(t):
    return f"shape {list(t.shape)}, {t.dtype.name}"


def _begin(group, name, tensor=None, op=None, root=None):
    """The group's engine, this call's label and sequence number; None when this rank is not in ``group``."""
    pg = resolve(group)
    if pg is GroupMember.NON_GROUP_MEMBER or pg.comm is None:
        return None
    if tensor is not None:
        pg.check_device(tensor, name)
    seq = pg.next_seq()
    what = f"{name} #{seq}" + (f" ({_describe(tensor)}{', ' + op.name if op else ''})" if tensor is not None else "")
    if pg.debug:
        _check_same_call(pg, name, seq, what, tensor, op, root)
    return pg, what, seq


def _fingerprint(name, seq, tensor, op, root):
    shape = list(tensor.shape)[:_MAX_DIMS] if tensor is not None else []
    dtype = _DTYPES.index(tensor.dtype.name) if tensor is not None and tensor.dtype.name in _DTYPES else -1
    row = [_CALLS.index(name), seq, _OPS.index(op) if op else -1, -1 if root is None else root, dtype,
           -1 if tensor is None else tensor.ndim, *shape, *([-1] * (_MAX_DIMS - len(shape)))]
    return np.array(row, dtype=np.int64)


def _decode(row):
    name, seq, op, root, dtype, ndim = (int(v) for v in row[:6])
    text = f"{_CALLS[name]} #{seq}"
    if ndim >= 0:
        text += f" (shape {[int(s) for s in row[6:6 + min(ndim, _MAX_DIMS)]]}, {_DTYPES[dtype]}"
        text += (f", {_OPS[op].name}" if op >= 0 else "") + ")"
    return text + (f" with root {root}" if root >= 0 else "")


def _check_same_call(pg, name, seq, what, tensor, op, root):
    """Debug mode: all ranks exchange what they are about to run and stop if they differ."""
    mine = _fingerprint(name, seq, tensor, op, root)
    rows = np.empty((pg.size(), mine.size), dtype=np.int64)
    Work(pg, [pg.comm.Iallgather(mine, rows)], f"consistency check of {what}", seq).wait()
    differ = [r for r in range(pg.size()) if not np.array_equal(rows[r], rows[0])]
    if differ:
        msg = "; ".join(f"rank {pg.ranks[r]} runs {_decode(rows[r])}" for r in [0, *differ])
        raise DistBackendError(f"Detected mismatch between collectives on ranks: {msg}")


def _finish(work, async_op):
    if async_op:
        return work
    work.wait()
    return None


def _check_op(op, tensor):
    if not isinstance(op, ReduceOp):
        raise ValueError(f"op must be a ReduceOp (SUM, AVG, PRODUCT, MIN, MAX), got {op!r}")
    if op is ReduceOp.AVG and not tensor.dtype.is_floating_point:
        raise ValueError(f"ReduceOp.AVG needs a floating point tensor, got {tensor.dtype.name}")


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Combine ``tensor`` across the ranks with ``op``; every rank gets the result in place.

    >>> t = ember.ones(3); dist.all_reduce(t)  # doctest: +SKIP
    """
    _check_tensor(tensor)
    _check_op(op, tensor)
    begun = _begin(group, "all_reduce", tensor, op)
    if begun is None:
        return None
    pg, what, seq = begun
    return _finish(pg.ops.all_reduce(pg, tensor, op, what, seq), async_op)


def broadcast(tensor, src=None, group=None, async_op=False, group_src=None):
    """Copy ``src``'s ``tensor`` into every rank's ``tensor``."""
    _check_tensor(tensor)
    begun = _begin(group, "broadcast", tensor, root=src)
    if begun is None:
        return None
    pg, what, seq = begun
    root = group_src if group_src is not None else pg.group_rank(0 if src is None else src, "src")
    return _finish(pg.ops.broadcast(pg, tensor, root, what, seq), async_op)


def reduce(tensor, dst=None, op=ReduceOp.SUM, group=None, async_op=False, group_dst=None):
    """Combine ``tensor`` across the ranks into ``dst``'s ``tensor`` (the others' are left as they were)."""
    _check_tensor(tensor)
    _check_op(op, tensor)
    begun = _begin(group, "reduce", tensor, op, dst)
    if begun is None:
        return None
    pg, what, seq = begun
    root = group_dst if group_dst is not None else pg.group_rank(0 if dst is None else dst, "dst")
    return _finish(pg.ops.reduce(pg, tensor, root, op, what, seq), async_op)


def _check_same_shapes(tensors, like, name):
    for i, t in enumerate(tensors):
        if t.shape != like.shape or t.dtype != like.dtype:
            raise ValueError(f"{name}: tensor {i} is {_describe(t)} but the input is {_describe(like)}")


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """Every rank's ``tensor`` into ``tensor_list`` (one entry per rank, same shape and dtype)."""
    _check_list(tensor_list, "tensor_list")
    _check_tensor(tensor)
    begun = _begin(group, "all_gather", tensor)
    if begun is None:
        return None
    pg, what, seq = begun
    if len(tensor_list) != pg.size():
        raise ValueError(f"all_gather: tensor_list has {len(tensor_list)} tensors for a group of {pg.size()} ranks")
    _check_same_shapes(tensor_list, tensor, "all_gather")
    return _finish(pg.ops.all_gather(pg, tensor_list, tensor, what, seq), async_op)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """Every rank's ``input_tensor`` concatenated (or stacked) into ``output_tensor``."""
    _check_tensor(output_tensor, "output_tensor")
    _check_tensor(input_tensor, "input_tensor")
    begun = _begin(group, "all_gather_into_tensor", input_tensor)
    if begun is None:
        return None
    pg, what, seq = begun
    if output_tensor.numel() != pg.size() * input_tensor.numel() or output_tensor.dtype != input_tensor.dtype:
        raise ValueError(f"all_gather_into_tensor: output ({_describe(output_tensor)}) must hold {pg.size()} "
                         f"times the input ({_describe(input_tensor)})")
    return _finish(pg.ops.all_gather_into(pg, output_tensor, input_tensor, what, seq), async_op)


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``input_list`` (one tensor per rank) across the ranks; rank ``r`` gets entry ``r``."""
    _check_tensor(output, "output")
    _check_list(input_list, "input_list")
    _check_op(op, output)
    begun = _begin(group, "reduce_scatter", output, op)
    if begun is None:
        return None
    pg, what, seq = begun
    if len(input_list) != pg.size():
        raise ValueError(f"reduce_scatter: input_list has {len(input_list)} tensors for a group of {pg.size()} ranks")
    _check_same_shapes(input_list, output, "reduce_scatter")
    flat = pg.ops.concat_for_reduce(input_list)
    return _finish(pg.ops.reduce_scatter_into(pg, output, flat, op, what, seq), async_op)


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``input`` (``size`` equal blocks along dim 0) across the ranks; rank ``r`` gets block ``r``."""
    _check_tensor(output, "output")
    _check_tensor(input, "input")
    _check_op(op, output)
    begun = _begin(group, "reduce_scatter_tensor", input, op)
    if begun is None:
        return None
    pg, what, seq = begun
    if input.numel() != pg.size() * output.numel() or input.dtype != output.dtype:
        raise ValueError(f"reduce_scatter_tensor: input ({_describe(input)}) must hold {pg.size()} times "
                         f"the output ({_describe(output)})")
    flat = pg.ops.concat_for_reduce([input])
    return _finish(pg.ops.reduce_scatter_into(pg, output, flat, op, what, seq), async_op)


def _check_root_list(pg, root, tensors, tensor, op, role):
    """The root rank of ``gather``/``scatter`` gives one tensor per rank, shaped as ``tensor``; the others give none."""
    list_name = f"{op}_list"
    if pg.rank() == root:
        _check_list(tensors, list_name)
        if len(tensors) != pg.size():
            raise ValueError(f"{op}: {list_name} has {len(tensors)} tensors for a group of {pg.size()} ranks")
        _check_same_shapes(tensors, tensor, op)
    elif tensors:
        raise ValueError(f"{op}: {list_name} must be given on the {role} rank only")


def gather(tensor, gather_list=None, dst=None, group=None, async_op=False, group_dst=None):
    """Every rank's ``tensor`` into ``dst``'s ``gather_list``."""
    _check_tensor(tensor)
    begun = _begin(group, "gather", tensor, root=dst)
    if begun is None:
        return None
    pg, what, seq = begun
    root = group_dst if group_dst is not None else pg.group_rank(0 if dst is None else dst, "dst")
    _check_root_list(pg, root, gather_list, tensor, "gather", "destination")
    return _finish(pg.ops.gather(pg, tensor, gather_list, root, what, seq), async_op)


def scatter(tensor, scatter_list=None, src=None, group=None, async_op=False, group_src=None):
    """Entry ``r`` of ``src``'s ``scatter_list`` into rank ``r``'s ``tensor``."""
    _check_tensor(tensor)
    begun = _begin(group, "scatter", tensor, root=src)
    if begun is None:
        return None
    pg, what, seq = begun
    root = group_src if group_src is not None else pg.group_rank(0 if src is None else src, "src")
    _check_root_list(pg, root, scatter_list, tensor, "scatter", "source")
    return _finish(pg.ops.scatter(pg, tensor, scatter_list, root, what, seq), async_op)


def all_to_all(output_tensor_list, input_tensor_list, group=None, async_op=False):
    """Rank ``r`` sends ``input_tensor_list[j]`` to rank ``j`` and receives rank ``j``'s into ``output_tensor_list[j]``."""
    _check_list(output_tensor_list, "output_tensor_list")
    _check_list(input_tensor_list, "input_tensor_list")
    begun = _begin(group, "all_to_all")
    if begun is None:
        return None
    pg, what, seq = begun
    for name, lst in (("output_tensor_list", output_tensor_list), ("input_tensor_list", input_tensor_list)):
        if len(lst) != pg.size():
            raise ValueError(f"all_to_all: {name} has {len(lst)} tensors for a group of {pg.size()} ranks")
    return _finish(pg.ops.all_to_all(pg, output_tensor_list, input_tensor_list, what, seq), async_op)


def _splits(tensor, splits, n, name):
    rows = tensor.shape[0] if tensor.ndim else 1
    if splits is None:
        if rows % n:
            raise ValueError(f"all_to_all_single: dim 0 of {name} ({rows}) does not split evenly into {n} ranks")
        return [rows // n] * n
    splits = [int(s) for s in splits]
    if len(splits) != n or sum(splits) != rows:
        raise ValueError(f"all_to_all_single: {name} split sizes {splits} must be {n} numbers adding up to {rows}")
    return splits


def all_to_all_single(output, input, output_split_sizes=None, input_split_sizes=None, group=None, async_op=False):
    """Split ``input`` along dim 0 (by ``input_split_sizes``, evenly by default), send piece ``j`` to rank
    ``j`` and concatenate what arrives into ``output``."""
    _check_tensor(output, "output")
    _check_tensor(input, "input")
    begun = _begin(group, "all_to_all_single", input)
    if begun is None:
        return None
    pg, what, seq = begun
    if output.dtype != input.dtype:
        raise ValueError(f"all_to_all_single: output is {output.dtype.name} but input is {input.dtype.name}")
    send_rows = _splits(input, input_split_sizes, pg.size(), "input")
    recv_rows = _splits(output, output_split_sizes, pg.size(), "output")
    row = int(np.prod(input.shape[1:])) if input.ndim > 1 else 1
    return _finish(pg.ops.all_to_all_single(pg, output, input, [r * row for r in recv_rows],
                                            [s * row for s in send_rows], what, seq), async_op)


def barrier(group=None, async_op=False, device_ids=None):
    """Return once every rank of ``group`` has called ``barrier``."""
    begun = _begin(group, "barrier")
    if begun is None:
        return None
    pg, what, seq = begun
    return _finish(pg.ops.barrier(pg, what, seq), async_op)


def _p2p(name, tensor, peer, group, tag, peer_role):
    _check_tensor(tensor)
    pg = resolve(group)
    if pg is GroupMember.NON_GROUP_MEMBER or pg.comm is None:
        return None
    pg.check_device(tensor, name)
    if pg.broken:
        raise DistBackendError(f"the process group is unusable since {pg.broken}")
    pg.p2p_seq += 1
    where = "any rank" if peer is None else f"rank {peer}"
    what = f"{name} #{pg.p2p_seq} ({_describe(tensor)}, {'to' if name in ('send', 'isend') else 'from'} {where}, tag {tag})"
    group_peer = None if peer is None else pg.group_rank(peer, peer_role)
    return pg, what, group_peer


def isend(tensor, dst=None, group=None, tag=0, group_dst=None):
    """Start sending ``tensor`` to rank ``dst``; returns a ``Work``."""
    pg, what, peer = _p2p("isend", tensor, dst, group, tag, "dst")
    return pg.ops.send(pg, tensor, group_dst if group_dst is not None else peer, tag, what)


def irecv(tensor, src=None, group=None, tag=0, group_src=None):
    """Start receiving into ``tensor`` from rank ``src`` (any rank when None); returns a ``Work``."""
    pg, what, peer = _p2p("irecv", tensor, src, group, tag, "src")
    return pg.ops.recv(pg, tensor, group_src if group_src is not None else peer, tag, what)


def send(tensor, dst=None, group=None, tag=0, group_dst=None):
    """Send ``tensor`` to rank ``dst`` (returns once it may be reused)."""
    isend(tensor, dst, group, tag, group_dst).wait()


def recv(tensor, src=None, group=None, tag=0, group_src=None):
    """Receive into ``tensor`` from rank ``src`` (any when None); returns the sender's rank."""
    work = irecv(tensor, src, group, tag, group_src)
    work.wait()
    return work.source_rank()
