"""Indexing: ``x[key]`` and ``x[key] = value`` with ints, slices, None, Ellipsis,
integer tensors and boolean masks (NumPy's semantics, which PyTorch shares)."""
from ember._tensor import Tensor, observe_read
from ember.backend.arrays import add_at
from ember.backend.dtype import torch_name
from ember.ops.dispatch import Primitive, apply, primitive, xp_of
from ember.ops.dual import linear
from ember.ops.inplace import inplace
from ember.ops.registry import public


def _is_basic(key):
    return all(k is None or k is Ellipsis or isinstance(k, (int, slice)) and not isinstance(k, bool) for k in key)


def _invalid(k):
    return IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid "
                      f"indices (got {type(k).__name__})")


def _to_key(key, xp):
    """Turn a user's index into one the array module accepts (tensors and lists become arrays)."""
    if not isinstance(key, tuple):
        key = (key,)
    out = []
    for k in key:
        if isinstance(k, Tensor):
            if k._dtype.is_floating_point:
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            observe_read(k)  # the key holds the index values: a captured graph would keep them as constants
            k = int(k._data) if k._data.ndim == 0 and k._dtype.category == 1 else k._data  # 0-d int: like an int
        elif isinstance(k, (list, tuple)):
            k = xp.asarray(k)
            if k.dtype.kind not in "biu":
                if k.size:
                    raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
                k = k.astype(xp.int64)
        elif hasattr(k, "dtype") and k.ndim == 0 and k.dtype.kind in "iu":
            k = int(k)
        elif isinstance(k, bool) or hasattr(k, "dtype"):
            k = xp.asarray(k)
        elif not (k is None or k is Ellipsis or isinstance(k, (int, slice))):
            try:
                k = k.__index__()
            except (AttributeError, TypeError):
                raise _invalid(k) from None
        if isinstance(k, slice) and k.step is not None and k.step <= 0:
            raise ValueError("slice step cannot be zero" if k.step == 0 else "step must be greater than zero")
        out.append(k)
    return tuple(out)


def _check_key(x, key):
    """PyTorch's IndexErrors: too many indices, ints and integer arrays out of range
    (naming the index, dim and size), masks whose shape doesn't match."""
    used = sum(k.ndim if getattr(k, "dtype", None) is not None and k.dtype.kind == "b" else 1
               for k in key if k is not None and k is not Ellipsis)
    if used > x.ndim:
        if x.ndim == 0 and isinstance(key[0], int):
            raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or `tensor.item<T>()` "
                             "in C++ to convert a 0-dim tensor to a number")
        raise IndexError(f"too many indices for tensor of dimension {x.ndim}")
    dim, adv = 0, 0  # dim: the dim of x an item indexes; adv: how many integer arrays came before
    for pos, k in enumerate(key):  # PyTorch names an int by its place in the key, an array by its count
        if k is None:
            continue
        if k is Ellipsis:
            dim += x.ndim - used
            used = x.ndim
            continue
        if isinstance(k, int):
            size = x.shape[dim]
            if not -size <= k < size:
                raise IndexError(f"index {k} is out of bounds for dimension {pos} with size {size}")
        elif hasattr(k, "dtype") and k.dtype.kind == "b":
            for j, n in enumerate(k.shape):
                if n != x.shape[dim + j]:
                    raise IndexError(f"The shape of the mask {list(k.shape)} at index {j} does not match the shape "
                                     f"of the indexed tensor {list(x.shape)} at index {dim + j}")
            dim += k.ndim
            continue
        elif hasattr(k, "dtype"):
            size = x.shape[dim]
            if k.size:
                low, high = int(k.min()), int(k.max())
                if low < -size or high >= size:
                    raise IndexError(f"index {low if low < -size else high} is out of bounds for dimension {adv} "
                                     f"with size {size}")
            adv += 1
        dim += 1


def _getitem_forward(ctx, xp, x, key):
    ctx.key, ctx.in_shape = key, x.shape
    out = x[key]
    return out if isinstance(out, xp.ndarray) else x[key + (Ellipsis,)]  # all ints: a 0-d view, not a scalar copy


def _getitem_backward(ctx, g):
    return _scatter_zeros(g, shape=ctx.in_shape, key=ctx.key)


