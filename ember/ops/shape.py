"""Shape ops that share memory (views) and their derivatives."""
import numpy as np

from ember._tensor import Tensor
from ember.backend.dtype import to_dtype, torch_name
from ember.ops._dims import infer_shape, shape_arg, wrap_dim, wrap_dims
from ember.ops.dispatch import primitive
from ember.ops.dual import linear
from ember.ops.registry import public


def _no_copy_reshape(xp, x, shape):
    try:
        if type(x) is np.ndarray:  # the method: 0.4 us against the function's 0.9
            return x.reshape(shape, copy=False)
        return xp.reshape(x, shape, copy=False)
    except (ValueError, AttributeError):
        raise RuntimeError(
            f"view size is not compatible with input tensor's size and stride (input shape {list(x.shape)}, "
            f"view shape {list(shape)}; at least one dimension spans across two contiguous subspaces). "
            "Use .reshape(...) instead."
        ) from None


@primitive("ViewBackward0", view=True)
def _view(ctx, xp, x, shape):
    ctx.in_shape = x.shape
    return _no_copy_reshape(xp, x, shape)


@_view.derivative
def _(ctx, g):
    return g.reshape(ctx.in_shape)


@primitive("UnsafeViewBackward0")
def _reshape_copy(ctx, xp, x, shape):
    ctx.in_shape = x.shape
    return xp.reshape(x, shape).copy()


_reshape_copy.derivative(lambda ctx, g: g.reshape(ctx.in_shape))


@public(namespace=False)
def view(input, *shape):
    """A view with a new shape; shares memory: ``x.view(2, -1)``. ``x.view(ember.int32)``
    reinterprets the bits of a float32 tensor (not differentiable)."""
    if len(shape) == 1 and not isinstance(shape[0], (int, tuple, list)):
        return _view_dtype(input, to_dtype(shape[0]))
    return _view(input, shape=infer_shape(shape_arg(shape), input._data.size))


def _view_dtype(input, dtype):
    if dtype is input._dtype:
        return input
    old, new = input._dtype.np.itemsize, dtype.np.itemsize
    if old != new:
        what = f"to view {torch_name(input._dtype)} as {torch_name(dtype)} (different element sizes)"
        if input.dim() == 0:
            raise RuntimeError(f"self.dim() cannot be 0 {what}")
        if input.stride(-1) != 1:
            raise RuntimeError(f"self.stride(-1) must be 1 {what}, but got {input.stride(-1)}")
        if new > old and input.shape[-1] % (new // old):
            raise RuntimeError(f"self.size(-1) must be divisible by {new // old} {what}, but got {input.shape[-1]}")
    data = input._data.view(dtype.np)
    base = input if input._base is None else input._base
    return Tensor._make(data, dtype, input._device, False, None, 0, base)


@public
def reshape(input, *shape):
    """``view`` where possible, otherwise a copy."""
    shape = infer_shape(shape_arg(shape), input._data.size)
    try:
        return _view(input, shape=shape)
    except RuntimeError:
        return _reshape_copy(input, shape=shape)


@public(namespace=False)
def view_as(input, other):
    return view(input, other.shape)


@public(namespace=False)
def reshape_as(input, other):
    return reshape(input, other.shape)


@public
def flatten(input, start_dim=0, end_dim=-1):
    if input.dim() == 0:
        return reshape(input, 1)
    s, e = wrap_dim(start_dim, input.dim()), wrap_dim(end_dim, input.dim())
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    shape = input.shape
    return reshape(input, shape[:s] + (-1 if 0 not in shape[s:e + 1] else 0,) + shape[e + 1:])


@public
def unflatten(input, dim, sizes):
    d = wrap_dim(dim, input.dim())
    sizes = infer_shape(tuple(sizes), input.shape[d])
    return view(input, input.shape[:d] + sizes + input.shape[d + 1:])


@primitive("ExpandBackward0", view=True)
def _expand(ctx, xp, x, shape):
    if xp is np and type(x) is np.ndarray and x.flags.c_contiguous and x.size:
        return _broadcast_view(x, shape)
    return xp.broadcast_to(x, shape)


def _broadcast_view(x, shape):
    """``np.broadcast_to(x, shape)`` for a C-contiguous ``x``, the read-only view made directly: 0.3 us
    against broadcast_to's 2.3 (it builds an iterator), which every sum's backward pays."""
    lead = len(shape) - x.ndim
    strides = (0,) * lead + tuple(0 if have != want else stride
                                  for have, want, stride in zip(x.shape, shape[lead:], x.strides))
    out = np.ndarray(shape, x.dtype, x, 0, strides)
    out.flags.writeable = False
    return out


_expand.derivative(lambda ctx, g: g)  # the node sums g back to the input's shape


@public(namespace=False)
def expand(input, *sizes):
    """Broadcast to ``sizes`` without copying (-1 keeps a size): ``x.expand(3, -1)``."""
    sizes = shape_arg(sizes)
    shape = input.shape
    if len(sizes) < len(shape):
        raise RuntimeError(
            f"expand(): the number of sizes provided ({len(sizes)}) must be greater or equal to the "
            f"number of dimensions in the tensor ({len(shape)})"
        )
    lead = len(sizes) - len(shape)
    target = []
    for i, s in enumerate(sizes):
        if i < lead:
            if s < 0:
                raise RuntimeError(f"expand(): the expanded size {s} is not allowed in a leading, non-existing dimension {i}")
            target.append(s)
            continue
        have = shape[i - lead]
        if s == -1:
            s = have
        if have != s and have != 1:
            raise RuntimeError(
                f"The expanded size of the tensor ({s}) must match the existing size ({have}) at "
                f"non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: {list(shape)}"
            )
        target.append(s)
    target = tuple(target)
    return input if target == shape else _expand(input, shape=target)


@public(namespace=False)
def expand_as(input, other):
    return expand(input, other.shape)


@primitive("PermuteBackward0", view=True)
def _permute(ctx, xp, x, dims):
    ctx.dims = dims
    return xp.transpose(x, dims)


@_permute.derivative
def _(ctx, g):
    inverse = [0] * len(ctx.dims)
    for i, d in enumerate(ctx.dims):
        inverse[d] = i
    return g.permute(inverse)


@public
def permute(input, *dims):
    dims = shape_arg(dims)
    n = input.dim()
    if len(dims) != n:
        raise RuntimeError(
            f"permute(sparse_coo): number of dimensions in the tensor input does not match the length of the "
            f"desired ordering of dimensions i.e. input.dim() = {n} is not equal to len(dims) = {len(dims)}"
        )
    wrapped = tuple(wrap_dim(d, n) for d in dims)
    if len(set(wrapped)) != n:
        raise RuntimeError(f"permute(): duplicate dims are not allowed (got {list(dims)})")
    return _permute(input, dims=wrapped)


@primitive("TransposeBackward0", view=True)
def _transpose(ctx, xp, x, dim0, dim1):
    ctx.dims = (dim0, dim1)
    return xp.swapaxes(x, dim0, dim1)


_transpose.derivative(lambda ctx, g: g.transpose(*ctx.dims))


@public(aliases=("swapaxes", "swapdims"))
def transpose(input, dim0, dim1):
    n = input.dim()
    if n == 0:
        return input.view(())
    return _transpose(input, dim0=wrap_dim(dim0, n), dim1=wrap_dim(dim1, n))


@primitive("TBackward0", view=True)
def _t(ctx, xp, x):
    return x.T


_t.derivative(lambda ctx, g: g.t())


@public
def t(input):
    if input.dim() > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input.dim()}D")
    return _t(input)


