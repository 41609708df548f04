"""Selection and sorting: max/min (full and along a dim), amax/amin, argmax/argmin,
sort, argsort, msort, topk, kthvalue, median, nanmedian, mode and unique.

Every op that picks values along a dim returns ``(values, indices)``; its gradient puts
``g`` back at the picked indices with one shared primitive (``_put``)."""
from ember import return_types
from ember._tensor import Tensor
from ember.backend.arrays import accumulate
from ember.ops._dims import wrap_dim
from ember.ops.binary import maximum, minimum
from ember.ops.dispatch import Primitive, primitive
from ember.ops.dual import linear
from ember.ops.reduce import _expand_back, _keep_shape, _reduction_ctx, reduce_dims
from ember.ops.registry import public


# gather / scatter along one dim: each is the other's derivative ---------------------------

@primitive("GatherBackward0", save=(1,), name="take_along_dim")
def _take(ctx, xp, x, idx, dim):
    ctx.shape, ctx.dim = x.shape, dim
    return xp.take_along_axis(x, idx, axis=dim)


@_take.derivative
def _(ctx, g):
    (idx,) = ctx.saved_tensors
    return _put(g, idx, shape=ctx.shape, dim=ctx.dim), None


@primitive("ScatterBackward0", save=(1,), name="put_along_dim")
def _put(ctx, xp, g, idx, shape, dim):
    ctx.dim = dim
    out = xp.zeros(shape, dtype=g.dtype)
    xp.put_along_axis(out, idx, g, axis=dim)
    return out


@_put.derivative
def _(ctx, g):
    (idx,) = ctx.saved_tensors
    return _take(g, idx, dim=ctx.dim), None


def _along(x):
    """A 0-d array viewed as 1-d, so that dim 0 exists."""
    return x.reshape(1) if x.ndim == 0 else x


def _picked(xp, x, idx, dim, keep):
    """``(values, indices)`` for indices ``idx`` taken along ``dim`` of ``_along(x)``."""
    idx = idx.astype(xp.int64)
    values = xp.take_along_axis(_along(x), idx, axis=dim)
    if not keep or x.ndim == 0:
        values, idx = xp.squeeze(values, axis=dim), xp.squeeze(idx, axis=dim)
    return values, idx


def _select_ctx(ctx, x, dim):
    ctx.in_shape, ctx.dim = x.shape, dim


def _scatter_back(ctx, g, _=None):
    """The gradient of picked values: ``g`` placed at the picked indices, zeros elsewhere."""
    values, idx = ctx.saved_tensors
    work = ctx.in_shape or (1,)
    if g.dim() < len(work):
        g, idx = g.unsqueeze(ctx.dim), idx.unsqueeze(ctx.dim)
    return _put(g, idx, shape=work, dim=ctx.dim).reshape(ctx.in_shape)


def _selection(name, node, forward):
    """A ``(values, indices)`` primitive from ``forward(ctx, xp, x, **params)``."""
    prim = Primitive(forward, node, save_output=True, name=name)
    prim.derivative(_scatter_back)
    return prim


def _check_dim_size(input, dim, name):
    if input.dim() and input.shape[dim] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {dim} to have non-zero size.")


# max / min -------------------------------------------------------------------------------

def _extreme_dim(ctx, xp, x, dim, keepdim, largest):
    _select_ctx(ctx, x, dim)
    idx = (xp.argmax if largest else xp.argmin)(_along(x), axis=dim, keepdims=True)
    return _picked(xp, x, idx, dim, keepdim)


_max_dim = _selection("max", "MaxBackward0", lambda ctx, xp, x, dim, keepdim: _extreme_dim(ctx, xp, x, dim, keepdim, True))
_min_dim = _selection("min", "MinBackward0", lambda ctx, xp, x, dim, keepdim: _extreme_dim(ctx, xp, x, dim, keepdim, False))


def _extreme_forward(ctx, xp, x, dims, keepdim, largest):
    _reduction_ctx(ctx, x, dims, keepdim)
    return (xp.max if largest else xp.min)(x, axis=dims, keepdims=keepdim)