_select = Primitive(_getitem_forward, "SelectBackward0", view=True)
_select.derivative(_getitem_backward)
_slice = _select.variant("SliceBackward0")
_unsqueeze = _select.variant("UnsqueezeBackward0")
_alias = _select.variant("AliasBackward0")
_index = _select.variant("IndexBackward0", view=False)  # advanced indexing copies


def _basic_prim(key):
    """PyTorch names a basic index's node after its last step: ``x[1, :]`` selects,
    ``x[:, None]`` unsqueezes; ``:`` and ``...`` do nothing and ``x[...]`` is an alias."""
    for k in reversed(key):
        if k is None:
            return _unsqueeze
        if isinstance(k, int):
            return _select
        if isinstance(k, slice):
            if k != slice(None):
                return _slice
    return _alias


@primitive("IndexPutBackward0")
def _scatter_zeros_prim(ctx, xp, g, shape, key):
    """A zero tensor of ``shape`` with ``g`` added at ``key`` (repeated indices add up)."""
    ctx.key = key
    out = xp.zeros(shape, dtype=g.dtype)
    if _is_basic(key):
        out[key] = g
    else:
        add_at(xp, out, key, g)
    return out


_scatter_zeros_prim.derivative(lambda ctx, gg: apply(_index, (gg,), {"key": ctx.key}))


def _scatter_zeros(g, shape, key):
    return apply(_scatter_zeros_prim, (g,), {"shape": shape, "key": key})


def getitem(self, key):
    key = _to_key(key, xp_of(self._device))
    _check_key(self._data, key)
    prim = _basic_prim(key) if _is_basic(key) else _index
    return apply(prim, (self,), {"key": key})


def _put_mismatch(target, value, basic):
    """PyTorch's error for a value that does not broadcast to the indexed region."""
    target, value = list(target), list(value)
    if not basic:
        return RuntimeError(f"shape mismatch: value tensor of shape {value} cannot be broadcast to indexing "
                            f"result of shape {target}")
    if len(value) > len(target):
        return RuntimeError(f"expand(size={target}): the number of sizes provided ({len(target)}) must be greater "
                            f"or equal to the number of dimensions in the tensor ({len(value)})")
    for i in range(1, len(value) + 1):
        if value[-i] not in (1, target[-i]):
            return RuntimeError(f"The expanded size of the tensor ({target[-i]}) must match the existing size "
                                f"({value[-i]}) at non-singleton dimension {len(target) - i}.  Target sizes: "
                                f"{target}.  Tensor sizes: {value}")
    return RuntimeError(f"cannot assign a value of shape {value} to a region of shape {target}")


def _index_put_forward(ctx, xp, x, value, key):
    ctx.key = key
    out = x.copy()
    try:
        out[key] = value
    except ValueError:
        raise _put_mismatch(x[key].shape, xp.shape(value), _is_basic(key)) from None
    return out


def _index_put_backward(ctx, g):
    need_x, need_v = ctx.needs_input_grad
    grad_x = _index_put(g, 0.0, key=ctx.key) if need_x else None
    grad_v = apply(_index, (g,), {"key": ctx.key}) if need_v else None
    return grad_x, grad_v


_index_put = Primitive(_index_put_forward, "IndexPutBackward0")
_index_put.derivative(_index_put_backward)
_copy_slices = _index_put.variant("CopySlices")  # x[basic] = v writes through a view in PyTorch
_copy = _index_put.variant("CopyBackwards")  # x[...] = v is a whole copy_


def index_put(input, key, value):
    if isinstance(value, Tensor) and value._dtype is not input._dtype:
        value = value.to(input._dtype)
    prim = _index_put
    if _is_basic(key):
        prim = _copy if _basic_prim(key) is _alias else _copy_slices
    return apply(prim, (input, value), {"key": key})


def setitem(self, key, value):
    key = _to_key(key, xp_of(self._device))
    _check_key(self._data, key)
    if isinstance(value, Tensor) and value._dtype is not self._dtype and not _is_basic(key):
        raise RuntimeError(f"Index put requires the source and destination dtypes match, got "
                           f"{torch_name(self._dtype)} for the destination and {torch_name(value._dtype)} for the source.")
    inplace(self, index_put, key, value)


