"""Gather/scatter family: index_select, gather, scatter, scatter_add, index_add, index_copy,
index_fill, masked_fill, masked_select, masked_scatter, take, take_along_dim, put, nonzero.

Forwards index backend arrays; repeated indices accumulate (``scatter_add``, ``index_add``,
their gradients) through one ``add_at`` helper (ember.backend.arrays), or, for whole slices on the CPU (an embedding's
gradient), through a sort and one ``reduceat`` (``_add_slices``). Each derivative is written with the
family's own ops, so second derivatives work.
"""
import numpy as np

from ember._tensor import Tensor
from ember.backend.arrays import add_at, is_numpy
from ember.backend.dtype import bool_, torch_name
from ember.ops._dims import wrap_dim
from ember.creation import zeros
from ember.ops.dispatch import apply, primitive, xp_of
from ember.ops.dual import linear
from ember.ops.indexing import _scatter_zeros
from ember.ops.join import cat
from ember.ops.pointwise import where
from ember.ops.registry import public


def _grid(xp, index, dim):
    """The key that reads, for every position of ``index``, the element ``index`` names along ``dim``."""
    key = []
    for d, n in enumerate(index.shape):
        if d == dim:
            key.append(index)
        else:
            shape = [1] * index.ndim
            shape[d] = n
            key.append(xp.arange(n).reshape(shape))
    return tuple(key)


def _leading(src, index):
    """The part of ``src`` that an index of ``index``'s shape reads."""
    return src[tuple(slice(0, n) for n in index.shape)]


def _check_index(op, input, dim, index, src=None):
    if not isinstance(index, Tensor) or index._dtype.category != 1:
        raise RuntimeError(f"{op}(): Expected dtype int32/int64 for index")
    if index.dim() != input.dim() and index.numel():
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    for d in range(index.dim()):
        if d != dim and index.shape[d] > input.shape[d]:
            raise RuntimeError(f"Size does not match at dimension {d} expected index {list(index.shape)} to be no "
                               f"larger than self {list(input.shape)} apart from dimension {dim}")
        if src is not None and index.shape[d] > src.shape[d]:
            raise RuntimeError(f"Size does not match at dimension {d} expected index {list(index.shape)} to be no "
                               f"larger than src {list(src.shape)}")
    _check_range(index, input.shape[dim] if input.dim() else 1, dim, RuntimeError)


def _check_range(index, size, dim, error):
    if index.numel():
        low, high = int(index._data.min()), int(index._data.max())
        if low < 0 or high >= size:
            raise error(f"index {low if low < 0 else high} is out of bounds for dimension {dim} with size {size}")


def _pad_to(g, shape):
    """``g`` in the leading corner of a zero tensor of ``shape`` (the gradient of ``_leading``)."""
    if tuple(g.shape) == tuple(shape):
        return g
    return _scatter_zeros(g, shape, tuple(slice(0, n) for n in g.shape))


# gather / scatter -------------------------------------------------------------------------

@primitive("GatherBackward0", save=(1,))
def _gather(ctx, xp, x, index, dim):
    ctx.dim, ctx.shape = dim, x.shape
    return x[_grid(xp, index, dim)]


@_gather.derivative
def _(ctx, g):
    (index,) = ctx.saved_tensors
    return scatter_add(zeros(ctx.shape, dtype=g.dtype, device=g.device), ctx.dim, index, g), None


@public
def gather(input, dim, index, *, sparse_grad=False):
    """Pick ``input`` values along ``dim`` at ``index`` (same rank): ``out[i][j] = x[i][index[i][j]]`` for dim 1."""
    d = wrap_dim(dim, input.dim())
    _check_index("gather", input, d, index)
    return _gather(input, index, dim=d)


@primitive("ScatterBackward0", save=(1,))
def _scatter(ctx, xp, x, index, src, dim):
    ctx.dim, ctx.src_shape = dim, src.shape
    out = x.copy()
    out[_grid(xp, index, dim)] = _leading(src, index)
    return out


@_scatter.derivative
def _(ctx, g):
    (index,) = ctx.saved_tensors
    need_x, _, need_src = ctx.needs_input_grad
    gx = _scatter_value(g, index, dim=ctx.dim, value=0.0) if need_x else None
    gsrc = _pad_to(gather(g, ctx.dim, index), ctx.src_shape) if need_src else None
    return gx, None, gsrc


@primitive("ScatterBackward1", save=(1,))
def _scatter_value(ctx, xp, x, index, dim, value):
    ctx.dim = dim
    out = x.copy()
    out[_grid(xp, index, dim)] = value
    return out


@_scatter_value.derivative
def _(ctx, g):
    (index,) = ctx.saved_tensors
    return _scatter_value(g, index, dim=ctx.dim, value=0.0), None