def _even_split(ctx, g):
    """Ties share the gradient evenly (PyTorch's amax/amin and full max/min)."""
    x, y = ctx.saved_tensors
    hit = (x == _expand_back(ctx, y)).to(g.dtype)
    return _expand_back(ctx, g) * hit / _expand_back(ctx, hit.sum(ctx.dims, keepdim=ctx.keepdim))


def _extreme(name, node, largest):
    prim = Primitive(lambda ctx, xp, x, dims, keepdim: _extreme_forward(ctx, xp, x, dims, keepdim, largest), node,
                     save=(0,), save_output=True, name=name)
    prim.derivative(_even_split)
    return prim


_max_all, _min_all = _extreme("max_all", "MaxBackward1", True), _extreme("min_all", "MinBackward1", False)
_amax, _amin = _extreme("amax", "AmaxBackward0", True), _extreme("amin", "AminBackward0", False)


def _check_full(input, name, extra=" Specify the reduction dim with the 'dim' argument.", error=RuntimeError):
    if input.numel() == 0:
        raise error(f"{name}(): Expected reduction dim to be specified for input.numel() == 0.{extra}")


def _max_min(input, dim, keepdim, other, name):
    largest = name == "max"
    if isinstance(dim, Tensor) or other is not None:
        return (maximum if largest else minimum)(input, dim if other is None else other)
    if dim is None:
        _check_full(input, name)
        return (_max_all if largest else _min_all)(input, dims=tuple(range(input.dim())), keepdim=False)
    dim = wrap_dim(dim, input.dim())
    _check_dim_size(input, dim, name)
    values, indices = (_max_dim if largest else _min_dim)(input, dim=dim, keepdim=keepdim)
    return getattr(return_types, name)(values, indices)


@public
def max(input, dim=None, keepdim=False, *, other=None):
    """The largest element; with ``dim``, ``(values, indices)`` along it; with a tensor, ``maximum``:
    ``ember.max(x)``, ``x.max(1).indices``."""
    return _max_min(input, dim, keepdim, other, "max")


@public
def min(input, dim=None, keepdim=False, *, other=None):
    """The smallest element; with ``dim``, ``(values, indices)`` along it: ``ember.min(x, 0)``."""
    return _max_min(input, dim, keepdim, other, "min")


def _amax_amin(input, dim, keepdim, name):
    dims = reduce_dims(input, dim)
    if input.numel() == 0:
        if not dims or dim is None or dim == ():
            _check_full(input, name)
        for d in dims:
            _check_dim_size(input, d, name)
    return (_amax if name == "amax" else _amin)(input, dims=dims, keepdim=keepdim)


@public
def amax(input, dim=(), keepdim=False):
    """The largest values over ``dim`` (all dims by default); ties share the gradient: ``x.amax(1)``."""
    return _amax_amin(input, None if dim == () else dim, keepdim, "amax")


@public
def amin(input, dim=(), keepdim=False):
    """The smallest values over ``dim`` (all dims by default): ``x.amin((0, 1))``."""
    return _amax_amin(input, None if dim == () else dim, keepdim, "amin")


@primitive("ArgmaxBackward0")
def _arg_extreme(ctx, xp, x, dim, keepdim, largest):
    find = xp.argmax if largest else xp.argmin
    if dim is None:
        out = find(x.reshape(-1)).reshape((1,) * x.ndim if keepdim else ())
    else:
        out = find(_along(x), axis=dim, keepdims=keepdim)
        out = out.reshape(()) if x.ndim == 0 else out
    return out.astype(xp.int64)


def _argmax_argmin(input, dim, keepdim, name):
    if input._dtype.name == "bool":
        raise RuntimeError(f"{name}(): does not support bool input")
    if dim is None:
        _check_full(input, name, "", IndexError)
    else:
        dim = wrap_dim(dim, input.dim())
        _check_dim_size(input, dim, name)
    return _arg_extreme(input, dim=dim, keepdim=keepdim, largest=name == "argmax")


