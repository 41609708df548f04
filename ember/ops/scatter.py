"""Gather/scatter family: gather, scatter, scatter_add, scatter_reduce, index_select,
index_add, index_copy, index_fill, masked_fill, masked_select, take, take_along_dim,
nonzero and argwhere.

Each ``*_add`` forward accumulates repeated indices, so gradients that put values back
(gather's, index_select's) are just those ops applied to zeros and stay differentiable.
"""
import numpy as np

from ember._tensor import Tensor
from ember.backend.dtype import bool_, int32, int64
from ember.ops._dims import wrap_dim
from ember.ops.dispatch import Primitive, apply, check_broadcast, primitive
from ember.ops.indexing import _getitem_forward, _getitem_backward
from ember.ops.pointwise import torch_name, where
from ember.ops.registry import public


# array helpers (forwards only) ---------------------------------------------------------

def _ufunc_at(xp, op, out, key, values):
    """``out[key] op= values`` with repeated indices all applied (op: add/maximum/minimum/multiply)."""
    if xp.__name__ == "numpy":
        getattr(xp, op).at(out, key, values)
        return
    import cupyx
    if op == "multiply":
        raise NotImplementedError("scatter with a product reduction is not supported on CUDA")
    getattr(cupyx, {"add": "scatter_add", "maximum": "scatter_max", "minimum": "scatter_min"}[op])(out, key, values)


def _along_key(xp, idx, dim):
    """The advanced index that reads ``x[i][j][idx[i][j][k]]``-style along ``dim``."""
    key = []
    for d, n in enumerate(idx.shape):
        if d == dim:
            key.append(idx)
        else:
            shape = [1] * idx.ndim
            shape[d] = n
            key.append(xp.arange(n).reshape(shape))
    return tuple(key)


def _corner(a, shape):
    """The leading ``shape`` block of ``a`` (a source may be larger than its index)."""
    if a.shape == tuple(shape):
        return a
    return a[tuple(slice(0, n) for n in shape)]


def _vec(a):
    return a.reshape(1) if getattr(a, "ndim", 1) == 0 else a


# argument checks ------------------------------------------------------------------------

def _check_index_dtype(name, index, extra=""):
    if not isinstance(index, Tensor):
        raise TypeError(f"{name}(): argument 'index' must be Tensor, not {type(index).__name__}")
    if index._dtype is not int64 and index._dtype is not int32:
        raise RuntimeError(f"{name}(): Expected dtype int32/int64 for index{extra}")


def _check_bounds(name, index, dim, size):
    idx = index._data
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        if lo < 0 or hi >= size:
            bad = lo if lo < 0 else hi
            raise RuntimeError(f"{name}(): index {bad} is out of bounds for dimension {dim} with size {size}")


def _check_along(name, input, dim, index, src=None):
    """gather/scatter's rules: same ndim, index no larger than input (except at ``dim``) and src."""
    _check_index_dtype(name, index)
    nd = max(input.dim(), 1)
    dim = wrap_dim(dim, nd)
    if max(index.dim(), 1) != nd:
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    ishape, xshape = tuple(index.shape) or (1,), tuple(input.shape) or (1,)
    if index.numel():
        for d in range(nd):
            if d != dim and ishape[d] > xshape[d]:
                raise RuntimeError(f"Size does not match at dimension {d} expected index {list(index.shape)} to be "
                                   f"no larger than self {list(input.shape)} apart from dimension {dim}")
            if isinstance(src, Tensor) and ishape[d] > (tuple(src.shape) or (1,))[d]:
                raise RuntimeError(f"Expected index {list(index.shape)} to be no larger than self "
                                   f"{list(input.shape)} apart from dimension {dim} and to be no larger size "
                                   f"than src {list(src.shape)}")
        _check_bounds(name, index, dim, xshape[dim])
    if isinstance(src, Tensor) and src._dtype is not input._dtype:
        raise RuntimeError(f"{name}(): Expected self.dtype to be equal to src.dtype")
    return dim


def _broadcast_shape(a, b):
    try:
        return list(np.broadcast_shapes(tuple(a.shape), tuple(b.shape)))
    except ValueError:
        check_broadcast([a._data, b._data])
        raise


