"""Reductions over dims: sum, mean, nansum, nanmean, prod, var/std, logsumexp,
all/any and count_nonzero. Max/min and the value-selecting ops live in ``sort.py``."""
from ember.backend.dtype import bool_, get_default_dtype, int64, to_dtype, uint8
from ember.creation import eye, ones_like
from ember.ops._dims import wrap_dims
from ember.ops.dispatch import Primitive, primitive
from ember.ops.dual import DerivativeCtx, linear
from ember.ops.pointwise import where
from ember.ops.registry import public


def _keep_shape(in_shape, dims):
    return tuple(1 if i in dims else s for i, s in enumerate(in_shape))


def _expand_back(ctx, g):
    """Broadcast a reduced gradient back over the reduced dims."""
    if not ctx.keepdim and ctx.dims and g.dim():  # a 0-d gradient expands as it is
        g = g.reshape(_keep_shape(ctx.in_shape, ctx.dims))
    return g.expand(ctx.in_shape)


def reduce_dims(input, dim):
    """``dim`` (None, int or tuple) as sorted non-negative dims; a 0-d input has none."""
    dims = wrap_dims(dim, input.dim())
    return dims if input.dim() else ()


def _reduction_ctx(ctx, x, dims, keepdim):
    ctx.in_shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim


@primitive("SumBackward1")
def _sum(ctx, xp, x, dims, keepdim, dtype):
    _reduction_ctx(ctx, x, dims, keepdim)
    return xp.sum(x, axis=dims, keepdims=keepdim, dtype=dtype)


_sum.derivative(_expand_back)


_sum_all = _sum.variant("SumBackward0")


def _sum_dtype(x, dtype):
    if dtype is not None:
        return to_dtype(dtype).np
    return int64.np if x._dtype.category < 2 else x._dtype.np


@public
def sum(input, dim=None, keepdim=False, *, dtype=None):
    """Sum of all elements, or over ``dim`` (an int or a tuple): ``x.sum(1, keepdim=True)``."""
    if dim is None:
        return _sum_all(input, dims=tuple(range(input.dim())), keepdim=False, dtype=_sum_dtype(input, dtype))
    return _sum(input, dims=reduce_dims(input, dim), keepdim=keepdim, dtype=_sum_dtype(input, dtype))


@primitive("MeanBackward1")
def _mean(ctx, xp, x, dims, keepdim):
    _reduction_ctx(ctx, x, dims, keepdim)
    ctx.count = 1
    for d in dims:
        ctx.count *= x.shape[d]
    if ctx.count == 0:  # NaN, as in PyTorch, without NumPy's "Mean of empty slice" warning
        return xp.sum(x, axis=dims, keepdims=keepdim) * xp.nan
    return xp.mean(x, axis=dims, keepdims=keepdim)


@_mean.derivative
def _(ctx, g):
    return _expand_back(ctx, g) / ctx.count if ctx.count else _expand_back(ctx, g) * float("nan")


_mean_all = _mean.variant("MeanBackward0")


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
    return _mean(input, dims=reduce_dims(input, dim), keepdim=keepdim)


def _float_input(input):
    """Integer inputs of a float-valued reduction compute in the default float dtype."""
    return input if input._dtype.is_floating_point else input.to(get_default_dtype())


# nansum / nanmean -------------------------------------------------------------------

@primitive("NansumBackward0", save=(0,))
def _nansum(ctx, xp, x, dims, keepdim, dtype):
    _reduction_ctx(ctx, x, dims, keepdim)
    return xp.nansum(x, axis=dims, keepdims=keepdim, dtype=dtype)


@_nansum.derivative
def _(ctx, g):
    (x,) = ctx.saved_tensors
    return _expand_back(ctx, g) * (x == x)


@public
def nansum(input, dim=None, keepdim=False, *, dtype=None):
    """Sum treating NaN as zero: ``ember.nansum(ember.tensor([1.0, float('nan')]))`` is ``1.0``."""
    return _nansum(input, dims=reduce_dims(input, dim), keepdim=keepdim, dtype=_sum_dtype(input, dtype))


@public
def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    """Mean over the non-NaN elements: ``ember.tensor([1.0, float('nan'), 3.0]).nanmean()`` is ``2.0``."""
    if dtype is not None:
        input = input.to(dtype)
    if not input._dtype.is_floating_point:
        raise RuntimeError("nanmean(): expected input to have floating point or complex dtype but got "
                           f"{input.type()[6:-6]}")
    count = (input == input).sum(dim, keepdim)
    return nansum(input, dim, keepdim) / count


# prod ---------------------------------------------------------------------------------

