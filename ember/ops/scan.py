"""Scans along one dim: cumsum, cumprod and logcumsumexp."""
import math

from ember.backend.arrays import accumulate
from ember.backend.dtype import int64, to_dtype
from ember.creation import arange
from ember.ops._dims import wrap_dim
from ember.ops.dispatch import primitive
from ember.ops.dual import linear, transposed_vjp
from ember.ops.pointwise import where
from ember.ops.rearrange import flip
from ember.ops.registry import public


def _scan_dim(input, dim):
    return wrap_dim(dim, input.dim()) if input.dim() else None


def _axis(x, dim):
    return x.reshape(1) if dim is None else x


def _reverse_cumsum(g, dim):
    """``out[i] = sum(g[i:])`` along ``dim``."""
    return flip(flip(g, dim).cumsum(dim), dim)


def _scan_dtype(input, dtype):
    if dtype is not None:
        return to_dtype(dtype).np
    return int64.np if input._dtype.category < 2 else input._dtype.np


@primitive("CumsumBackward0")
def _cumsum(ctx, xp, x, dim, dtype):
    ctx.dim = dim
    return xp.cumsum(_axis(x, dim), axis=dim or 0, dtype=dtype).reshape(x.shape)


@_cumsum.derivative
def _(ctx, g):
    return g if ctx.dim is None else _reverse_cumsum(g, ctx.dim)


@public(inplace=True)
def cumsum(input, dim, *, dtype=None):
    """Running sums along ``dim``: ``ember.tensor([1, 2, 3]).cumsum(0)`` is ``[1, 3, 6]``."""
    return _cumsum(input, dim=_scan_dim(input, dim), dtype=_scan_dtype(input, dtype))


@primitive("CumprodBackward0", save=(0,), save_output=True)
def _cumprod(ctx, xp, x, dim, dtype):
    ctx.dim = dim
    return xp.cumprod(_axis(x, dim), axis=dim or 0, dtype=dtype).reshape(x.shape)


def _cumprod_with_zeros(x, g, dim):
    """``grad[i] = sum over k >= i of g[k] * prod(x[j] for j <= k, j != i)``, with no division
    (n x n products per slice; used only when ``x`` holds zeros)."""
    xm, gm = x.movedim(dim, -1), g.movedim(dim, -1)
    n = xm.shape[-1]
    ar = arange(n)
    diag, upper = ar.unsqueeze(1) == ar, ar.unsqueeze(1) <= ar
    others = where(diag, 1.0, xm.unsqueeze(-2).expand(xm.shape[:-1] + (n, n))).cumprod(-1)
    return (where(upper, others, 0.0) * gm.unsqueeze(-2)).sum(-1).movedim(-1, dim)


@_cumprod.derivative
def _(ctx, g):
    x, y = ctx.saved_tensors
    if ctx.dim is None:
        return g
    if bool((x == 0).any()):
        return _cumprod_with_zeros(x, g, ctx.dim)
    return _reverse_cumsum(g * y, ctx.dim) / x


@public(inplace=True)
def cumprod(input, dim, *, dtype=None):
    """Running products along ``dim``: ``ember.tensor([1, 2, 3]).cumprod(0)`` is ``[1, 2, 6]``."""
    return _cumprod(input, dim=_scan_dim(input, dim), dtype=_scan_dtype(input, dtype))


@primitive("LogcumsumexpBackward0", save=(0,), save_output=True)
def _logcumsumexp(ctx, xp, x, dim):
    ctx.dim = dim
    return accumulate(xp, "logaddexp", _axis(x, dim), dim or 0).reshape(x.shape)


def _log_part(g, positive):
    """``log(max(g, 0))`` (or of ``max(-g, 0)``) with a clean gradient where it is ``-inf``."""
    keep = g > 0 if positive else g < 0
    part = where(keep, g if positive else -g, 1.0).log()
    return where(keep, part, -math.inf)


@_logcumsumexp.derivative
def _(ctx, g):
    x, y = ctx.saved_tensors
    if ctx.dim is None:
        return g
    d = ctx.dim

    def part(positive):
        z = flip(_log_part(g, positive) - y, d)
        return (x + flip(logcumsumexp(z, d), d)).exp()
    return part(True) - part(False)


@public
def logcumsumexp(input, dim):
    """``log(cumsum(exp(x)))`` along ``dim`` without overflow: ``ember.logcumsumexp(x, 0)``."""
    if not input._dtype.is_floating_point:
        raise NotImplementedError(f"\"logcumsumexp_out_cpu\" not implemented for '{input.type()[6:-6]}'")
    return _logcumsumexp(input, dim=_scan_dim(input, dim))

# forward-mode rules (run by ember.ops.dual) --------------------------------------------------

_cumsum.jvp(linear())


@_logcumsumexp.jvp
def _(j):
    x, t, y, d = j.inputs[0], j.tangents[0], j.out, j.params["dim"]
    if d is None:
        return t
    m = x.amax(d, keepdim=True).detach()
    m = where(m.isfinite(), m, 0.0)
    return (t * (x - m).exp()).cumsum(d) * (m - y).exp()


@_cumprod.jvp
def _(j):
    x, t, y, dim = j.inputs[0], j.tangents[0], j.out, j.params["dim"]
    if dim is None:
        return t
    if bool((x == 0).any()):
        return transposed_vjp(j)
    return y * (t / x).cumsum(dim)