def _zeros(shape, like):
    from ember.creation import zeros
    return zeros(shape, dtype=like.dtype, device=like.device)


def _grad_src(g_part, src_shape):
    """Pad a gradient for the leading block of ``src`` with zeros to ``src``'s shape."""
    if tuple(g_part.shape) == tuple(src_shape):
        return g_part
    out = _zeros(src_shape, g_part)
    out[tuple(slice(0, n) for n in g_part.shape)] = g_part
    return out


# gather -----------------------------------------------------------------------------------

@primitive("GatherBackward0", save=(1,))
def _gather(ctx, xp, x, idx, dim):
    ctx.shape, ctx.dim = x.shape, dim
    return _vec(x)[_along_key(xp, _vec(idx), dim)].reshape(idx.shape)


@_gather.derivative
def _(ctx, g):
    (idx,) = ctx.saved_tensors
    return scatter_add(_zeros(ctx.shape, g), ctx.dim, idx, g), None


@public
def gather(input, dim, index, *, sparse_grad=False):
    """Values of ``input`` picked along ``dim`` by ``index``: ``out[i][j] = x[i][index[i][j]]`` (dim=1).

    >>> ember.tensor([[1., 2.], [3., 4.]]).gather(1, ember.tensor([[1], [0]]))
    tensor([[2.],
            [3.]])
    """
    dim = _check_along("gather", input, dim, index)
    return _gather(input, index, dim=dim)


# scatter / scatter_add / scatter_reduce ------------------------------------------------------

def _scatter_forward(ctx, xp, x, idx, src, dim, reduce=None):
    ctx.dim, ctx.src_shape = dim, getattr(src, "shape", ())
    out = x.copy()
    key = _along_key(xp, _vec(idx), dim)
    values = _corner(_vec(src), _vec(idx).shape) if hasattr(src, "shape") else src
    if reduce is None:
        _vec(out)[key] = values
    else:
        _ufunc_at(xp, "add" if reduce == "add" else "multiply", _vec(out), key, values)
    return out


def _scatter_backward(ctx, g):
    idx = ctx.saved_tensors[0]
    _, _, need_src = ctx.needs_input_grad
    grad_x = g.scatter(ctx.dim, idx, 0.0)
    grad_src = _grad_src(g.gather(ctx.dim, idx), ctx.src_shape) if need_src else None
    return grad_x, None, grad_src


_scatter = Primitive(_scatter_forward, "ScatterBackward0", save=(1,))
_scatter_value = Primitive(_scatter_forward, "ScatterBackward1", save=(1,))
_scatter_reduced = Primitive(_scatter_forward, "ScatterBackward0")  # torch has no derivative for reduce=
for _p in (_scatter, _scatter_value):
    _p.derivative(_scatter_backward)


@public(inplace=True)
def scatter(input, dim, index, src=None, *, value=None, reduce=None):
    """``input`` with ``src`` (a tensor or a scalar) written at ``index`` along ``dim``.

    >>> ember.zeros(3).scatter(0, ember.tensor([2, 0]), ember.tensor([5., 6.]))
    tensor([6., 0., 5.])
    """
    if src is None:
        src = value
    dim = _check_along("scatter", input, dim, index, src)
    if reduce is not None:
        if reduce not in ("add", "multiply"):
            raise RuntimeError(f"reduce argument must be either add or multiply, got {reduce}")
        return _scatter_reduced(input, index, src, dim=dim, reduce=reduce)
    if isinstance(src, Tensor):
        return _scatter(input, index, src, dim=dim)
    return _scatter_value(input, index, src, dim=dim)


@primitive("ScatterAddBackward0", save=(1,))
def _scatter_add(ctx, xp, x, idx, src, dim):
    ctx.dim, ctx.src_shape = dim, src.shape
    out = x.copy()
    _ufunc_at(xp, "add", _vec(out), _along_key(xp, _vec(idx), dim), _corner(_vec(src), _vec(idx).shape))
    return out