@primitive("ScatterBackward0")
def _scatter_multiply(ctx, xp, x, index, src, dim):
    out = x.copy()
    xp.multiply.at(out, _grid(xp, index, dim), _leading(src, index))
    return out


@public(inplace=True)
def scatter(input, dim, index, src=None, *, value=None, reduce=None):
    """Write ``src`` (a tensor or a number) into a copy of ``input`` at ``index`` along ``dim``:
    ``out[i][index[i][j]] = src[i][j]`` for dim 1; ``reduce='add'|'multiply'`` combines instead."""
    src = value if src is None else src
    d = wrap_dim(dim, input.dim())
    _check_index("scatter", input, d, index, src if isinstance(src, Tensor) else None)
    if reduce is not None:
        if reduce not in ("add", "multiply"):
            raise RuntimeError(f"reduce argument must be either add or multiply. Got {reduce}")
        if not isinstance(src, Tensor):
            src = input.new_full(index.shape, src)
        if reduce == "add":
            return scatter_add(input, d, index, src)
        return apply(_scatter_multiply, (input, index, src), {"dim": d})
    if isinstance(src, Tensor):
        if src._dtype is not input._dtype:
            raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
        return _scatter(input, index, src, dim=d)
    return _scatter_value(input, index, dim=d, value=src)


@primitive("ScatterAddBackward0", save=(1,))
def _scatter_add(ctx, xp, x, index, src, dim):
    ctx.dim, ctx.src_shape = dim, src.shape
    out = x.copy()
    add_at(xp, out, _grid(xp, index, dim), _leading(src, index))
    return out


@_scatter_add.derivative
def _(ctx, g):
    (index,) = ctx.saved_tensors
    need_src = ctx.needs_input_grad[2]
    return g, None, (_pad_to(gather(g, ctx.dim, index), ctx.src_shape) if need_src else None)


@public(inplace=True)
def scatter_add(input, dim, index, src):
    """Add ``src`` into a copy of ``input`` at ``index`` along ``dim``; repeated indices add up."""
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_add(): argument 'src' (position 3) must be Tensor, not {type(src).__name__}")
    d = wrap_dim(dim, input.dim())
    _check_index("scatter_add", input, d, index, src)
    if src._dtype is not input._dtype:
        raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    return _scatter_add(input, index, src, dim=d)


@public
def take_along_dim(input, indices, dim=None):
    """``gather`` after broadcasting ``input`` and ``indices`` (flat when ``dim`` is None)."""
    if dim is None:
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    d = wrap_dim(dim, input.dim())
    if indices.dim() != input.dim():
        raise RuntimeError(f"torch.take_along_dim(): input and indices should have the same number of dimensions, "
                           f"but got {input.dim()} dimensions for input, and {indices.dim()} dimensions for indices")
    shape_x, shape_i = list(input.shape), list(indices.shape)
    shape_x[d] = shape_i[d] = 1
    common = list(xp_of(input._device).broadcast_shapes(tuple(shape_x), tuple(shape_i)))
    x_shape, i_shape = list(common), list(common)
    x_shape[d], i_shape[d] = input.shape[d], indices.shape[d]
    return gather(input.expand(x_shape), d, indices.expand(i_shape))


# index_* along one dim ---------------------------------------------------------------------

def _index_vector(op, input, dim, index):
    if not isinstance(index, Tensor) or index._dtype.category != 1:
        raise RuntimeError(f"{op}(): Expected dtype int32/int64 for index")
    if index.dim() > 1:
        raise IndexError(f"{op}(): Index is supposed to be a vector")
    return index.reshape(-1)


def _dim_key(dim, index):
    return (slice(None),) * dim + (index,)


@primitive("IndexSelectBackward0", save=(1,))
def _index_select(ctx, xp, x, index, dim):
    ctx.dim, ctx.shape = dim, x.shape
    out = xp.take(x.reshape(1) if x.ndim == 0 else x, index, axis=dim)
    return out.reshape(()) if x.ndim == 0 else out


@_index_select.derivative
def _(ctx, g):
    (index,) = ctx.saved_tensors
    return index_add(zeros(ctx.shape, dtype=g.dtype, device=g.device), ctx.dim, index, g), None


@public
def index_select(input, dim, index):
    """The slices of ``input`` along ``dim`` listed in ``index`` (a vector): ``x.index_select(0, idx)``."""
    d = wrap_dim(dim, max(input.dim(), 1))
    index = _index_vector("index_select", input, d, index)
    _check_range(index, input.shape[d] if input.dim() else 1, d, RuntimeError)
    return _index_select(input, index, dim=d)


