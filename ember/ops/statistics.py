"""Order statistics, counting and numerical integration: cummax/cummin, quantile/nanquantile,
searchsorted/bucketize, histc/histogram/bincount, cov/corrcoef, aminmax, diff and the
trapezoid rules. Counting ops have no gradient; the others are composed or have one."""
from collections import namedtuple

import numpy as np

from ember._tensor import Tensor
from ember.backend.arrays import accumulate
from ember.backend.dtype import float64, get_default_dtype, int32, int64, torch_name
from ember.creation import tensor, zeros
from ember.ops._dims import wrap_dim
from ember.ops.dispatch import per_sample, primitive
from ember.ops.join import cat
from ember.ops.pointwise import where
from ember.ops.out import accepts_out
from ember.ops.registry import public

CummaxResult = namedtuple("cummax", ["values", "indices"])
CumminResult = namedtuple("cummin", ["values", "indices"])
AminmaxResult = namedtuple("aminmax", ["min", "max"])
HistogramResult = namedtuple("histogram", ["hist", "bin_edges"])


# cummax / cummin -----------------------------------------------------------------------------

def _cum_extreme(ctx, xp, x, dim, largest):
    ctx.dim, ctx.shape = dim, x.shape
    if x.ndim == 0:
        return x.copy(), xp.zeros((), dtype=xp.int64)
    values = accumulate(xp, "maximum" if largest else "minimum", x, dim)
    shape = [1] * x.ndim
    shape[dim] = x.shape[dim]
    pos = xp.arange(x.shape[dim]).reshape(shape)
    hit = (x == values) | (x != x) if x.dtype.kind in "fc" else x == values
    indices = accumulate(xp, "maximum", xp.where(hit, pos, 0), dim)
    return values, indices.astype(xp.int64)


@primitive("CummaxBackward0", save_output=(1,))
def _cummax(ctx, xp, x, dim):
    return _cum_extreme(ctx, xp, x, dim, True)


@primitive("CumminBackward0", save_output=(1,))
def _cummin(ctx, xp, x, dim):
    return _cum_extreme(ctx, xp, x, dim, False)


def _cum_extreme_grad(ctx, g, _):
    (indices,) = ctx.saved_tensors
    if g.dim() == 0:
        return g
    return zeros(ctx.shape, dtype=g.dtype, device=g.device).scatter_add(ctx.dim, indices, g)


_cummax.derivative(_cum_extreme_grad)
_cummin.derivative(_cum_extreme_grad)


@public
def cummax(input, dim):
    """Running maxima along ``dim`` and the index where each was (last) reached."""
    return CummaxResult(*_cummax(input, dim=wrap_dim(dim, input.dim()) if input.dim() else 0))


@public
def cummin(input, dim):
    """Running minima along ``dim`` and the index where each was (last) reached."""
    return CumminResult(*_cummin(input, dim=wrap_dim(dim, input.dim()) if input.dim() else 0))


# quantiles ---------------------------------------------------------------------------------------

def _quantile(name, input, q, dim, keepdim, interpolation, ignore_nan):
    if interpolation not in ("linear", "lower", "higher", "midpoint", "nearest"):
        raise RuntimeError(f"{name}() interpolation must be one of linear, lower, higher, midpoint or nearest. "
                           f"Got {interpolation}")
    if not input.is_floating_point():
        raise RuntimeError(f"{name}() input tensor must be either float or double dtype")
    scalar_q = not isinstance(q, Tensor)
    qt = tensor(q, dtype=input.dtype, device=input.device) if scalar_q else q
    if qt.dim() > 1:
        raise RuntimeError(f"{name}() q must be a scalar or 1D tensor")
    if bool(((qt < 0) | (qt > 1)).any()):
        shown = q if scalar_q else "a tensor value outside it"
        raise RuntimeError(f"{name}() q must be in the range [0, 1] but got {shown}")
    x = input.reshape(-1) if dim is None else input
    d = 0 if dim is None else wrap_dim(dim, input.dim())
    x = x.movedim(d, -1) if x.dim() else x.reshape(1)
    ordered = x.sort(-1).values  # NaN sorts last
    nan = x != x
    count = (~nan).sum(-1, keepdim=True) if ignore_nan else zeros(x.shape[:-1] + (1,), dtype=int64,
                                                                    device=x.device) + x.shape[-1]
    qs = qt.reshape(-1)
    pos = qs * (count - 1).to(input.dtype)  # (..., nq)
    bad = (count == 0) if ignore_nan else nan.any(-1, keepdim=True)
    pos = where(bad, float(x.shape[-1] - 1), pos)  # a NaN answer read from the NaN sorted last, as PyTorch does
    if interpolation == "nearest":
        pos = pos.round()
    low = pos.floor().clamp(min=0).to(int64)
    high = pos.ceil().clamp(min=0).to(int64)
    lo_v, hi_v = ordered.gather(-1, low), ordered.gather(-1, high)
    if interpolation in ("lower", "nearest"):
        out = lo_v
    elif interpolation == "higher":
        out = hi_v
    elif interpolation == "midpoint":
        out = (lo_v + hi_v) / 2
    else:
        out = lo_v + (hi_v - lo_v) * (pos - low.to(input.dtype))
    out = out.movedim(-1, 0)  # q first, like PyTorch
    if keepdim:
        if dim is None:
            out = out.reshape(out.shape[0], *([1] * input.dim()))
        else:
            out = out.unsqueeze(d + 1)
    return out.squeeze(0) if scalar_q or qt.dim() == 0 else out