@_scatter_add.derivative
def _(ctx, g):
    (idx,) = ctx.saved_tensors
    _, _, need_src = ctx.needs_input_grad
    return g, None, (_grad_src(g.gather(ctx.dim, idx), ctx.src_shape) if need_src else None)


@public(inplace=True)
def scatter_add(input, dim, index, src):
    """``input`` plus ``src`` added at ``index`` along ``dim`` (repeated indices accumulate).

    >>> ember.zeros(3).scatter_add(0, ember.tensor([0, 0]), ember.tensor([1., 2.]))
    tensor([3., 0., 0.])
    """
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_add(): argument 'src' must be Tensor, not {type(src).__name__}")
    dim = _check_along("scatter_add", input, dim, index, src)
    return _scatter_add(input, index, src, dim=dim)


# index_select / index_add / index_copy / index_fill --------------------------------------------

def _check_index_vector(name, input, dim, index, source=None):
    _check_index_dtype(name, index, " but got: " + torch_name(index._dtype) if name != "index_select" else "")
    if index.dim() > 1:
        raise IndexError(f"{name}(): Index is supposed to be a vector")
    dim = wrap_dim(dim, max(input.dim(), 1))
    size = (tuple(input.shape) or (1,))[dim]
    if isinstance(source, Tensor):
        if source._dtype is not input._dtype:
            raise RuntimeError(f"{name}(): self ({torch_name(input._dtype)}) and source "
                               f"({torch_name(source._dtype)}) must have the same scalar type")
        src_size = (tuple(source.shape) or (1,))[dim] if source.dim() > dim or not source.dim() else 1
        if index.numel() != src_size:
            raise RuntimeError(f"{name}(): Number of indices ({index.numel()}) should be equal to "
                               f"source.size(dim): ({src_size}), for dim: {dim}")
    if index.numel():
        lo, hi = int(index._data.min()), int(index._data.max())
        low = -size if name == "index_fill_" else 0
        if lo < low or hi >= size:
            exc = IndexError if name in ("index_copy_", "index_fill_") else RuntimeError
            raise exc(f"{name}(): index {lo if lo < low else hi} is out of bounds for dimension {dim} with size {size}")
    return dim


def _dim_key(dim, idx):
    return (slice(None),) * dim + (_vec(idx),)


@primitive("IndexSelectBackward0", save=(1,))
def _index_select(ctx, xp, x, idx, dim):
    ctx.shape, ctx.dim = x.shape, dim
    out = xp.take(_vec(x), _vec(idx), axis=dim)
    return out.reshape(()) if x.ndim == 0 else out


@_index_select.derivative
def _(ctx, g):
    (idx,) = ctx.saved_tensors
    return index_add(_zeros(ctx.shape, g), ctx.dim, idx, g), None


@public
def index_select(input, dim, index):
    """The slices of ``input`` at positions ``index`` (a 1-d int tensor) along ``dim``.

    >>> ember.tensor([[1, 2], [3, 4]]).index_select(1, ember.tensor([1]))
    tensor([[2],
            [4]])
    """
    dim = _check_index_vector("index_select", input, dim, index)
    return _index_select(input, index, dim=dim)


@primitive("IndexAddBackward0", save=(1,))
def _index_add(ctx, xp, x, idx, src, dim, alpha):
    ctx.dim, ctx.alpha, ctx.src_shape = dim, alpha, src.shape
    out = x.copy()
    src = _vec(src) if x.ndim == 0 else src
    _ufunc_at(xp, "add", _vec(out), _dim_key(dim, idx), src if alpha == 1 else src * alpha)
    return out


@_index_add.derivative
def _(ctx, g):
    (idx,) = ctx.saved_tensors
    _, _, need_src = ctx.needs_input_grad
    grad_src = None
    if need_src:
        grad_src = g.index_select(ctx.dim, idx)
        grad_src = (grad_src if ctx.alpha == 1 else grad_src * ctx.alpha).reshape(ctx.src_shape)
    return g, None, grad_src


@public(inplace=True)
def index_add(input, dim, index, source, *, alpha=1):
    """``input`` with ``alpha * source`` added at ``index`` along ``dim`` (repeats accumulate).

    >>> ember.zeros(3).index_add(0, ember.tensor([1, 1]), ember.tensor([1., 2.]))
    tensor([0., 3., 0.])
    """
    dim = _check_index_vector("index_add_", input, dim, index, source)
    return _index_add(input, index, source, dim=dim, alpha=alpha)


