"""Resampling: interpolate (nearest, nearest-exact, linear, bilinear, bicubic, trilinear, lanczos,
area; bilinear, bicubic and lanczos also antialiased), pixel_shuffle and pixel_unshuffle.

Interpolation is separable: along each spatial dim an output element is a weighted sum
of a few input elements ("taps": an index and a weight per output position). The
forward gathers the taps; its transpose adds each tap's share back with one cumulative
sum per dim (tap indices never decrease, so each input element owns a contiguous run
of outputs). The two are each other's derivative, so double backward works. Along
dims of up to ``_DENSE_MAX`` elements both run as one dense GEMM instead (BLAS beats
gathers and cumulative sums there).
"""
import math

import numpy as np

from ember.backend.dtype import float32
from ember.ops.dispatch import Primitive, primitive
from ember.ops.dual import linear
from ember.ops.registry import public

_CUBIC_A = -0.75


def _along(shape_len, axis, n):
    """A shape that broadcasts a length-``n`` vector along ``axis`` of a ``shape_len``-dim array."""
    return (1,) * axis + (n,) + (1,) * (shape_len - axis - 1)


def _map_forward(ctx, xp, x, taps, names):
    """Apply per-dim taps ``[(index, weight or None), ...]`` to the last ``len(taps)`` dims of ``x``
    (as a dense GEMM along short dims, as gathers along long ones)."""
    ctx.taps, ctx.names, ctx.size = taps, names, x.shape[x.ndim - len(taps):]
    for i, dim_taps in enumerate(taps):
        axis = x.ndim - len(taps) + i
        if len(dim_taps) > 1 and x.shape[axis] <= _DENSE_MAX:  # a single tap is a plain gather
            x = _matmul_along(xp, x, xp.asarray(_dense_transpose(dim_taps, x.shape[axis]).T, dtype=x.dtype), axis)
            continue
        y = None
        for index, weight in dim_taps:
            v = xp.take(x, xp.asarray(index), axis=axis)
            if weight is not None:
                v *= xp.asarray(weight, dtype=x.dtype).reshape(_along(x.ndim, axis, len(index)))
            y = v if y is None else y.__iadd__(v)
        x = y
    return x


def _dense_transpose(dim_taps, n):
    """The (n, outputs) matrix adding each output's share back to its taps (host tables, small)."""
    m = np.zeros((n, len(dim_taps[0][0])))
    cols = np.arange(m.shape[1])
    for index, weight in dim_taps:
        np.add.at(m, (index, cols), 1.0 if weight is None else weight)
    return m


def _matmul_along(xp, g, m, axis):
    """``m`` (new, old) applied along ``axis`` of ``g``: one GEMM (a batch of them for inner dims)."""
    shape = g.shape
    lead, rest = math.prod(shape[:axis]), math.prod(shape[axis + 1:])
    if rest == 1:
        y = g.reshape(lead, shape[axis]) @ m.T
    else:
        y = xp.matmul(m, g.reshape(lead, shape[axis], rest))
    return y.reshape(shape[:axis] + (m.shape[0],) + shape[axis + 1:])


def _cumsum_transpose(xp, g, dim_taps, n, axis):
    """Each tap's share added back with one cumulative sum (tap indices never decrease)."""
    y = None
    for index, weight in dim_taps:
        v = g if weight is None else g * xp.asarray(weight, dtype=g.dtype).reshape(_along(g.ndim, axis, len(index)))
        zero = xp.zeros(v.shape[:axis] + (1,) + v.shape[axis + 1:], dtype=v.dtype)
        c = xp.concatenate([zero, xp.cumsum(v, axis=axis)], axis=axis)
        ends = np.searchsorted(index, np.arange(n), side="right")
        starts = np.searchsorted(index, np.arange(n), side="left")
        part = xp.take(c, xp.asarray(ends), axis=axis) - xp.take(c, xp.asarray(starts), axis=axis)
        y = part if y is None else y.__iadd__(part)
    return y


def _map_adjoint(ctx, xp, g, taps, names, size):
    """The transpose of ``_map_forward``: each output's gradient added back to its taps.

    Short dims use a dense GEMM (2*n flops per element, BLAS speed); long ones a cumulative sum."""
    ctx.taps, ctx.names = taps, names
    for i, dim_taps in enumerate(taps):
        axis = g.ndim - len(taps) + i
        if size[i] <= _DENSE_MAX:
            g = _matmul_along(xp, g, xp.asarray(_dense_transpose(dim_taps, size[i]), dtype=g.dtype), axis)
        else:
            g = _cumsum_transpose(xp, g, dim_taps, size[i], axis)
    return g