Tensor.__getitem__ = getitem
Tensor.__setitem__ = setitem


# flat and masked reads ---------------------------------------------------------------------

def _check_flat(index, numel):
    if index.numel():
        low, high = int(index._data.min()), int(index._data.max())
        if low < -numel or high >= numel:
            bad = low if low < -numel else high
            raise IndexError(f"out of range: tried to access index {bad} on a tensor of {numel} elements.")


@primitive("TakeBackward0")
def _take(ctx, xp, x, index):
    ctx.shape, ctx.index = x.shape, index
    return x.reshape(-1)[index]


_take.derivative(lambda ctx, g: (_scatter_zeros(g, shape=(_numel(ctx.shape),), key=(ctx.index,))
                                 .reshape(ctx.shape), None))


def _numel(shape):
    n = 1
    for s in shape:
        n *= s
    return n


@public
def take(input, index):
    """Elements of ``input`` seen as 1-D at ``index`` (any shape): ``x.take(ember.tensor([0, 5]))``."""
    _check_flat(index, input.numel())
    return _take(input, index)


@primitive("PutBackward0", save=(1,))
def _put(ctx, xp, x, index, src, accumulate):
    ctx.accumulate, ctx.shape = accumulate, x.shape
    out = x.copy()
    flat, values = out.reshape(-1), src.reshape(-1)
    if accumulate:
        flat += _scatter_zeros_prim.forward(ctx, xp, values, (flat.size,), (index.reshape(-1),))
    else:
        flat[index.reshape(-1)] = values
    return out


@_put.derivative
def _(ctx, g):
    (index,) = ctx.saved_tensors
    need_x, _, need_src = ctx.needs_input_grad
    gx = None
    if need_x:
        gx = g if ctx.accumulate else put(g, index, g.new_zeros(index.shape))
    return gx, None, (take(g, index) if need_src else None)


@public(inplace=True)
def put(input, index, source, accumulate=False):
    """``input`` seen as 1-D with ``source`` written (or added, ``accumulate=True``) at ``index``."""
    _check_flat(index, input.numel())
    if source.numel() != index.numel():
        raise RuntimeError(f"put_(): Expected source and index to have the same number of elements, but got "
                           f"source.numel() = {source.numel()}, index.numel() = {index.numel()}")
    return _put(input, index, source, accumulate=accumulate)


@primitive("MaskedSelectBackward0", save=(1,))
def _masked_select(ctx, xp, x, mask):
    ctx.shape = xp.broadcast_shapes(x.shape, mask.shape)
    return xp.broadcast_to(x, ctx.shape)[xp.broadcast_to(mask, ctx.shape)]


@_masked_select.derivative
def _(ctx, g):
    (mask,) = ctx.saved_tensors
    return _scatter_zeros(g, shape=ctx.shape, key=(mask.expand(ctx.shape)._data,)), None


@public
def masked_select(input, mask):
    """The elements where the (broadcast) boolean ``mask`` holds, as a 1-D tensor: ``x.masked_select(x > 0)``."""
    if not isinstance(mask, Tensor) or mask._dtype.name != "bool":
        raise RuntimeError(f"masked_select: expected BoolTensor for mask (got {getattr(mask, 'dtype', mask)})")
    return _masked_select(input, mask)


@primitive(None)
def _nonzero(ctx, xp, x, as_tuple):
    found = xp.nonzero(x.reshape(1) if x.ndim == 0 else x)
    if as_tuple:
        return tuple(i.astype(xp.int64) for i in found)
    out = xp.stack(found, axis=1).astype(xp.int64)
    return out[:, :0] if x.ndim == 0 else out


@public
def nonzero(input, *, as_tuple=False):
    """The indices of the non-zero elements: one row per element (or one tensor per dim with ``as_tuple``)."""
    return _nonzero(input, as_tuple=as_tuple)


@public
def argwhere(input):
    """``nonzero(input)``: the index of each non-zero element as a row."""
    return _nonzero(input, as_tuple=False)

# forward-mode rules (run by ember.ops.dual) --------------------------------------------------

for _prim in (_select, _index_put, _take, _put, _masked_select, _scatter_zeros_prim):
    _prim.jvp(linear())
