"""Fractional max pooling (Graham, 2014): windows of a fixed size at pseudo-random, increasing
offsets, so that the output can shrink the input by a non-integer ratio.

Along each spatial dim with input size ``n``, output size ``m`` and window ``k``, one sample
``u`` in [0, 1) per (image, channel) plane places the windows at
``floor((i + u) * a) - floor(u * a)`` for ``i < m - 1`` (``a = (n - k) / (m - 1)``, computed in the
input's dtype, as torch does) and the last one at ``n - k``. Each output is its window's maximum
(a NaN wins) with the flat per-plane index of where it was; the backward adds the gradient back
at those indices (``pool.scatter``, as max pooling's).
"""
import itertools
import math

from ember.ops.dispatch import Primitive
from ember.random import rand
from ember.ops.pool import max_with_indices_jvp, scatter

_DIMS = {2: ("height", "width"), 3: ("time", "height", "width")}


def _starts(xp, u, n_in, n_out, k):
    """(planes, n_out) window starts from the planes' samples ``u`` (planes,)."""
    last = xp.full((u.shape[0], 1), n_in - k, dtype=xp.int64)
    if n_out == 1:
        return last
    alpha = u.dtype.type(n_in - k) / u.dtype.type(n_out - 1)
    i = xp.arange(n_out - 1, dtype=u.dtype)
    first = (((i + u[:, None]) * alpha).astype(xp.int64) - (u * alpha).astype(xp.int64)[:, None])
    return xp.concatenate([first, last], axis=1)


def _fractional_max(ctx, xp, x, samples, kernel, out):
    nd = len(kernel)
    size = x.shape[-nd:]
    planes = math.prod(x.shape[:-nd])
    flat_x = x.reshape(planes, math.prod(size))
    u = samples.reshape(planes, nd)
    strides = [math.prod(size[d + 1:]) for d in range(nd)]
    sample_of = (1, 0) if nd == 2 else (0, 1, 2)  # torch's order: (w, h) in 2-d, (t, h, w) in 3-d
    starts = [_starts(xp, u[:, sample_of[d]], size[d], out[d], kernel[d]) for d in range(nd)]
    origin = 0
    for d in range(nd):  # flat index of each window's origin, (planes, *out)
        shape = (planes,) + tuple(out[d] if e == d else 1 for e in range(nd))
        origin = origin + (starts[d] * strides[d]).reshape(shape)
    origin = xp.broadcast_to(origin, (planes, *out)).reshape(planes, -1)
    best = xp.full(origin.shape, -xp.inf, dtype=x.dtype)
    where = origin.copy()
    for offset in itertools.product(*(range(k) for k in kernel)):
        flat = origin + sum(o * s for o, s in zip(offset, strides))
        value = xp.take_along_axis(flat_x, flat, axis=1)
        take = (value > best) | (value != value)
        best = xp.where(take, value, best)
        where = xp.where(take, flat, where)
    ctx.size = size
    shape = x.shape[:-nd] + tuple(out)
    return best.reshape(shape), where.reshape(shape)


def _fractional_derivative(ctx, g, _):
    (_, idx) = ctx.saved_tensors
    node = f"FractionalMaxPool{len(ctx.size)}DBackwardBackward0"
    return scatter(node)(g, idx, size=ctx.size, unique=False), None


_fractional_max2d = Primitive(_fractional_max, "FractionalMaxPool2DBackward0", save_output=True)
_fractional_max2d.derivative(_fractional_derivative)
_PRIMS = {2: _fractional_max2d, 3: _fractional_max2d.variant("FractionalMaxPool3DBackward0")}


def _sizes(name, value, nd):
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return (value,) * nd
    value = tuple(value)
    if len(value) != nd:
        raise RuntimeError(f"{name}: output_size must either be a single Int or tuple of Ints")
    return value


def _fractional_max_pool(nd, input, kernel_size, output_size, output_ratio, return_indices, _random_samples):
    op = f"fractional_max_pool{nd}d"
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(f"{op}(): Expected {nd + 1}D or {nd + 2}D tensor, but got: {list(input.shape)}")
    if output_size is None and output_ratio is None:
        raise ValueError(f"{op} requires specifying either an output_size or an output_ratio")
    kernel = _sizes(op, kernel_size, nd)
    size = tuple(input.shape[-nd:])
    if output_size is None:
        out = tuple(int(n * r) for n, r in zip(size, _sizes(op, output_ratio, nd)))
    else:
        out = tuple(int(o) for o in _sizes(op, output_size, nd))
    where = f"{op}()" if nd == 2 else f"{op}_out()"
    for dim, n, m, k in zip(_DIMS[nd], size, out, kernel):
        if m + k - 1 > n:
            raise RuntimeError(f"{where}: pool {dim} {k} too large relative to input {dim} {n}")
    batch, channels = (input.shape[0], input.shape[1]) if input.dim() == nd + 2 else (1, input.shape[0])
    samples = _random_samples
    if samples is None:

        samples = rand(batch, channels, nd, dtype=input.dtype, device=input.device)
    elif samples.dim() != 3 or samples.shape[2] != nd:
        raise RuntimeError(f"Expect _random_samples.size(2) equals to {nd}; got {samples.shape[-1]}.")
    elif samples.shape[0] < batch:
        raise RuntimeError("Expect _random_samples.size(0) no less then input batch size.")
    elif samples.dtype != input.dtype:
        raise RuntimeError("Expect _random_samples to have the same dtype as input")
    values, idx = _PRIMS[nd](input, samples[:batch], kernel=kernel, out=out)
    return (values, idx) if return_indices else values


def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                          _random_samples=None):
    """Max over windows at pseudo-random offsets that shrink (N, C, H, W) by any ratio:
    ``ember.fractional_max_pool2d(x, 2, output_ratio=0.7)``."""
    return _fractional_max_pool(2, input, kernel_size, output_size, output_ratio, return_indices, _random_samples)


def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                          _random_samples=None):
    """The 3-d form of ``fractional_max_pool2d``, over (N, C, T, H, W)."""
    return _fractional_max_pool(3, input, kernel_size, output_size, output_ratio, return_indices, _random_samples)


def fractional_max_pool2d_with_indices(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                                       _random_samples=None):
    """``fractional_max_pool2d`` returning (values, indices), whatever ``return_indices`` says (as torch's)."""
    return _fractional_max_pool(2, input, kernel_size, output_size, output_ratio, True, _random_samples)


def fractional_max_pool3d_with_indices(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                                       _random_samples=None):
    """``fractional_max_pool3d`` returning (values, indices)."""
    return _fractional_max_pool(3, input, kernel_size, output_size, output_ratio, True, _random_samples)

# forward-mode rules (run by ember.ops.dual) --------------------------------------------------

_fractional_max2d.jvp(max_with_indices_jvp)