_DENSE_MAX = 512
# one record applies taps and one their transpose; ``names`` (the forward's node name) picks each call's node
_map = Primitive(_map_forward, "UpsampleBilinear2DBackward0", name="resample_map")
_map_transpose = Primitive(_map_adjoint, "UpsampleBilinear2DBackwardBackward0", name="resample_map_transpose")
_map.derivative(lambda ctx, g: _map_transpose.variant(ctx.names.replace("Backward0", "BackwardBackward0"))(
    g, taps=ctx.taps, names=ctx.names, size=ctx.size))
_map_transpose.derivative(lambda ctx, g: _map.variant(ctx.names)(g, taps=ctx.taps, names=ctx.names))


def apply_taps(input, taps, node):
    """``input`` resampled by per-dim taps, its node named ``node``."""
    return _map.variant(node)(input, taps=tuple(taps), names=node)


def adaptive_avg_pool(nd, input, out):
    """Adaptive average pooling over the last ``nd`` dims to spatial size ``out``."""
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f'"adaptive_avg_pool{max(nd, 2)}d" not implemented for \'{input.type()[6:-6]}\'')
    if all(o == 1 for o in out) and nd > 1:
        return input.mean(tuple(range(-nd, 0)), keepdim=True)
    taps = [area_taps(n, o) for n, o in zip(input.shape[-nd:], out)]
    return apply_taps(input, taps, f"AdaptiveAvgPool{max(nd, 2)}DBackward0")


# tap tables ------------------------------------------------------------------------------------


def _scale(n_in, n_out, align_corners, scale):
    if align_corners:
        return (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    return 1.0 / scale if scale is not None and scale > 0 else n_in / n_out


def _nearest_taps(n_in, n_out, scale, exact):
    s = _scale(n_in, n_out, False, scale)
    dst = np.arange(n_out, dtype=np.float64)
    src = np.floor((dst + 0.5) * s) if exact else np.floor(dst * s)
    return [(np.minimum(src.astype(np.int64), n_in - 1), None)]


def _linear_taps(n_in, n_out, align_corners, scale):
    s = _scale(n_in, n_out, align_corners, scale)
    dst = np.arange(n_out, dtype=np.float64)
    src = dst * s if align_corners else np.maximum(s * (dst + 0.5) - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    lam = src - i0
    return [(i0, 1.0 - lam), (i1, lam)]


def _cubic_taps(n_in, n_out, align_corners, scale):
    s = _scale(n_in, n_out, align_corners, scale)
    dst = np.arange(n_out, dtype=np.float64)
    src = dst * s if align_corners else s * (dst + 0.5) - 0.5
    i = np.floor(src).astype(np.int64)
    t = src - i
    weights = [_keys_cubic(u, _CUBIC_A) for u in (t + 1, t, 1 - t, 2 - t)]
    return [(np.clip(i - 1 + j, 0, n_in - 1), w) for j, w in enumerate(weights)]


def _triangle(u):
    return np.maximum(0.0, 1.0 - np.abs(u))


def _keys_cubic(u, a=-0.5):
    """Keys' cubic convolution kernel; plain bicubic uses a = -0.75, Pillow's antialiasing a = -0.5."""
    u = np.abs(u)
    return np.where(u < 1, ((a + 2) * u - (a + 3)) * u * u + 1, np.where(u < 2, ((a * u - 5 * a) * u + 8 * a) * u - 4 * a, 0.0))


def _lanczos3(u):
    return np.where(np.abs(u) < 3, np.sinc(u) * np.sinc(u / 3), 0.0)


_FILTERS = {"bilinear": (_triangle, 1.0), "bicubic": (_keys_cubic, 2.0), "lanczos": (_lanczos3, 3.0)}


def _antialias_taps(n_in, n_out, align_corners, scale, mode):
    """Antialiased taps (Pillow's resampling): when shrinking by ``s``, the filter is stretched by ``s``
    so that every input element inside its support contributes; weights are normalised per output.
    The cubic is Keys' with a = -0.5, as Pillow's, not the -0.75 of plain bicubic."""
    kernel, radius = _FILTERS[mode]
    s = _scale(n_in, n_out, align_corners, scale)
    support = radius * max(s, 1.0)
    stretch = 1.0 / s if s >= 1.0 else 1.0
    center = s * (np.arange(n_out) + 0.5)
    first = np.maximum(np.trunc(center - support + 0.5), 0).astype(np.int64)
    count = np.minimum(np.trunc(center + support + 0.5).astype(np.int64), n_in) - first
    offsets = np.arange(count.max())[:, None]
    weights = np.where(offsets < count, kernel((first + offsets - center + 0.5) * stretch), 0.0)
    total = weights.sum(0)
    weights = weights / np.where(total == 0, 1.0, total)
    return [(np.minimum(first + j, n_in - 1), weights[j]) for j in range(len(offsets))]


def adaptive_windows(n_in, n_out):
    """Start and (exclusive) end of each adaptive pooling window: [floor(i*n/o), ceil((i+1)*n/o))."""
    i = np.arange(n_out)
    return (i * n_in) // n_out, -((-(i + 1) * n_in) // n_out)


def area_taps(n_in, n_out):
    """Adaptive average pooling as taps: each adaptive window, padded by repeats of weight 0."""
    start, end = adaptive_windows(n_in, n_out)
    count = end - start
    return [(np.minimum(start + j, end - 1), np.where(j < count, 1.0 / count, 0.0)) for j in range(count.max())]


# interpolate ---------------------------------------------------------------------------------

_MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "lanczos", "area", "nearest-exact")
_LINEAR_DIMS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3, "lanczos": 2}
_NODE = {"nearest": "UpsampleNearest{}DBackward0", "nearest-exact": "UpsampleNearestExact{}DBackward0",
         "linear": "UpsampleLinear1DBackward0", "bilinear": "UpsampleBilinear2DBackward0",
         "bicubic": "UpsampleBicubic2DBackward0", "trilinear": "UpsampleTrilinear3DBackward0"}