@public
@accepts_out
def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """The ``q``-quantiles of ``input`` (of all elements, or along ``dim``); NaN where a slice holds a NaN."""
    return _quantile("quantile", input, q, dim, keepdim, interpolation, False)


@public
@accepts_out
def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """``quantile`` ignoring NaNs (NaN only where a slice is all NaN)."""
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, True)


# searching and counting ------------------------------------------------------------------------

def _host(t):
    return t._host() if isinstance(t, Tensor) else np.asarray(t)


@public(method=False)
@accepts_out
@per_sample
def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None, sorter=None):
    """Where each value would be inserted into the (innermost dim of the) sorted sequence."""
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, got side of left "
                               "while right was True")
        right = side == "right"
    seq, values = _host(sorted_sequence), _host(input)
    if sorter is not None:
        seq = np.take_along_axis(seq, _host(sorter), -1)
    how = "right" if right else "left"
    if seq.ndim <= 1:
        result = np.searchsorted(seq, values, side=how)
    else:
        if seq.shape[:-1] != values.shape[:-1]:
            raise RuntimeError(f"torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
                               f"dimensions of boundaries tensor and input value tensor must match, but we got "
                               f"boundaries tensor {list(seq.shape)} and input value tensor {list(values.shape)}")
        flat_s = seq.reshape(-1, seq.shape[-1])
        flat_v = values.reshape(-1, values.shape[-1])
        result = np.stack([np.searchsorted(s, v, side=how) for s, v in zip(flat_s, flat_v)]).reshape(values.shape)
    dtype = int32 if out_int32 else int64
    device = sorted_sequence.device if isinstance(sorted_sequence, Tensor) else None
    return tensor(np.asarray(result, dtype=dtype.np), device=device)


@public(method=False)
@accepts_out
@per_sample
def bucketize(input, boundaries, *, out_int32=False, right=False):
    """The index of the bucket of each element: ``boundaries[i-1] < x <= boundaries[i]`` (``right``: ``<=, <``)."""
    if boundaries.dim() != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries.dim()})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


@public
def bincount(input, weights=None, minlength=0):
    """The number of occurrences of each value of a non-negative 1-D int tensor (weighted: their sum)."""
    if input._dtype.category != 1:
        raise NotImplementedError(f"\"bincount_cpu\" not implemented for '{torch_name(input._dtype)}'")
    if input.dim() != 1:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    x = _host(input)
    if x.size and x.min() < 0:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if weights is None:
        return tensor(np.bincount(x, minlength=minlength).astype(np.int64), device=input.device)
    if weights.shape != input.shape:
        raise RuntimeError("weights should be 1-d and have the same length as input")
    w = _host(weights)
    out_dtype = weights.dtype if weights.dtype.name in ("float32", "float64") else float64
    return tensor(np.bincount(x, weights=w, minlength=minlength), dtype=out_dtype, device=input.device)


