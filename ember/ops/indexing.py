"""Indexing: ``x[key]`` and ``x[key] = value`` with ints, slices, None, Ellipsis,
integer tensors and boolean masks (NumPy's semantics, which PyTorch shares)."""
from ember._tensor import Tensor
from ember.ops.dispatch import Primitive, apply, inplace, primitive


def _is_basic(key):
    return all(k is None or k is Ellipsis or isinstance(k, (int, slice)) and not isinstance(k, bool) for k in key)


def _to_key(key, xp):
    """Turn a user's index into one the array module accepts (tensors become arrays)."""
    if not isinstance(key, tuple):
        key = (key,)
    out = []
    for k in key:
        if isinstance(k, Tensor):
            if k._dtype.is_floating_point:
                raise IndexError(
                    "tensors used as indices must be long, int, byte or bool tensors (got a "
                    f"{k._dtype.name} tensor)"
                )
            k = k._data
        elif isinstance(k, (list, tuple)) and not isinstance(k, bool):
            k = xp.asarray(k)
        out.append(k)
    return tuple(out)


def _check_bounds(x, key):
    """PyTorch's IndexError for out-of-range integer indices, naming dim and size."""
    dim = 0
    for k in key:
        if k is None:
            continue
        if k is Ellipsis:
            dim = x.ndim - sum(1 for j in key if j is not None and j is not Ellipsis and getattr(j, "dtype", None) is None
                               or hasattr(j, "dtype") and j.dtype.kind != "b") + dim
            continue
        if isinstance(k, int):
            if dim >= x.ndim:
                raise IndexError(f"too many indices for tensor of dimension {x.ndim}")
            size = x.shape[dim]
            if not -size <= k < size:
                raise IndexError(f"index {k} is out of bounds for dimension {dim} with size {size}")
        dim += k.ndim if hasattr(k, "dtype") and k.dtype.kind == "b" else 1


def _getitem_forward(ctx, xp, x, key):
    ctx.key, ctx.in_shape = key, x.shape
    try:
        return x[key]
    except IndexError as e:
        raise IndexError(f"{e} (indexing a tensor of shape {list(x.shape)})") from None


def _getitem_backward(ctx, g):
    return _scatter_zeros(g, shape=ctx.in_shape, key=ctx.key)


_select = Primitive(_getitem_forward, "SelectBackward0", view=True)
_slice = Primitive(_getitem_forward, "SliceBackward0", view=True)
_index = Primitive(_getitem_forward, "IndexBackward0")
for _p in (_select, _slice, _index):
    _p.derivative(_getitem_backward)


@primitive("IndexPutBackward0")
def _scatter_zeros_prim(ctx, xp, g, shape, key):
    """A zero tensor of ``shape`` with ``g`` added at ``key`` (repeated indices add up)."""
    ctx.key = key
    out = xp.zeros(shape, dtype=g.dtype)
    if _is_basic(key):
        out[key] = g
    elif xp.__name__ == "numpy":
        xp.add.at(out, key, g)
    else:
        import cupyx
        cupyx.scatter_add(out, key, g)
    return out


_scatter_zeros_prim.derivative(lambda ctx, gg: apply(_index, (gg,), {"key": ctx.key}))


def _scatter_zeros(g, shape, key):
    return apply(_scatter_zeros_prim, (g,), {"shape": shape, "key": key})


def getitem(self, key):
    from ember.ops.dispatch import xp_of
    key = _to_key(key, xp_of(self._device))
    if _is_basic(key):
        _check_bounds(self._data, key)
        prim = _select if len(key) == 1 and isinstance(key[0], int) else _slice
    else:
        prim = _index
    return apply(prim, (self,), {"key": key})


@primitive("IndexPutBackward0")
def _index_put(ctx, xp, x, value, key):
    ctx.key = key
    out = x.copy()
    out[key] = value
    return out


@_index_put.derivative
def _(ctx, g):
    need_x, need_v = ctx.needs_input_grad
    grad_x = _index_put(g, 0.0, key=ctx.key) if need_x else None
    grad_v = apply(_index, (g,), {"key": ctx.key}) if need_v else None
    return grad_x, grad_v


def index_put(input, key, value):
    if isinstance(value, Tensor) and value._dtype is not input._dtype:
        value = value.to(input._dtype)
    return apply(_index_put, (input, value), {"key": key})


def setitem(self, key, value):
    from ember.ops.dispatch import xp_of
    key = _to_key(key, xp_of(self._device))
    if _is_basic(key):
        _check_bounds(self._data, key)
    inplace(self, index_put, key, value)


Tensor.__getitem__ = getitem
Tensor.__setitem__ = setitem
