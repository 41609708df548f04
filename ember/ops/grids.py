"""Shape-building functions composed from views and joins: meshgrid, broadcast_tensors,
broadcast_to, cartesian_prod, combinations, block_diag, diagflat, rot90, column_stack,
hsplit/vsplit/dsplit, ravel, tril/triu_indices, unravel_index, and the *_scatter forms."""
import itertools
import math

import numpy as np

from ember._tensor import Tensor
from ember.backend import PROMOTE
from ember.backend.dtype import int64, to_dtype, torch_name
from ember.creation import tensor, zeros
from ember.ops.join import cat, stack, tensor_split
from ember.ops.registry import public


def _tensors(args):
    return list(args[0]) if len(args) == 1 and isinstance(args[0], (list, tuple)) else list(args)


@public(method=False)
def meshgrid(*tensors, indexing=None):
    """Coordinate grids from 1-D tensors (``indexing='ij'``, PyTorch's default, or ``'xy'``)."""
    ts = _tensors(tensors)
    indexing = indexing or "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but received: {indexing}")
    for t in ts:
        if t.dim() > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: {t.dim()}D")
    flat = [t.reshape(-1) for t in ts]
    if indexing == "xy" and len(flat) >= 2:
        flat[0], flat[1] = flat[1], flat[0]
    shape = [t.shape[0] for t in flat]
    grids = []
    for i, t in enumerate(flat):
        view = [1] * len(flat)
        view[i] = shape[i]
        grids.append(t.reshape(view).expand(*shape))
    if indexing == "xy" and len(grids) >= 2:  # the grids of the first two inputs, in their order
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


@public(method=False)
def broadcast_shapes(*shapes):
    shapes = [(s,) if isinstance(s, int) else tuple(s) for s in shapes]
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise RuntimeError(f"shape mismatch: objects cannot be broadcast to a single shape: {shapes}") from None


@public(method=False)
def broadcast_tensors(*tensors):
    """Expanded views of the tensors to their common broadcast shape."""
    ts = _tensors(tensors)
    shape = broadcast_shapes(*[t.shape for t in ts])
    return tuple(t.expand(*shape) for t in ts)


@public
def broadcast_to(input, size):
    """``input`` expanded (as a view) to ``size``."""
    return input.expand(*size)


@public(method=False)
def cartesian_prod(*tensors):
    """Every combination of one element from each 1-D tensor, one per row."""
    ts = _tensors(tensors)
    if len(ts) == 1:
        return ts[0]
    grids = meshgrid(*ts, indexing="ij")
    return stack([g.reshape(-1) for g in grids], 1)


@public(method=False)
def combinations(input, r=2, with_replacement=False):
    """The length-``r`` combinations of a 1-D tensor's elements, like ``itertools.combinations``."""
    if input.dim() != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    idx = list(pick(range(input.shape[0]), r))
    if not idx or r == 0:
        return input[:0].reshape(0, r) if r else input[:0]
    return input[tensor(idx, dtype=int64, device=input.device)]


@public(method=False)
def block_diag(*tensors):
    """A block-diagonal matrix from 0-d, 1-d (a row) or 2-d blocks."""
    blocks = [t.reshape(1, 1) if t.dim() == 0 else t.reshape(1, -1) if t.dim() == 1 else t for t in tensors]
    for i, b in enumerate(blocks):
        if b.dim() != 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {i} has "
                               f"{b.dim()} dimensions")
    if not blocks:
        return zeros(1, 0)
    dtype = blocks[0].dtype
    for b in blocks[1:]:
        dtype = PROMOTE[dtype, b.dtype]
    cols = sum(b.shape[1] for b in blocks)
    rows, left = [], 0
    for b in blocks:
        pieces = [zeros(b.shape[0], left, dtype=dtype, device=b.device), b.to(dtype),
                  zeros(b.shape[0], cols - left - b.shape[1], dtype=dtype, device=b.device)]
        rows.append(cat(pieces, 1))
        left += b.shape[1]
    return cat(rows, 0)


@public
def diagflat(input, offset=0):
    """A 2-D matrix with the flattened input on its ``offset`` diagonal."""
    return input.reshape(-1).diag_embed(offset)