_ANTIALIAS_NODE = {"bilinear": "UpsampleBilinear2DAaBackward0", "bicubic": "UpsampleBicubic2DAaBackward0",
                   "lanczos": "UpsampleLanczos2DAaBackward0"}


def _sizes(input, nd, size, scale_factor, recompute_scale_factor):
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    if size is not None:
        out = tuple(size) if isinstance(size, (tuple, list)) else (size,) * nd
        if len(out) != nd:
            raise ValueError(f"Input and output must have the same number of spatial dimensions, but got input "
                             f"with spatial dimensions of {list(input.shape[2:])} and output size of {list(out)}. "
                             "Please provide input tensor in (N, C, d1, d2, ...,dK) format and output size in "
                             "(o1, o2, ...,oK) format.")
        return tuple(int(o) for o in out), (None,) * nd
    scales = tuple(scale_factor) if isinstance(scale_factor, (tuple, list)) else (scale_factor,) * nd
    if len(scales) != nd:
        raise ValueError(f"Input and scale_factor must have the same number of spatial dimensions, but got input "
                         f"with spatial dimensions of {list(input.shape[2:])} and scale_factor of shape "
                         f"{list(scales)}. Please provide input tensor in (N, C, d1, d2, ...,dK) format and "
                         "scale_factor in (s1, s2, ...,sK) format.")
    out = tuple(int(math.floor(float(n) * float(sc))) for n, sc in zip(input.shape[2:], scales))
    return out, ((None,) * nd if recompute_scale_factor else tuple(float(sc) for sc in scales))