@primitive("IndexCopyBackward0", save=(1,))
def _index_copy(ctx, xp, x, idx, src, dim):
    ctx.dim, ctx.src_shape = dim, src.shape
    out = x.copy()
    _vec(out)[_dim_key(dim, idx)] = _vec(src) if x.ndim == 0 else src
    return out


@_index_copy.derivative
def _(ctx, g):
    (idx,) = ctx.saved_tensors
    _, _, need_src = ctx.needs_input_grad
    grad_src = g.index_select(ctx.dim, idx).reshape(ctx.src_shape) if need_src else None
    return g.index_fill(ctx.dim, idx, 0.0), None, grad_src


@public(inplace=True)
def index_copy(input, dim, index, source):
    """``input`` with the slices of ``source`` copied to positions ``index`` along ``dim``.

    >>> ember.zeros(3).index_copy(0, ember.tensor([2]), ember.tensor([7.]))
    tensor([0., 0., 7.])
    """
    dim = _check_index_vector("index_copy_", input, dim, index, source)
    return _index_copy(input, index, source, dim=dim)


def _index_fill_forward(ctx, xp, x, idx, value, dim):
    ctx.dim = dim
    out = x.copy()
    _vec(out)[_dim_key(dim, idx)] = value
    return out


def _index_fill_backward(ctx, g):
    (idx,) = ctx.saved_tensors
    _, _, need_value = ctx.needs_input_grad
    grad_value = g.index_select(ctx.dim, idx).sum() if need_value else None
    return g.index_fill(ctx.dim, idx, 0.0), None, grad_value


_index_fill = Primitive(_index_fill_forward, "IndexFillBackward0", save=(1,))
_index_fill_tensor = Primitive(_index_fill_forward, "IndexFillBackward1", save=(1,))
for _p in (_index_fill, _index_fill_tensor):
    _p.derivative(_index_fill_backward)


@public(inplace=True)
def index_fill(input, dim, index, value):
    """``input`` with the slices at ``index`` along ``dim`` set to ``value`` (a scalar or 0-d tensor).

    >>> ember.zeros(3).index_fill(0, ember.tensor([0, 2]), 1.0)
    tensor([1., 0., 1.])
    """
    dim = _check_index_vector("index_fill_", input, dim, index)
    if isinstance(value, Tensor):
        _check_scalar_tensor("index_fill_", value)
        return _index_fill_tensor(input, index, value.to(input._dtype), dim=dim)
    return _index_fill(input, index, value, dim=dim)


# masked ops -----------------------------------------------------------------------------------

def _check_scalar_tensor(name, value):
    if value.dim():
        raise RuntimeError(f"{name} only supports a 0-dimensional value tensor, but got tensor with "
                           f"{value.dim()} dimension(s).")


def _masked_fill_forward(ctx, xp, x, mask, value):
    out = xp.where(mask, xp.asarray(value, dtype=x.dtype), x)
    return out if out.dtype == x.dtype else out.astype(x.dtype)


def _masked_fill_backward(ctx, g):
    (mask,) = ctx.saved_tensors
    need_x, _, need_value = ctx.needs_input_grad
    grad_x = where(mask, 0.0, g) if need_x else None
    grad_value = where(mask, g, 0.0).sum() if need_value else None
    return grad_x, None, grad_value


_masked_fill = Primitive(_masked_fill_forward, "MaskedFillBackward0", save=(1,))
_masked_fill_tensor = Primitive(_masked_fill_forward, "MaskedFillBackward1", save=(1,))
for _p in (_masked_fill, _masked_fill_tensor):
    _p.derivative(_masked_fill_backward)