@primitive("IndexAddBackward0", save=(1,))
def _index_add(ctx, xp, x, index, src, dim, alpha):
    ctx.dim, ctx.alpha = dim, alpha
    out = x.copy()
    target, src = (out.reshape(1), src.reshape(1)) if x.ndim == 0 else (out, src)
    add_along(xp, target, dim, index, src if alpha == 1 else src * alpha)
    return out


def add_along(xp, out, dim, index, src):
    """``out[index] += src`` along ``dim``, repeated indices summed: whole slices by ``_add_slices`` on
    the CPU, anything else by ``add_at``."""
    if out.dtype == xp.bool_:  # booleans add as a logical or
        counts = out.astype(xp.int64)
        add_along(xp, counts, dim, index, src.astype(xp.int64))
        out[...] = counts != 0
    elif is_numpy(xp) and src.ndim > 1 and index.size:
        _add_slices(out, dim, index, src)
    else:
        add_at(xp, out, _dim_key(dim, index), src)


def _add_slices(out, dim, index, src):
    """``out[index] += src`` along ``dim`` with repeats summed, by sorting the index and summing each
    run of equal entries with one ``reduceat``: ``np.add.at`` goes element by element, 20x slower
    for an embedding gradient (2048 rows of 256 into a 512-row table)."""
    order = np.argsort(index, kind="stable")
    ordered = index[order]
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    sums = np.add.reduceat(np.take(src, order, axis=dim), starts, axis=dim)
    out[_dim_key(dim, ordered[starts])] += sums


@_index_add.derivative
def _(ctx, g):
    (index,) = ctx.saved_tensors
    gsrc = None
    if ctx.needs_input_grad[2]:
        gsrc = index_select(g, ctx.dim, index)
        gsrc = gsrc if ctx.alpha == 1 else gsrc * ctx.alpha
    return g, None, gsrc


def _check_source(op, input, dim, index, source):
    if source._dtype is not input._dtype:
        raise RuntimeError(f"{op}_(): self ({torch_name(input._dtype)}) and source ({torch_name(source._dtype)}) "
                           "must have the same scalar type")
    n = source.shape[dim] if source.dim() else 1
    if index.numel() != n:
        raise RuntimeError(f"{op}_(): Number of indices ({index.numel()}) should be equal to source.size(dim): "
                           f"({n}), for dim: {dim}")
    _check_range(index, input.shape[dim] if input.dim() else 1, dim, IndexError if op == "index_copy" else RuntimeError)


@public(inplace=True)
def index_add(input, dim, index, source, *, alpha=1):
    """Add ``alpha * source`` into the slices along ``dim`` listed in ``index``; repeats add up."""
    d = wrap_dim(dim, input.dim())
    index = _index_vector("index_add", input, d, index)
    _check_source("index_add", input, d, index, source)
    if not input._dtype.is_floating_point:
        alpha = int(alpha)  # integer tensors take an integer alpha, as torch
    return _index_add(input, index, source, dim=d, alpha=alpha)


@primitive("IndexCopyBackward0", save=(1,))
def _index_copy(ctx, xp, x, index, src, dim):
    ctx.dim = dim
    out = x.copy()
    out[_dim_key(dim, index)] = src
    return out


@_index_copy.derivative
def _(ctx, g):
    (index,) = ctx.saved_tensors
    need_x, _, need_src = ctx.needs_input_grad
    return (index_fill(g, ctx.dim, index, 0.0) if need_x else None, None,
            index_select(g, ctx.dim, index) if need_src else None)


@public(inplace=True)
def index_copy(input, dim, index, source):
    """Copy the slices of ``source`` into ``input`` at the positions ``index`` along ``dim``."""
    d = wrap_dim(dim, input.dim())
    index = _index_vector("index_copy", input, d, index)
    _check_source("index_copy", input, d, index, source)
    return _index_copy(input, index, source, dim=d)


@primitive("IndexFillBackward0", save=(1,))
def _index_fill(ctx, xp, x, index, dim, value):
    ctx.dim = dim
    out = x.copy()
    out[_dim_key(dim, index)] = value
    return out


_index_fill.derivative(lambda ctx, g: (_index_fill(g, ctx.saved_tensors[0], dim=ctx.dim, value=0.0), None))


@primitive("IndexFillBackward1", save=(1,))
def _index_fill_tensor(ctx, xp, x, index, value, dim):
    return _index_fill.forward(ctx, xp, x, index, dim, value)


@_index_fill_tensor.derivative
def _(ctx, g):
    (index,) = ctx.saved_tensors
    need_x, _, need_value = ctx.needs_input_grad
    gx = _index_fill(g, index, dim=ctx.dim, value=0.0) if need_x else None
    return gx, None, (index_select(g, ctx.dim, index).sum() if need_value else None)