@public
@accepts_out
def histc(input, bins=100, min=0, max=0):  # noqa: A002 - PyTorch's names
    """A histogram of ``bins`` equal bins over [min, max] (the data's range when both are 0)."""
    if not input.is_floating_point():
        raise NotImplementedError(f"\"histogram_cpu\" not implemented for '{torch_name(input._dtype)}'")
    if bins <= 0:
        raise RuntimeError("torch.histogram(): bins must be > 0")
    x = _host(input).reshape(-1)
    lo, hi = float(min), float(max)
    if lo == hi and x.size:
        lo, hi = float(x.min()), float(x.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if lo > hi:
        raise RuntimeError(f"max must be larger than min (got min {min} max {max})")
    counts, _ = np.histogram(x[(x >= lo) & (x <= hi)], bins=bins, range=(lo, hi))
    return tensor(counts.astype(input.dtype.np), device=input.device)


@public
@per_sample
def histogram(input, bins, *, range=None, weight=None, density=False):  # noqa: A002
    """``(hist, bin_edges)``: counts (or weights, or a density) over ``bins`` edges or equal bins."""
    if not input.is_floating_point():
        raise NotImplementedError(f"\"histogramdd\" not implemented for '{torch_name(input._dtype)}'")
    if range is not None and range[0] > range[1]:
        raise RuntimeError(f"torch.histogramdd: min should not exceed max, but got min {range[0]} max {range[1]} "
                           "for dimension 0")
    x = _host(input).reshape(-1)
    edges = _host(bins) if isinstance(bins, Tensor) else bins
    w = None if weight is None else _host(weight).reshape(-1)
    hist, edges = np.histogram(x, bins=edges, range=range, weights=w, density=density)
    dtype = input.dtype
    return HistogramResult(tensor(hist.astype(dtype.np), device=input.device),
                           tensor(edges.astype(dtype.np), device=input.device))


# covariance ------------------------------------------------------------------------------------

@public
def cov(input, *, correction=1, fweights=None, aweights=None):
    """The covariance matrix of the variables in ``input``'s rows (observations in columns)."""
    if input.dim() > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an input with "
                           f"{input.dim()} dimensions")
    x = input.reshape(1, -1) if input.dim() < 2 else input
    if x._dtype.category < 2:
        x = x.to(get_default_dtype())
    n = x.shape[1]
    w = None
    if fweights is not None:
        w = fweights
    if aweights is not None:
        w = aweights if w is None else w * aweights
    if w is None:
        mean = x.mean(1, keepdim=True)
        norm = n - correction
    else:
        w = w.to(x.dtype.to_real())
        total = w.sum()
        mean = (x * w).sum(1, keepdim=True) / total
        norm = total - correction * ((w * aweights).sum() / total if aweights is not None else 1)
    centred = x - mean
    weighted = centred if w is None else centred * w
    c = weighted @ centred.mH / (max(norm, 0) if isinstance(norm, (int, float)) else norm.clamp(min=0))
    return c.squeeze() if input.dim() < 2 else c


@public
def corrcoef(input):
    """Pearson correlation coefficients of the variables in ``input``'s rows."""
    c = cov(input)
    if c.dim() == 0:
        return c / c
    d = c.diagonal().real if c.is_complex() else c.diagonal()
    s = d.sqrt()
    r = c / s.unsqueeze(1) / s.unsqueeze(0)
    return r.clamp(-1, 1) if not r.is_complex() else r


@public
def aminmax(input, *, dim=None, keepdim=False):
    """``(min, max)`` of all elements or along ``dim``."""
    if dim is None:
        lo, hi = input.amin(), input.amax()
        if keepdim:
            lo, hi = lo.reshape([1] * input.dim()), hi.reshape([1] * input.dim())
        return AminmaxResult(lo, hi)
    return AminmaxResult(input.amin(dim, keepdim), input.amax(dim, keepdim))


# differences and integration -------------------------------------------------------------------

@public
def diff(input, n=1, dim=-1, prepend=None, append=None):
    """The ``n``-th forward difference along ``dim`` (``!=`` for bool tensors)."""
    if input.dim() == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    d = wrap_dim(dim, input.dim())
    x = input
    if prepend is not None or append is not None:
        x = cat([t for t in (prepend, x, append) if t is not None], d)
    for _ in range(n):
        size = x.shape[d]
        if size == 0:
            break
        a, b = x.narrow(d, 1, size - 1), x.narrow(d, 0, size - 1)
        x = a != b if x._dtype.category == 0 else a - b
    return x


def _spacing(y, x, dx, d):
    if x is not None:
        if x.dim() == 1:
            shape = [1] * y.dim()
            shape[d] = x.shape[0]
            x = x.reshape(shape)
        return diff(x, dim=d if x.dim() == y.dim() else -1)
    return 1.0 if dx is None else dx


@public(method=False)
def trapezoid(y, x=None, *, dx=None, dim=-1):
    """The trapezoid rule along ``dim`` with sample points ``x`` or spacing ``dx`` (default 1)."""
    d = wrap_dim(dim, y.dim())
    if y.shape[d] == 0:
        return y.sum(d)
    step = _spacing(y, x, dx, d)
    mid = (y.narrow(d, 1, y.shape[d] - 1) + y.narrow(d, 0, y.shape[d] - 1)) / 2
    return (mid * step).sum(d)


@public(method=False)
def trapz(y, x=None, *, dx=None, dim=-1):
    return trapezoid(y, x, dx=dx, dim=dim)


@public(method=False)
def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    """The running trapezoid-rule integral along ``dim`` (one element shorter than ``y``)."""
    d = wrap_dim(dim, y.dim())
    step = _spacing(y, x, dx, d)
    mid = (y.narrow(d, 1, max(y.shape[d] - 1, 0)) + y.narrow(d, 0, max(y.shape[d] - 1, 0))) / 2
    return (mid * step).cumsum(d)

# forward-mode rules (run by ember.ops.dual) --------------------------------------------------

@_cummax.jvp
def _(j):
    return j.tangents[0].clone() if j.tangents[0].dim() == 0 else j.tangents[0].gather(j.params["dim"], j.out[1]), None


_cummin.jvp(_cummax.jvp_rule)
