"""The vector norm primitive (``ember.linalg.vector_norm`` and the norms built on it)."""
import math

from ember.ops.dispatch import primitive
from ember.ops.dual import transposed_vjp

_INF = math.inf


@primitive("LinalgVectorNormBackward0", save=(0,), save_output=True)
def _vector_norm(ctx, xp, x, ord, dims, keepdim):
    ctx.ord, ctx.dims, ctx.keepdim = ord, dims, keepdim
    ax = xp.abs(x)
    if ord == _INF:
        return xp.max(ax, axis=dims, keepdims=keepdim)
    if ord == -_INF:
        return xp.min(ax, axis=dims, keepdims=keepdim)
    if ord == 0:
        return xp.sum(x != 0, axis=dims, keepdims=keepdim).astype(x.dtype)
    if ord == 1:
        return xp.sum(ax, axis=dims, keepdims=keepdim)
    if ord == 2:
        return xp.sqrt(xp.sum(x * x, axis=dims, keepdims=keepdim))
    return xp.sum(ax ** ord, axis=dims, keepdims=keepdim) ** (1.0 / ord)


@_vector_norm.derivative
def _(ctx, g):
    x, n = ctx.saved_tensors
    if not ctx.keepdim:
        shape = [1 if i in ctx.dims else s for i, s in enumerate(x.shape)]
        g, n = g.reshape(shape), n.reshape(shape)
    p = ctx.ord
    if p == 0:
        return x * 0
    if p == 1:
        return g * x.sign()
    safe = n + (n == 0)
    if p == 2:
        return g * x / safe
    if p in (_INF, -_INF):
        hit = (x.abs() == n).to(x.dtype)
        return g * x.sign() * hit / hit.sum(ctx.dims, keepdim=True)
    return g * x.sign() * x.abs() ** (p - 1) / safe ** (p - 1)

# forward-mode rules (run by ember.ops.dual) --------------------------------------------------

@_vector_norm.jvp
def _(j):
    x, t, n, p = j.inputs[0], j.tangents[0], j.out, j.params["ord"]
    dims, keepdim = j.params["dims"], j.params["keepdim"]
    if x.is_complex() or p in (_INF, -_INF):
        return transposed_vjp(j)
    if p == 0:
        return n * 0
    if p == 1:
        return (t * x.sign()).sum(dims, keepdim=keepdim)
    safe = n + (n == 0)
    if p == 2:
        return (t * x).sum(dims, keepdim=keepdim) / safe
    return (t * x.sign() * x.abs() ** (p - 1)).sum(dims, keepdim=keepdim) / safe ** (p - 1)