@public
def rot90(input, k=1, dims=(0, 1)):
    """Rotate by 90 degrees ``k`` times in the plane of ``dims`` (from the first towards the second)."""
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    d0, d1 = dims[0] % max(input.dim(), 1), dims[1] % max(input.dim(), 1)
    if input.dim() < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {input.dim()}")
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {dims[0]} and dim1 = {dims[1]}")
    k %= 4
    if k == 1:
        return input.flip([d1]).transpose(d0, d1)
    if k == 2:
        return input.flip([d0, d1])
    if k == 3:
        return input.flip([d0]).transpose(d0, d1)
    return input.clone()


@public(method=False)
def column_stack(tensors):
    """Stack 1-D tensors as columns (and concatenate 2-D ones along dim 1)."""
    return cat([t.reshape(-1, 1) if t.dim() <= 1 else t for t in tensors], 1)


def _split_dim(name, input, sections, dim, min_dims):
    if input.dim() < min_dims:
        raise RuntimeError(f"torch.{name} requires a tensor with at least {min_dims} dimension, but got a tensor "
                           f"with {input.dim()} dimensions!")
    if isinstance(sections, int) and input.shape[dim] % sections:
        raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but the size of the dimension "
                           f"{input.shape[dim]} is not divisible by the split_size {sections}!")
    return tensor_split(input, sections, dim)


@public
def hsplit(input, indices_or_sections):
    return _split_dim("hsplit", input, indices_or_sections, 1 if input.dim() > 1 else 0, 1)


@public
def vsplit(input, indices_or_sections):
    return _split_dim("vsplit", input, indices_or_sections, 0, 2)


@public
def dsplit(input, indices_or_sections):
    return _split_dim("dsplit", input, indices_or_sections, 2, 3)


@public
def ravel(input):
    """The elements as a 1-D tensor (a view when possible)."""
    return input.reshape(-1)


def _triangle_indices(row, col, offset, device, lower, dtype):
    if dtype is not None and to_dtype(dtype).category != 1:
        name = "tril_indices" if lower else "triu_indices"
        raise NotImplementedError(f"\"{name}\" not implemented for '{torch_name(to_dtype(dtype))}'")
    r, c = np.tril_indices(row, offset, col) if lower else np.triu_indices(row, offset, col)
    return tensor(np.stack([r, c]).astype(np.int64).reshape(2, -1), dtype=int64, device=device)


@public(method=False)
def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """The (2, N) coordinates of the lower triangle of a ``row x col`` matrix."""
    out = _triangle_indices(row, col, offset, device, True, dtype)
    return out if dtype is None else out.to(dtype)


@public(method=False)
def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """The (2, N) coordinates of the upper triangle of a ``row x col`` matrix."""
    out = _triangle_indices(row, col, offset, device, False, dtype)
    return out if dtype is None else out.to(dtype)


@public(method=False)
def unravel_index(indices, shape):
    """The coordinates (one tensor per dim) of flat ``indices`` in a tensor of ``shape``."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    idx = indices if isinstance(indices, Tensor) else tensor(indices)
    if idx._dtype.category != 1:
        raise TypeError(f"expected 'indices' to be integer dtype, but got {idx.dtype}")
    flat = idx % max(math.prod(shape), 1)  # like PyTorch's, out-of-range indices wrap around
    out = []
    for size in reversed(shape):
        out.append(flat % size)
        flat = flat // size
    return tuple(reversed(out))


@public
def select_scatter(input, src, dim, index):
    """A copy of ``input`` with ``src`` written at ``index`` of ``dim``."""
    out = input.clone()
    out.select(dim, index).copy_(src)
    return out


@public
def slice_scatter(input, src, dim=0, start=None, end=None, step=1):
    """A copy of ``input`` with ``src`` written into ``input[start:end:step]`` along ``dim``."""
    out = input.clone()
    key = (slice(None),) * (dim % input.dim()) + (slice(start, end, step),)
    out[key].copy_(src)
    return out


@public
def diagonal_scatter(input, src, offset=0, dim1=0, dim2=1):
    """A copy of ``input`` with ``src`` written on its ``offset`` diagonal of ``dim1``/``dim2``."""
    out = input.clone()
    out.diagonal(offset, dim1, dim2).copy_(src)
    return out
