"""Reductions over dims: sum and mean (the rest of the family lives beside them)."""
from ember.backend.dtype import int64, to_dtype
from ember.ops._dims import wrap_dims
from ember.ops.dispatch import Primitive, primitive
from ember.ops.registry import public


def _keep_shape(in_shape, dims):
    return tuple(1 if i in dims else s for i, s in enumerate(in_shape))


def _expand_back(ctx, g):
    """Broadcast a reduced gradient back over the reduced dims."""
    if not ctx.keepdim and ctx.dims:
        g = g.reshape(_keep_shape(ctx.in_shape, ctx.dims))
    return g.expand(ctx.in_shape)


def _reduction_ctx(ctx, x, dims, keepdim):
    ctx.in_shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim


@primitive("SumBackward1")
def _sum(ctx, xp, x, dims, keepdim, dtype):
    _reduction_ctx(ctx, x, dims, keepdim)
    return xp.sum(x, axis=dims, keepdims=keepdim, dtype=dtype)


_sum.derivative(_expand_back)


_sum_all = Primitive(_sum.forward, "SumBackward0")
_sum_all.derivative(_expand_back)


def _sum_dtype(x, dtype):
    if dtype is not None:
        return to_dtype(dtype).np
    return int64.np if x._dtype.category < 2 else x._dtype.np


@public
def sum(input, dim=None, keepdim=False, *, dtype=None):
    """Sum of all elements, or over ``dim`` (an int or a tuple): ``x.sum(1, keepdim=True)``."""
    if dim is None:
        return _sum_all(input, dims=tuple(range(input.dim())), keepdim=False, dtype=_sum_dtype(input, dtype))
    return _sum(input, dims=wrap_dims(dim, input.dim()), keepdim=keepdim, dtype=_sum_dtype(input, dtype))


@primitive("MeanBackward1")
def _mean(ctx, xp, x, dims, keepdim):
    _reduction_ctx(ctx, x, dims, keepdim)
    ctx.count = 1
    for d in dims:
        ctx.count *= x.shape[d]
    return xp.mean(x, axis=dims, keepdims=keepdim)


@_mean.derivative
def _(ctx, g):
    return _expand_back(ctx, g) / ctx.count if ctx.count else _expand_back(ctx, g) * float("nan")


_mean_all = Primitive(_mean.forward, "MeanBackward0")
_mean_all.derivative(_mean.backward)


@public
def mean(input, dim=None, keepdim=False, *, dtype=None):
    """Arithmetic mean over all elements or ``dim``; floating inputs only."""
    if dtype is not None:
        input = input.to(dtype)
    if not input._dtype.is_floating_point:
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point or complex "
            f"dtype. Got: {input.type()[6:-6]}"
        )
    if dim is None:
        return _mean_all(input, dims=tuple(range(input.dim())), keepdim=False)
    return _mean(input, dims=wrap_dims(dim, input.dim()), keepdim=keepdim)