@public
def argmax(input, dim=None, keepdim=False):
    """The index of the largest element (flattened, or along ``dim``): ``x.argmax(1)``."""
    return _argmax_argmin(input, dim, keepdim, "argmax")


@public
def argmin(input, dim=None, keepdim=False):
    """The index of the smallest element (flattened, or along ``dim``): ``x.argmin()``."""
    return _argmax_argmin(input, dim, keepdim, "argmin")


# sort / topk / kthvalue / median / mode ----------------------------------------------------

def _sort_indices(xp, x, dim, descending):
    """Stable ascending or descending order of ``x`` along ``dim`` (NaN counts as largest)."""
    if not descending:
        return xp.argsort(x, axis=dim, kind="stable")
    rev = xp.flip(x, axis=dim)
    return x.shape[dim] - 1 - xp.flip(xp.argsort(rev, axis=dim, kind="stable"), axis=dim)


def _sort_forward(ctx, xp, x, dim, descending):
    _select_ctx(ctx, x, dim)
    return _picked(xp, x, _sort_indices(xp, _along(x), dim, descending), dim, True)


_sort = _selection("sort", "SortBackward0", _sort_forward)
_sort_stable = _sort.variant("SortBackward1")


@public
def sort(input, dim=-1, descending=False, *, stable=None):
    """``(values, indices)`` sorted along ``dim``; equal values keep their order:
    ``ember.sort(x, descending=True)``."""
    if isinstance(dim, bool):  # sort(x, stable=..., dim=..., descending=...) in the keyword-only form
        dim, descending = -1, dim
    prim = _sort if stable is None else _sort_stable
    values, indices = prim(input, dim=wrap_dim(dim, input.dim()), descending=descending)
    return return_types.sort(values, indices)


@public
def argsort(input, dim=-1, descending=False, *, stable=False):
    """The indices that sort ``input`` along ``dim``: ``x.argsort(descending=True)``."""
    return sort(input.detach(), dim, descending, stable=stable).indices


@public
def msort(input):
    """``input`` sorted along its first dim: ``ember.msort(x)``."""
    return sort(input, 0).values


def _topk_forward(ctx, xp, x, k, dim, largest, sorted):
    _select_ctx(ctx, x, dim)
    idx = _sort_indices(xp, _along(x), dim, largest)
    return _picked(xp, x, xp.take(idx, xp.arange(k), axis=dim), dim, True)


_topk = _selection("topk", "TopkBackward0", _topk_forward)


@public
def topk(input, k, dim=-1, largest=True, sorted=True):
    """The ``k`` largest (or smallest) values along ``dim`` and their indices: ``x.topk(2)``."""
    if input._dtype.name == "bool":
        raise RuntimeError("topk does not support bool dtypes on CPU")
    dim = wrap_dim(dim, input.dim())
    if not 0 <= k <= (input.shape[dim] if input.dim() else 1):
        raise RuntimeError("selected index k out of range")
    return return_types.topk(*_topk(input, k=k, dim=dim, largest=largest, sorted=sorted))


def _kth_forward(ctx, xp, x, k, dim, keepdim):
    _select_ctx(ctx, x, dim)
    idx = xp.take(_sort_indices(xp, _along(x), dim, False), xp.arange(k - 1, k), axis=dim)
    return _picked(xp, x, idx, dim, keepdim)


_kthvalue = _selection("kthvalue", "KthvalueBackward0", _kth_forward)


@public
def kthvalue(input, k, dim=-1, keepdim=False):
    """The ``k``-th smallest value along ``dim`` (1-based) and its index: ``x.kthvalue(2, 0)``."""
    dim = wrap_dim(dim, input.dim())
    size = input.shape[dim] if input.dim() else 1
    if not 1 <= k <= size:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {dim}")
    return return_types.kthvalue(*_kthvalue(input, k=k, dim=dim, keepdim=keepdim))