def _move_last(x, dims):
    """``x`` with ``dims`` moved to the end and merged into one (the other dims keep their order)."""
    rest = [d for d in range(x.ndim) if d not in dims]
    moved = x.permute(*rest, *dims) if x.ndim else x.reshape(1)
    size = 1
    for d in dims:
        size *= x.shape[d]
    return moved.reshape(moved.shape[:len(rest)] + (size,))


@primitive("ProdBackward0", save=(0,))
def _others(ctx, xp, x):
    """For each element along the last dim, the product of all the others (no division)."""
    if x.shape[-1] == 0:
        return x.copy()
    ones = xp.ones(x.shape[:-1] + (1,), dtype=x.dtype)
    left = xp.cumprod(xp.concatenate([ones, x[..., :-1]], axis=-1), axis=-1)
    right = xp.cumprod(xp.concatenate([ones, x[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    return left * right


@_others.derivative
def _(ctx, g):
    (x,) = ctx.saved_tensors
    n = x.shape[-1]
    diag = eye(n, dtype=bool_, device=x.device)
    pairs = _others(where(diag, 1.0, x.unsqueeze(-2).expand(x.shape[:-1] + (n, n))))
    return (where(diag, 0.0, pairs) * g.unsqueeze(-2)).sum(-1)


def _prod_forward(ctx, xp, x, dims, keepdim, dtype):
    _reduction_ctx(ctx, x, dims, keepdim)
    return xp.prod(x, axis=dims, keepdims=keepdim, dtype=dtype)


def _prod_backward(ctx, g):
    (x,) = ctx.saved_tensors
    dims = ctx.dims
    rest = [d for d in range(x.ndim) if d not in dims]
    flat = _others(_move_last(x, dims))
    moved = flat.reshape([x.shape[d] for d in rest] + [x.shape[d] for d in dims])
    order = [0] * x.ndim
    for i, d in enumerate(rest + list(dims)):
        order[d] = i
    back = moved.permute(*order) if x.ndim else moved.reshape(())
    return _expand_back(ctx, g) * back


_prod_all = Primitive(_prod_forward, "ProdBackward0", save=(0,))
_prod_all.derivative(_prod_backward)
_prod = _prod_all.variant("ProdBackward1")


@public
def prod(input, dim=None, keepdim=False, *, dtype=None):
    """Product of all elements, or over one ``dim``: ``ember.tensor([2.0, 3.0]).prod()`` is ``6.0``."""
    if dim is None:
        return _prod_all(input, dims=tuple(range(input.dim())), keepdim=False, dtype=_sum_dtype(input, dtype))
    return _prod(input, dims=reduce_dims(input, dim), keepdim=keepdim, dtype=_sum_dtype(input, dtype))


# var / std -----------------------------------------------------------------------------

def _var_args(input, dim, unbiased, correction, name):
    if isinstance(dim, bool):  # var(x, False): the legacy positional ``unbiased``
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise TypeError(f"{name}() received an invalid combination of arguments - got both unbiased and correction")
    if not input._dtype.is_floating_point:
        raise RuntimeError("std and var only support floating point and complex dtypes")
    if correction is None:
        correction = 0 if unbiased is False else 1
    return reduce_dims(input, dim), correction


def _var_forward(ctx, xp, x, dims, keepdim, correction):
    _reduction_ctx(ctx, x, dims, keepdim)
    n = 1
    for d in dims:
        n *= x.shape[d]
    ctx.dof = max(n - correction, 0)
    centred = x - xp.mean(x, axis=dims, keepdims=True) if n else x
    return (xp.sum(centred * centred, axis=dims, keepdims=keepdim) / ctx.dof).astype(x.dtype)


def _centred(ctx, x):
    return x - x.mean(ctx.dims, keepdim=True) if ctx.dims else x - x


@primitive("VarBackward0", save=(0,))
def _var(ctx, xp, x, dims, keepdim, correction):
    return _var_forward(ctx, xp, x, dims, keepdim, correction)


@_var.derivative
def _(ctx, g):
    (x,) = ctx.saved_tensors
    return _expand_back(ctx, g) * _centred(ctx, x) * (2.0 / ctx.dof if ctx.dof else float("inf"))


@primitive("StdBackward0", save=(0,), save_output=True)
def _std(ctx, xp, x, dims, keepdim, correction):
    return xp.sqrt(_var_forward(ctx, xp, x, dims, keepdim, correction))


@_std.derivative
def _(ctx, g):
    x, y = ctx.saved_tensors
    scale = 1.0 / ctx.dof if ctx.dof else float("inf")
    return _expand_back(ctx, where(y == 0, 0.0, g / y)) * _centred(ctx, x) * scale


@public
def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Variance over ``dim`` with Bessel's ``correction`` (1 by default): ``x.var(0, correction=0)``."""
    dims, correction = _var_args(input, dim, unbiased, correction, "var")
    return _var(input, dims=dims, keepdim=keepdim, correction=correction)


@public
def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Standard deviation over ``dim``: ``ember.tensor([1.0, 3.0]).std()`` is ``sqrt(2)``."""
    dims, correction = _var_args(input, dim, unbiased, correction, "std")
    return _std(input, dims=dims, keepdim=keepdim, correction=correction)


@public(method=False)
def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(var, mean)`` over ``dim``: ``v, m = ember.var_mean(x, 0)``."""
    return var(input, dim, unbiased, keepdim, correction=correction), mean(input, dim, keepdim)


@public(method=False)
def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(std, mean)`` over ``dim``: ``s, m = ember.std_mean(x, 0)``."""
    return std(input, dim, unbiased, keepdim, correction=correction), mean(input, dim, keepdim)


# logsumexp ---------------------------------------------------------------------------

@primitive("LogsumexpBackward0", save=(0,), save_output=True)
def _logsumexp(ctx, xp, x, dims, keepdim):
    _reduction_ctx(ctx, x, dims, keepdim)
    if x.size == 0:
        return xp.log(xp.sum(xp.exp(x), axis=dims, keepdims=keepdim))
    m = xp.max(x, axis=dims, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0)
    out = xp.log(xp.sum(xp.exp(x - m), axis=dims, keepdims=True)) + m
    return out if keepdim else xp.squeeze(out, axis=dims)


@_logsumexp.derivative
def _(ctx, g):
    x, y = ctx.saved_tensors
    return _expand_back(ctx, g) * (x - _expand_back(ctx, y)).exp()


@public
def logsumexp(input, dim, keepdim=False):
    """``log(sum(exp(x)))`` over ``dim`` without overflow: ``ember.logsumexp(x, 1)``."""
    return _logsumexp(_float_input(input), dims=reduce_dims(input, dim), keepdim=keepdim)


# all / any / count_nonzero ------------------------------------------------------------

@primitive("AllBackward0")
def _all(ctx, xp, x, dims, keepdim, any_):
    out = (xp.any if any_ else xp.all)(x, axis=dims, keepdims=keepdim)
    return out.astype(x.dtype) if x.dtype == uint8.np else out


def _logical_reduction(input, dim, keepdim, any_):
    return _all(input, dims=reduce_dims(input, dim), keepdim=keepdim, any_=any_)


@public
def all(input, dim=None, keepdim=False):
    """True where every element (over ``dim``) is non-zero: ``(x > 0).all(1)``."""
    return _logical_reduction(input, dim, keepdim, False)


@public
def any(input, dim=None, keepdim=False):
    """True where some element (over ``dim``) is non-zero: ``(x > 0).any()``."""
    return _logical_reduction(input, dim, keepdim, True)


@public
def count_nonzero(input, dim=None):
    """The number of non-zero elements (over ``dim``) as int64: ``ember.count_nonzero(x, 0)``."""
    return (input != 0).sum(dim)

# forward-mode rules (run by ember.ops.dual) --------------------------------------------------

for _prim in (_sum, _mean):
    _prim.jvp(linear())
_nansum.jvp(lambda j: j.call(where(j.inputs[0] == j.inputs[0], j.tangents[0], 0.0)))


@_logsumexp.jvp
def _(j):
    x, dims, keepdim = j.inputs[0], j.params["dims"], j.params["keepdim"]
    y = j.out if keepdim or not dims else j.out.reshape(_keep_shape(x.shape, dims))
    return (j.tangents[0] * where(y.isfinite(), (x - y).exp(), 0.0)).sum(dims, keepdim=keepdim)

@_var.jvp
def _(j):
    x, t = j.inputs[0], j.tangents[0]
    dof = j.ctx.dof
    return (_centred(j.ctx, x) * t).sum(j.params["dims"], keepdim=j.params["keepdim"]) * (
        2.0 / dof if dof else float("inf"))


@_std.jvp
def _(j):
    x, t, y = j.inputs[0], j.tangents[0], j.out
    dof = j.ctx.dof
    var_t = (_centred(j.ctx, x) * t).sum(j.params["dims"], keepdim=j.params["keepdim"]) * (
        1.0 / dof if dof else float("inf"))
    return where(y == 0, 0.0, var_t / y)


@_prod_all.jvp
def _(j):
    others = _prod_backward(DerivativeCtx(j), ones_like(j.out))  # each element's product of the others
    return (j.tangents[0] * others).sum(j.params["dims"], keepdim=j.params["keepdim"])