@public(inplace=True)
def masked_fill(input, mask, value):
    """``input`` with ``value`` (a scalar or 0-d tensor) where the bool ``mask`` (broadcast) is True.

    >>> ember.tensor([1., -2.]).masked_fill(ember.tensor([False, True]), 0.0)
    tensor([1., 0.])
    """
    if mask._dtype is not bool_:
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype {mask._dtype.name}")
    if isinstance(value, Tensor):
        _check_scalar_tensor("masked_fill_", value)
        return _masked_fill_tensor(input, mask, value.to(input._dtype))
    return _masked_fill(input, mask, value)


_masked_select = Primitive(_getitem_forward, "MaskedSelectBackward0")
_masked_select.derivative(_getitem_backward)


@public
def masked_select(input, mask):
    """The elements of ``input`` where the bool ``mask`` (broadcast with it) is True, as a 1-d tensor.

    >>> ember.tensor([1., 2., 3.]).masked_select(ember.tensor([True, False, True]))
    tensor([1., 3.])
    """
    if not isinstance(mask, Tensor) or mask._dtype is not bool_:
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    shape = _broadcast_shape(input, mask)
    return apply(_masked_select, (input.expand(shape),), {"key": (mask.expand(shape)._data,)})


# take / take_along_dim --------------------------------------------------------------------------

_take = Primitive(_getitem_forward, "TakeBackward0")
_take.derivative(_getitem_backward)


@public
def take(input, index):
    """Elements of ``input`` read as if it were 1-d, at positions ``index`` (any shape).

    >>> ember.tensor([[1, 2], [3, 4]]).take(ember.tensor([0, 3]))
    tensor([1, 4])
    """
    _check_index_dtype("take", index)
    n = input.numel()
    idx = index._data
    if idx.size and (int(idx.min()) < -n or int(idx.max()) >= n):
        bad = int(idx.min()) if int(idx.min()) < -n else int(idx.max())
        raise IndexError(f"out of range: tried to access index {bad} on a tensor of {n} elements.")
    return apply(_take, (input.reshape(-1),), {"key": (idx,)})


@public
def take_along_dim(input, indices, dim=None):
    """``gather`` with ``input`` and ``indices`` broadcast against each other except at ``dim``;
    with no ``dim`` both are read flattened.

    >>> ember.tensor([[3., 1.], [0., 5.]]).take_along_dim(ember.tensor([[1], [0]]), 1)
    tensor([[1.],
            [0.]])
    """
    if dim is None:
        return input.reshape(-1).gather(0, indices.reshape(-1))
    if input.dim() != indices.dim():
        raise RuntimeError(f"torch.take_along_dim(): input and indices should have the same number of "
                           f"dimensions, but got {input.dim()} dimensions for input, and {indices.dim()} "
                           "dimensions for indices")
    dim = wrap_dim(dim, max(input.dim(), 1))
    if input.dim():
        xs, ids = list(input.shape), list(indices.shape)
        shape = [max(a, b) for a, b in zip(xs, ids)]
        input = input.expand(shape[:dim] + [xs[dim]] + shape[dim + 1:])
        indices = indices.expand(shape[:dim] + [ids[dim]] + shape[dim + 1:])
    return input.gather(dim, indices)


# nonzero / argwhere -----------------------------------------------------------------------------

@primitive("NonzeroBackward")
def _nonzero(ctx, xp, x):
    if x.ndim == 0:
        return xp.zeros((1 if x else 0, 0), dtype=xp.int64)
    return xp.stack(xp.nonzero(x), axis=1).astype(xp.int64, copy=False)


@public
def nonzero(input, *, as_tuple=False):
    """Indices of the non-zero elements: an ``(n, ndim)`` int64 tensor, or one 1-d tensor per dim.

    >>> ember.tensor([0, 3, 0, 4]).nonzero()
    tensor([[1],
            [3]])
    """
    if not as_tuple:
        return apply(_nonzero, (input,), {})
    idx = apply(_nonzero, (input.reshape(1) if input.dim() == 0 else input,), {})
    return tuple(idx[:, d] for d in range(idx.shape[1]))


@public
def argwhere(input):
    """The same as ``nonzero(input)``: an ``(n, ndim)`` tensor of the non-zero positions.

    >>> ember.argwhere(ember.tensor([[0, 1], [2, 0]]))
    tensor([[0, 1],
            [1, 0]])
    """
    return nonzero(input)