Tensor.T = property(lambda self: self.permute(*reversed(range(self.dim()))) if self.dim() > 1 else self)
Tensor.mT = property(lambda self: self.transpose(-2, -1))
Tensor.H = property(lambda self: self.T.conj())
Tensor.mH = property(lambda self: self.transpose(-2, -1).conj())


@primitive("UnsqueezeBackward0", view=True)
def _unsqueeze(ctx, xp, x, dim):
    ctx.dim = dim
    return xp.expand_dims(x, dim)


_unsqueeze.derivative(lambda ctx, g: g.squeeze(ctx.dim))


@public
def unsqueeze(input, dim):
    return _unsqueeze(input, dim=wrap_dim(dim, input.dim() + 1))


@primitive("SqueezeBackward0", view=True)
def _squeeze(ctx, xp, x, dims):
    ctx.in_shape = x.shape
    return xp.squeeze(x, dims)


_squeeze.derivative(lambda ctx, g: g.reshape(ctx.in_shape))
_squeeze_dim = _squeeze.variant("SqueezeBackward1")
_squeeze_dims = _squeeze.variant("SqueezeBackward2")


@public
def squeeze(input, dim=None):
    """Drop size-1 dims (all, one ``dim`` or a tuple of dims): ``x.squeeze((0, 2))``."""
    prim = _squeeze if dim is None else _squeeze_dim if isinstance(dim, int) else _squeeze_dims
    dims = wrap_dims(dim, input.dim()) if input.dim() else ()
    dims = tuple(d for d in dims if input._data.shape[d] == 1)
    return prim(input, dims=dims)


@public(aliases=("moveaxis",))
def movedim(input, source, destination):
    n = input.dim()
    src = (source,) if isinstance(source, int) else tuple(source)
    dst = (destination,) if isinstance(destination, int) else tuple(destination)
    if len(src) != len(dst):
        raise RuntimeError(
            f"movedim: Invalid source or destination dims: source ({list(src)} dims) should contain the same "
            f"number of dims as destination ({list(dst)} dims)"
        )
    src = [wrap_dim(d, n) for d in src]
    dst = [wrap_dim(d, n) for d in dst]
    if n == 0:
        return permute(input, ())
    order = [d for d in range(n) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute(input, order)




@public(method=False)
def atleast_1d(*tensors):
    """``input`` with at least one dim (several tensors give a tuple): ``ember.atleast_1d(ember.tensor(1.))``."""
    return _atleast(tensors, lambda x: x.reshape(1) if x.dim() == 0 else x)


@public(method=False)
def atleast_2d(*tensors):
    """``input`` with at least two dims; a vector becomes a row: ``ember.atleast_2d(ember.ones(3)).shape == (1, 3)``."""
    return _atleast(tensors, lambda x: x.reshape(1, 1) if x.dim() == 0 else x.unsqueeze(0) if x.dim() == 1 else x)


@public(method=False)
def atleast_3d(*tensors):
    """``input`` with at least three dims: a vector ``(n,)`` becomes ``(1, n, 1)``, a matrix ``(m, n)`` ``(m, n, 1)``."""
    def lift(x):
        if x.dim() == 0:
            return x.reshape(1, 1, 1)
        if x.dim() == 1:
            return x.unsqueeze(0).unsqueeze(-1)
        return x.unsqueeze(-1) if x.dim() == 2 else x
    return _atleast(tensors, lift)


def _atleast(tensors, lift):
    if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        return tuple(lift(x) for x in tensors[0])
    return lift(tensors[0]) if len(tensors) == 1 else tuple(lift(x) for x in tensors)

# forward-mode rules (run by ember.ops.dual) --------------------------------------------------

for _prim in (_view, _reshape_copy, _expand, _permute, _transpose, _t, _unsqueeze, _squeeze):
    _prim.jvp(linear())