def _unsupported(input, mode):
    return NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.dim()}D) "
                               "for the modes: nearest | linear | bilinear | bicubic | trilinear | lanczos | area "
                               f"| nearest-exact (got {mode})")


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resample the spatial dims of (N, C, ...): ``F.interpolate(x, scale_factor=2, mode="bilinear")``."""
    nd = input.dim() - 2
    if mode not in _MODES:
        raise _unsupported(input, mode)
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    if nd not in (1, 2, 3):
        raise _unsupported(input, mode)
    out, scales = _sizes(input, nd, size, scale_factor, recompute_scale_factor)
    if antialias and not (mode in _ANTIALIAS_NODE and input.dim() == 4):
        raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos modes and requires a 4-D "
                         "tensor as input")
    if mode == "lanczos" and nd == 2:
        if align_corners:
            raise ValueError("Lanczos mode does not support align_corners=True")
        if not antialias:
            raise ValueError("Lanczos mode requires antialias=True")
    if mode in _LINEAR_DIMS and _LINEAR_DIMS[mode] != nd:
        if mode == "lanczos":
            raise _unsupported(input, mode)
        raise NotImplementedError(f"Got {input.dim()}D input, but {mode} mode needs {_LINEAR_DIMS[mode] + 2}D input")
    if min(out) <= 0 or min(input.shape[2:]) <= 0:
        named = lambda sizes: ", ".join(f"{a}: {n}" for a, n in zip("DHW"[-nd:], sizes))  # noqa: E731
        joint = " and" if nd == 1 else ""
        raise RuntimeError(f"Input and output sizes should be greater than 0, but got input ({named(input.shape[2:])})"
                           f"{joint} output ({named(out)})")
    if mode == "area":
        return adaptive_avg_pool(nd, input, out)
    ins = input.shape[2:]
    node = _ANTIALIAS_NODE[mode] if antialias else _NODE[mode].format(nd)
    if antialias:
        taps = [_antialias_taps(i, o, align_corners, s, mode) for i, o, s in zip(ins, out, scales)]
    elif mode in ("nearest", "nearest-exact"):
        taps = [_nearest_taps(i, o, s, mode == "nearest-exact") for i, o, s in zip(ins, out, scales)]
    elif mode == "bicubic":
        taps = [_cubic_taps(i, o, align_corners, s) for i, o, s in zip(ins, out, scales)]
    else:
        taps = [_linear_taps(i, o, align_corners, s) for i, o, s in zip(ins, out, scales)]
    if mode.startswith("nearest") or input.dtype.is_floating_point:
        return apply_taps(input, taps, node)
    info = np.iinfo(input.dtype.np)  # integer images: one dim at a time (last first), rounded and clamped
    out = input
    for i in range(nd - 1, -1, -1):
        one = [[(np.arange(n), None)] for n in out.shape[2:]]
        one[i] = taps[i]
        mixed = apply_taps(out.to(float32), one, node)
        out = mixed.round().clamp(info.min, info.max).to(input.dtype)
    return out


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated alias of :func:`interpolate`."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """``interpolate(..., mode="nearest")``."""
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """``interpolate(..., mode="bilinear", align_corners=True)``."""
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# pixel shuffle -----------------------------------------------------------------------------


def _shuffle(xp, x, r):
    *lead, c, h, w = x.shape
    y = x.reshape(*lead, c // (r * r), r, r, h, w)
    n = len(lead)
    y = y.transpose(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return y.reshape(*lead, c // (r * r), h * r, w * r)


def _unshuffle(xp, x, r):
    *lead, c, h, w = x.shape
    y = x.reshape(*lead, c, h // r, r, w // r, r)
    n = len(lead)
    y = y.transpose(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return y.reshape(*lead, c * r * r, h // r, w // r)


@primitive("PixelShuffleBackward0")
def _pixel_shuffle(ctx, xp, x, r):
    ctx.r = r
    return _shuffle(xp, x, r)


@primitive("PixelUnshuffleBackward0")
def _pixel_unshuffle(ctx, xp, x, r):
    ctx.r = r
    return _unshuffle(xp, x, r)


_pixel_shuffle.derivative(lambda ctx, g: _pixel_unshuffle(g, r=ctx.r))
_pixel_unshuffle.derivative(lambda ctx, g: _pixel_shuffle(g, r=ctx.r))


def _check_shuffle(op, input, r):
    if input.dim() < 3:
        raise RuntimeError(f"{op} expects input to have at least 3 dimensions, but got input with "
                           f"{input.dim()} dimension(s)")
    if r <= 0:
        factor = "upscale_factor" if op == "pixel_shuffle" else "downscale_factor"
        raise RuntimeError(f"{op} expects a positive {factor}, but got {r}")


@public(method=False)
def pixel_shuffle(input, upscale_factor):
    """(*, C*r*r, H, W) -> (*, C, H*r, W*r): ``ember.pixel_shuffle(ember.ones(1, 4, 2, 2), 2).shape``."""
    r = int(upscale_factor)
    _check_shuffle("pixel_shuffle", input, r)
    if input.shape[-3] % (r * r):
        raise RuntimeError("pixel_shuffle expects its input's 'channel' dimension to be divisible by the square "
                           f"of upscale_factor, but input.size(-3)={input.shape[-3]} is not divisible by {r * r}")
    return _pixel_shuffle(input, r=r)


@public(method=False)
def pixel_unshuffle(input, downscale_factor):
    """(*, C, H*r, W*r) -> (*, C*r*r, H, W): ``ember.pixel_unshuffle(ember.ones(1, 1, 4, 4), 2).shape``."""
    r = int(downscale_factor)
    _check_shuffle("pixel_unshuffle", input, r)
    for name, d in (("height", -2), ("width", -1)):
        if input.shape[d] % r:
            raise RuntimeError(f"pixel_unshuffle expects {name} to be divisible by downscale_factor, but "
                               f"input.size({d})={input.shape[d]} is not divisible by {r}")
    return _pixel_unshuffle(input, r=r)

# forward-mode rules (run by ember.ops.dual) --------------------------------------------------

for _prim in (_map, _map_transpose, _pixel_shuffle, _pixel_unshuffle):
    _prim.jvp(linear())