@public(inplace=True)
def index_fill(input, dim, index, value):
    """``input`` with the slices along ``dim`` listed in ``index`` set to ``value`` (a number or 0-d tensor)."""
    d = wrap_dim(dim, input.dim())
    index = _index_vector("index_fill", input, d, index)
    size = input.shape[d] if input.dim() else 1
    if index.numel() and int(index._data.min()) < 0:
        if int(index._data.min()) < -size:
            raise IndexError(f"index {int(index._data.min())} is out of bounds for dimension {d} with size {size}")
        index = index + size * (index < 0)
    _check_range(index, size, d, IndexError)
    if isinstance(value, Tensor):
        if value.dim():
            raise RuntimeError(f"index_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                               f"{value.dim()} dimension(s).")
        return _index_fill_tensor(input, index, value.to(input._dtype), dim=d)
    return _index_fill(input, index, dim=d, value=value)


# masked ----------------------------------------------------------------------------------

def _check_mask(op, mask):
    if not isinstance(mask, Tensor) or mask._dtype is not bool_:
        got = torch_name(mask._dtype).lower() if isinstance(mask, Tensor) else type(mask).__name__
        raise RuntimeError(f"{op} only supports boolean masks, but got mask with dtype {got}")


@primitive("MaskedFillBackward0", save=(1,))
def _masked_fill(ctx, xp, x, mask, value):
    return xp.where(mask, xp.asarray(value, dtype=x.dtype), x)


_masked_fill.derivative(lambda ctx, g: (_masked_fill(g, ctx.saved_tensors[0], value=0.0), None))


@primitive("MaskedFillBackward1", save=(1,))
def _masked_fill_tensor(ctx, xp, x, mask, value):
    return xp.where(mask, value.astype(x.dtype), x)


@_masked_fill_tensor.derivative
def _(ctx, g):
    (mask,) = ctx.saved_tensors
    need_x, _, need_value = ctx.needs_input_grad
    return (_masked_fill(g, mask, value=0.0) if need_x else None, None,
            where(mask, g, 0.0).sum() if need_value else None)


@public(inplace=True)
def masked_fill(input, mask, value):
    """``input`` with ``value`` (a number or 0-d tensor) where the broadcast boolean ``mask`` holds:
    ``x.masked_fill(x < 0, 0.0)``."""
    _check_mask("masked_fill_", mask)
    if isinstance(value, Tensor):
        if value.dim():
            raise RuntimeError("masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                               f"{value.dim()} dimension(s).")
        return _masked_fill_tensor(input, mask, value)
    return _masked_fill(input, mask, value=value)


@primitive("MaskedScatterBackward0", save=(1,))
def _masked_scatter(ctx, xp, x, mask, src):
    ctx.src_shape = src.shape
    out = xp.array(xp.broadcast_to(x, xp.broadcast_shapes(x.shape, mask.shape)))
    m = xp.broadcast_to(mask, out.shape)
    out[m] = src.reshape(-1)[:int(m.sum())]
    return out


@_masked_scatter.derivative
def _(ctx, g):
    (mask,) = ctx.saved_tensors
    need_x, _, need_src = ctx.needs_input_grad
    gsrc = None
    if need_src:
        picked = g[mask.expand(g.shape)]
        n = 1
        for s in ctx.src_shape:
            n *= s
        gsrc = cat([picked, zeros(n - picked.shape[0], dtype=g.dtype, device=g.device)]).reshape(ctx.src_shape)
    return (_masked_fill(g, mask, value=0.0) if need_x else None), None, gsrc


@public(inplace=True)
def masked_scatter(input, mask, source):
    """Copy ``source``'s leading elements, in order, to where ``mask`` holds."""
    _check_mask("masked_scatter_", mask)
    if source._dtype is not input._dtype:
        raise RuntimeError(f"masked_scatter_: expected self and source to have same dtypes but got "
                           f"{torch_name(input._dtype)} and {torch_name(source._dtype)}")
    if int(mask.expand(mask.shape if mask.dim() >= input.dim() else input.shape).sum()) > source.numel():
        raise RuntimeError("Number of elements of source < number of ones in mask")
    return _masked_scatter(input, mask, source)

# forward-mode rules (run by ember.ops.dual) --------------------------------------------------

for _prim in (_gather, _scatter, _scatter_add, _index_select, _index_add, _index_copy, _masked_scatter):
    _prim.jvp(linear())

def _fill_jvp(j):
    """Filled positions hold a constant (tangent 0) or the value tensor's tangent."""
    if "value" in j.params:
        return j.prim(j.tangents[0], *j.inputs[1:], **dict(j.params, value=0.0))
    return linear()(j)


for _prim in (_scatter_value, _index_fill, _index_fill_tensor, _masked_fill, _masked_fill_tensor):
    _prim.jvp(_fill_jvp)