def _median_dim_forward(ctx, xp, x, dim, keepdim, ignore_nan):
    _select_ctx(ctx, x, dim)
    x1 = _along(x)
    order = _sort_indices(xp, x1, dim, False)
    n = x1.shape[dim]
    if ignore_nan:
        count = n - xp.isnan(x1).sum(axis=dim, keepdims=True)
        pos = xp.maximum(count - 1, 0) // 2
    else:
        has_nan = xp.isnan(x1).any(axis=dim, keepdims=True)
        pos = xp.where(has_nan, n - xp.isnan(x1).sum(axis=dim, keepdims=True), (n - 1) // 2)
    return _picked(xp, x, xp.take_along_axis(order, pos, axis=dim), dim, keepdim)


_median_dim = _selection("median", "MedianBackward1", lambda ctx, xp, x, dim, keepdim: _median_dim_forward(
    ctx, xp, x, dim, keepdim, False))
_nanmedian_dim = _selection("nanmedian", "NanmedianBackward1", lambda ctx, xp, x, dim, keepdim: _median_dim_forward(
    ctx, xp, x, dim, keepdim, True))


def _median_all_forward(ctx, xp, x, ignore_nan):
    _reduction_ctx(ctx, x, tuple(range(x.ndim)), False)
    flat = xp.sort(x.reshape(-1))
    if ignore_nan:
        flat = flat[~xp.isnan(flat)]
    elif flat.size and xp.isnan(flat[-1]):
        return flat[-1:].reshape(())
    if flat.size == 0:
        return xp.asarray(xp.nan, dtype=x.dtype)
    return flat[(flat.size - 1) // 2].reshape(())


def _median_all(name, node, ignore_nan):
    prim = Primitive(lambda ctx, xp, x: _median_all_forward(ctx, xp, x, ignore_nan), node, save=(0,),
                     save_output=True, name=name)
    prim.derivative(_even_split)
    return prim


_median_full = _median_all("median_all", "MedianBackward0", False)
_nanmedian_full = _median_all("nanmedian_all", "NanmedianBackward0", True)


def _median(input, dim, keepdim, name):
    if input._dtype.name == "bool":
        raise NotImplementedError(f"\"{name}_cpu\" not implemented for 'Bool'")
    if dim is None:
        return (_nanmedian_full if name == "nanmedian" else _median_full)(input)
    dim = wrap_dim(dim, input.dim())
    _check_dim_size(input, dim, name)
    prim = _nanmedian_dim if name == "nanmedian" else _median_dim
    return getattr(return_types, name)(*prim(input, dim=dim, keepdim=keepdim))


@public
def median(input, dim=None, keepdim=False):
    """The lower median of all elements, or ``(values, indices)`` along ``dim``: ``x.median(1)``."""
    return _median(input, dim, keepdim, "median")


@public
def nanmedian(input, dim=None, keepdim=False):
    """The median ignoring NaN values: ``ember.nanmedian(x)``."""
    return _median(input, dim, keepdim, "nanmedian")


def _mode_forward(ctx, xp, x, dim, keepdim):
    _select_ctx(ctx, x, dim)
    x1 = xp.moveaxis(_along(x), dim, -1)
    order = xp.argsort(x1, axis=-1, kind="stable")
    s = xp.take_along_axis(x1, order, axis=-1)
    n = s.shape[-1]
    start = xp.concatenate([xp.ones(s.shape[:-1] + (1,), dtype=bool), s[..., 1:] != s[..., :-1]], axis=-1)
    run_id = xp.cumsum(start, axis=-1) - 1
    first = xp.where(start, xp.arange(n), 0)
    run_start = accumulate(xp, "maximum", first, -1)
    length = xp.arange(n) - run_start + 1
    # the longest run, smallest value first: the last element of that run is its last occurrence
    best = xp.argmax(length * (n + 1) - run_id, axis=-1)[..., None]
    pick = xp.take_along_axis(order, best, axis=-1)
    return _picked(xp, x, xp.moveaxis(pick, -1, dim), dim, keepdim)


_mode = _selection("mode", "ModeBackward0", _mode_forward)


@public
def mode(input, dim=-1, keepdim=False):
    """The most frequent value along ``dim`` (the smallest among equally frequent ones) and an
    index of it: ``ember.tensor([1, 2, 2]).mode()``."""
    dim = wrap_dim(dim, input.dim())
    _check_dim_size(input, dim, "mode")
    return return_types.mode(*_mode(input, dim=dim, keepdim=keepdim))


# unique -------------------------------------------------------------------------------------

@primitive("UniqueBackward0")
def _unique(ctx, xp, x, dim, consecutive):
    if dim is None:
        flat = x.reshape(-1)
        if consecutive:
            keep = xp.concatenate([xp.ones(int(flat.size > 0), dtype=bool), flat[1:] != flat[:-1]])
            values = flat[keep]
            inverse = xp.cumsum(keep) - 1
            counts = xp.diff(xp.concatenate([xp.nonzero(keep)[0], xp.asarray([flat.size])]))
        else:
            values, inverse, counts = xp.unique(flat, return_inverse=True, return_counts=True)
        return values, inverse.reshape(x.shape).astype(xp.int64), counts.astype(xp.int64)
    moved = xp.moveaxis(x, dim, 0).reshape(x.shape[dim], -1)
    if consecutive:
        keep = xp.concatenate([xp.ones(int(len(moved) > 0), dtype=bool), (moved[1:] != moved[:-1]).any(axis=1)])
        rows, inverse = moved[keep], xp.cumsum(keep) - 1
        counts = xp.diff(xp.concatenate([xp.nonzero(keep)[0], xp.asarray([len(moved)])]))
    else:
        rows, inverse, counts = xp.unique(moved, axis=0, return_inverse=True, return_counts=True)
    shape = (len(rows),) + tuple(s for i, s in enumerate(x.shape) if i != dim)
    values = xp.moveaxis(rows.reshape(shape), 0, dim)
    return values, inverse.reshape(-1).astype(xp.int64), counts.astype(xp.int64)


def _unique_result(input, dim, consecutive, return_inverse, return_counts):
    if dim is not None:
        dim = wrap_dim(dim, input.dim())
    values, inverse, counts = _unique(input.detach(), dim=dim, consecutive=consecutive)
    out = (values,) + ((inverse,) if return_inverse else ()) + ((counts,) if return_counts else ())
    return out[0] if len(out) == 1 else out


@public
def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct values (sorted), optionally with the inverse map and the counts:
    ``values, inverse = ember.unique(x, return_inverse=True)``."""
    return _unique_result(input, dim, False, return_inverse, return_counts)


@public
def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """Collapse runs of equal consecutive values: ``ember.unique_consecutive(ember.tensor([1, 1, 2, 1]))``."""
    return _unique_result(input, dim, True, return_inverse, return_counts)

# forward-mode rules (run by ember.ops.dual) --------------------------------------------------

def _picked_jvp(j):
    """The tangent of picked values: the input's tangent at the picked indices."""
    t, idx = j.tangents[0], j.out[1]
    if t.dim() == 0:
        return t.clone(), None
    dim = j.ctx.dim
    if idx.dim() < t.dim():
        return _take(t, idx.unsqueeze(dim), dim=dim).squeeze(dim), None
    return _take(t, idx, dim=dim), None


def _even_split_jvp(j):
    """Ties share: the mean of the tangent over the elements equal to the extreme."""
    x, t, y, dims, keepdim = j.inputs[0], j.tangents[0], j.out, j.ctx.dims, j.ctx.keepdim
    full = y if keepdim or not dims else y.reshape(_keep_shape(x.shape, dims))
    hit = (x == full).to(t.dtype)
    return (t * hit).sum(dims, keepdim=keepdim) / hit.sum(dims, keepdim=keepdim)


for _prim in (_max_dim, _min_dim, _sort, _topk, _kthvalue, _median_dim, _nanmedian_dim, _mode):
    _prim.jvp(_picked_jvp)
for _prim in (_max_all, _min_all, _amax, _amin, _median_full, _nanmedian_full):
    _prim.jvp(_even_split_jvp)
_take.jvp(linear())
_put.jvp(linear())
