"""Max and average pooling over 2 or 3 spatial dims (1-d pools run as 2-d ones, as in PyTorch).

A window is read as one strided slice of the input per kernel offset, so a pool
costs ``prod(kernel)`` elementwise passes over the output and never copies the
input unless it needs padding. Max pooling keeps the first maximum's flat
per-plane index; its backward scatters the gradient to those positions in one
vectorised step. On host arrays the compiled kernels of ``pool_kernels.py`` run
where they measured faster: that scatter, max pooling's stride-1 forward, average pooling's stride-1
backward. Adaptive pools, ``max_unpool`` and ``lp_pool`` live in ``adaptive_pool.py``.
"""
import itertools
import math

from ember.backend import compiled
from ember.backend.dtype import bool_
from ember.ops import pool_kernels
from ember.ops._im2col import _windows, window_slices
from ember.ops.dispatch import Primitive, primitive
from ember.ops.dual import linear
from ember.ops.dual import differentiable
from ember.ops.registry import public


_WORDS = {1: "one", 2: "two", 3: "three"}


def as_tuple(value, n, name="kernel_size", op="max_pool"):
    """An int or a sequence as a tuple of ``n`` ints (a 1-element sequence is repeated)."""
    if isinstance(value, (tuple, list)):
        if len(value) == 1:
            return tuple(int(value[0]) for _ in range(n))
        if len(value) != n:
            omitted = " omitted," if name == "stride" else ""
            raise RuntimeError(f"{op}{n}d: {name} must either be{omitted} a single int, or a tuple of "
                               f"{_WORDS[n]} ints")
        return tuple(int(v) for v in value)
    return (int(value),) * n


def _out_size(size, k, s, p, d, ceil_mode):
    span = size + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1  # the last window must start inside the input or its left padding
    return out


def geometry(op, input, nd, kernel_size, stride, padding, dilation, ceil_mode):
    """Validated (kernel, stride, padding, dilation, out) tuples for a pool over the last ``nd`` dims."""
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(f"non-empty {nd + 1}D or {nd + 2}D (batch mode) tensor expected for input")
    if any(s == 0 for s in input.shape[-nd - 1:]):
        raise RuntimeError(f"Expected {nd + 1}D or {nd + 2}D (batch mode) tensor with optional 0 dim "
                           f"batch size for input, but got:{list(input.shape)}")
    family = op[:-2]
    k = as_tuple(kernel_size, nd, op=family)
    s = as_tuple(stride, nd, "stride", family) if stride is not None and stride != [] and stride != () else k
    p = as_tuple(padding, nd, "padding", family)
    d = as_tuple(dilation, nd, "dilation", family)
    if min(k) <= 0:
        raise RuntimeError(f"{op}: kernel_size must be greater than zero, but got {list(k)}")
    if min(s) <= 0:
        raise RuntimeError("stride should not be zero")
    if min(d) <= 0:
        got = " ".join(f"dilation{a}: {v}" for a, v in zip("THW"[-nd:], d))
        raise RuntimeError(f"dilation should be greater than zero, but got {got}")
    for ki, pi, di in zip(k, p, d):
        if pi < 0 or pi > (di * (ki - 1) + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got pad={pi}, "
                               f"kernel_size={ki} and dilation={di}")
    size = tuple(input.shape[-nd:])
    out = tuple(_out_size(*a, ceil_mode) for a in zip(size, k, s, p, d))
    if min(out) < 1:
        chans = input.shape[-nd - 1]
        raise RuntimeError(f"Given input size: ({'x'.join(map(str, (chans,) + size))}). Calculated output size: "
                           f"({'x'.join(map(str, (chans,) + out))}). Output size is too small")
    return k, s, p, d, out


def windows(xp, x, k, s, p, d, out, fill):
    """A function giving, for a kernel offset, the strided slice of (padded) ``x`` that it reads."""
    nd = len(k)
    size = x.shape[-nd:]
    right = [(o - 1) * st + di * (ki - 1) + 1 - sz - pi for o, st, di, ki, sz, pi in zip(out, s, d, k, size, p)]
    if any(p) or max(right) > 0:
        padded = xp.full(x.shape[:-nd] + tuple(pi + sz + max(r, 0) for pi, sz, r in zip(p, size, right)),
                         fill, dtype=x.dtype)
        padded[(..., *(slice(pi, pi + sz) for pi, sz in zip(p, size)))] = x
        x = padded
    return lambda offset: x[(..., *window_slices(offset, s, d, out))]


def offsets(k):
    return list(itertools.product(*(range(ki) for ki in k)))


def _fill_min(xp, dtype):
    return -xp.inf if dtype.kind == "f" else xp.iinfo(dtype).min


# scatter / gather of flat per-plane indices ------------------------------------------------


@primitive("MaxPool2DWithIndicesBackwardBackward0", save=(1,), name="plane_scatter")
def _plane_scatter(ctx, xp, v, idx, size, unique):
    """out[plane, idx] = v in planes of spatial ``size`` (summed where indices repeat unless ``unique``)."""
    ctx.size = size
    if compiled.usable(v, idx):
        return pool_kernels.plane_scatter(v, idx, size, accumulate=not unique)
    lead = v.shape[:v.ndim - len(size)]
    planes, n = math.prod(lead), math.prod(size)
    m = math.prod(v.shape[len(lead):])
    flat = (idx.reshape(planes, m) + (xp.arange(planes) * n)[:, None]).ravel()
    if unique:  # a put at flat positions: measured 2x faster than a 2-d fancy index
        out = xp.zeros(planes * n, dtype=v.dtype)
        out[flat] = v.ravel()
    else:
        out = xp.bincount(flat, weights=v.ravel(), minlength=planes * n).astype(v.dtype, copy=False)
    return out.reshape(lead + tuple(size))


@_plane_scatter.derivative
def _(ctx, g):
    (idx,) = ctx.saved_tensors
    return _gather(g, idx, nd=len(ctx.size)), None


def scatter(node):
    """The per-plane scatter recorded as ``node`` (max pooling's backward, max_unpool)."""
    return _plane_scatter.variant(node)


@primitive("GatherBackward0", save=(1,), name="plane_gather")
def _gather(ctx, xp, x, idx, nd):
    ctx.size = x.shape[x.ndim - nd:]
    planes = math.prod(x.shape[:x.ndim - nd])
    m = math.prod(idx.shape[x.ndim - nd:])
    picked = xp.take_along_axis(x.reshape(planes, math.prod(ctx.size)), idx.reshape(planes, m), axis=1)
    return picked.reshape(idx.shape)


@_gather.derivative
def _(ctx, g):
    (idx,) = ctx.saved_tensors
    node = f"MaxPool{len(ctx.size)}DWithIndicesBackwardBackward0"
    return scatter(node)(g, idx, size=ctx.size, unique=False), None


# max pooling -------------------------------------------------------------------------------


def _flat_base(xp, size, s, p, out):
    """The flat per-plane index of each output's window origin (kernel offset 0)."""
    base = 0
    stride = 1
    for i in range(len(size) - 1, -1, -1):
        pos = xp.arange(out[i]) * s[i] - p[i]
        base = base + (pos * stride).reshape((-1,) + (1,) * (len(size) - 1 - i))
        stride *= size[i]
    return base


def _running_max(xp, window, offs):
    """The elementwise maximum of the windows at ``offs``, one in-place pass each."""
    best = window(offs[0]).copy()
    for off in offs[1:]:
        xp.maximum(best, window(off), out=best)
    return best


def _flat_offsets(size, k, d):
    """Each kernel offset's flat per-plane distance from its window's origin."""
    flat = []
    for off in offsets(k):
        n, stride = 0, 1
        for i in range(len(k) - 1, -1, -1):
            n += off[i] * d[i] * stride
            stride *= size[i]
        flat.append(n)
    return flat


def _inside(xp, size, s, p, d, out, off):
    """Which windows read a real input element (not padding) at kernel offset ``off``; None if all do."""
    first = [o * di - pi for o, di, pi in zip(off, d, p)]
    if all(f >= 0 and f + (n - 1) * st < sz for f, n, st, sz in zip(first, out, s, size)):
        return None
    mask = True
    for i, (f, n, st, sz) in enumerate(zip(first, out, s, size)):
        pos = xp.arange(n) * st + f
        mask = mask & ((pos >= 0) & (pos < sz)).reshape((-1,) + (1,) * (len(size) - 1 - i))
    return mask


def _first_max_index(xp, window, inside, offs, flat, best, base, dtype):
    """Flat per-plane int64 index of each window's first real element equal to its maximum ``best`` (no NaN).

    Exactly one of "offset i is the first match" or "no earlier offset matched" holds per
    window, so the index is ``base + flat[-1] + sum(first_i * (flat[i] - flat[-1]))``:
    the last offset needs no compare and the result no separate offset array
    (with the stacked windows, max-pool 2x2 forward measured 2.4 -> 2.1 ms at (64, 32, 28, 28),
    1.4 -> 1.1 ms at (64, 64, 14, 14), against accumulating offsets and then adding the origins)."""
    found = None
    left = None
    for i, (off, n) in enumerate(zip(offs[:-1], flat[:-1])):
        hit = xp.equal(window(off), best)
        mask = inside(off)
        if mask is not None:
            hit &= mask
        if left is not None:
            hit &= left
        step = hit * dtype.type(n - flat[-1])
        found = step if found is None else xp.add(found, step, out=found)
        if i < len(offs) - 2:
            left = ~hit if left is None else xp.greater(left, hit, out=left)  # left & ~hit
    if found is None:
        return xp.broadcast_to(base + flat[-1], best.shape).astype(xp.int64)
    return xp.add(found, base + flat[-1], dtype=xp.int64)


def _scan(xp, window, inside, offs, flat, best, dtype):
    """The scan PyTorch does, for inputs with NaN: a later real element wins when larger or NaN."""
    found = xp.zeros(best.shape, dtype=dtype)
    left = xp.ones(best.shape, dtype=bool)
    for off, n in zip(offs, flat):
        v = window(off)
        take = (v > best) | (v != v) | left
        mask = inside(off)
        if mask is not None:
            take &= mask
        xp.copyto(best, v, where=take)
        xp.copyto(found, n, where=take)
        left &= ~take
    return best, found


def _stacked(xp, window, offs):
    """The windows copied into one contiguous (K, ...) stack, read through the same ``window(off)`` call.

    For non-overlapping windows the stack is no larger than the input, and its
    contiguous slices make the max and the compares ~5x cheaper than strided reads."""
    first = window(offs[0])
    stack = xp.empty((len(offs), *first.shape), dtype=first.dtype)
    for i, off in enumerate(offs):
        stack[i] = window(off)
    position = {off: i for i, off in enumerate(offs)}

    def read(off):
        return stack[position[off]]
    read.stack = stack
    return read


def _max_forward(ctx, xp, x, k, s, p, d, out):
    """Values and flat per-plane indices of each window's first maximum (NaN counts as the maximum)."""
    size = x.shape[-len(k):]
    ctx.size = size
    ctx.unique = all(st >= di * (ki - 1) + 1 for st, di, ki in zip(s, d, k))
    if _two_by_two(x, k, s, p, d, out):
        return pool_kernels.max_pool_2x2(x, out)
    if _kernel_dtype(x, s):
        return pool_kernels.max_pool(x, k, s, p, d, out)
    window = windows(xp, x, k, s, p, d, out, _fill_min(xp, x.dtype))
    offs, flat = offsets(k), _flat_offsets(size, k, d)
    if ctx.unique:
        window = _stacked(xp, window, offs)
        best = window.stack.max(axis=0)
    else:
        best = _running_max(xp, window, offs)
    dtype = xp.dtype(xp.int32 if math.prod(size) < 2**31 else xp.int64)
    inside = lambda off: _inside(xp, size, s, p, d, out, off)  # noqa: E731
    if x.dtype.kind == "f" and bool(xp.isnan(best).any()):
        best, found = _scan(xp, window, inside, offs, flat, best, dtype)
        idx = _flat_base(xp, size, s, p, out) + found.astype(xp.int64)
    else:
        idx = _first_max_index(xp, window, inside, offs, flat, best, _flat_base(xp, size, s, p, out), dtype)
    return best, idx


def _kernel_dtype(x, s):
    """Whether the compiled max-pool kernel runs on ``x`` (host floats and integers) with strides ``s``.

    Only windows one column apart: its inner loop then reads contiguous input and vectorises (3x3 stride 1
    forward at (64, 32, 28, 28) measured 25 -> 8.5 ms on one thread); with larger strides NumPy's stacked
    or strided whole-array passes measured as fast or faster (2x2 stride 2: 2.3 ms either way)."""
    return s[-1] == 1 and compiled.usable(x) and x.dtype.kind in "fiu"


def _two_by_two(x, k, s, p, d, out):
    """Whether the 2x2, stride-2 max-pool kernel runs: 2-d windows of that shape, no padding or dilation, every
    window inside ``x``, host floats or integers."""
    return (tuple(k) == (2, 2) and tuple(s) == (2, 2) and not any(p) and tuple(d) == (1, 1)
            and 2 * out[0] <= x.shape[-2] and 2 * out[1] <= x.shape[-1] and compiled.usable(x) and x.dtype.kind in "fiu")


def _max_derivative(ctx, g, _):
    (_, idx) = ctx.saved_tensors
    node = f"MaxPool{len(ctx.size)}DWithIndicesBackwardBackward0"
    return scatter(node)(g, idx, size=ctx.size, unique=ctx.unique)


max_pool2d_with_indices = Primitive(_max_forward, "MaxPool2DWithIndicesBackward0", save_output=True, name="max_pool")
max_pool2d_with_indices.derivative(_max_derivative)
max_pool3d_with_indices = max_pool2d_with_indices.variant("MaxPool3DWithIndicesBackward0")


@primitive("MaxPoolValues")
def _max_pool_values(ctx, xp, x, k, s, p, d, out):
    """The values alone, for inputs that need no gradient (no index bookkeeping)."""
    if _two_by_two(x, k, s, p, d, out):
        return pool_kernels.max_pool_2x2(x, out)[0]
    if _kernel_dtype(x, s):
        return pool_kernels.max_pool(x, k, s, p, d, out)[0]
    return _running_max(xp, windows(xp, x, k, s, p, d, out, _fill_min(xp, x.dtype)), offsets(k))


def _lift(value, lead):
    """A 1-d pool argument as the 2-d one of the (1, L) plane it runs on."""
    return value if value is None or value == () or value == [] else (lead, *as_tuple(value, 1))


def _as_planes(op, input):
    """A 1-d pool's (N, C, L) or (C, L) input, checked as torch does, as the (1, L) planes it runs on."""
    if input.dim() not in (2, 3) or 0 in input.shape[-2:]:
        raise RuntimeError(f"{op}: Expected 2D or 3D (batch mode) tensor with optional 0 dim batch "
                           f"size for input, but got:{list(input.shape)}")
    return input.unsqueeze(-2)


def _max_pool(nd, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    op = f"max_pool{nd}d"
    squeeze = nd == 1
    if squeeze:
        input = _as_planes(op, input)
        kernel_size, stride, dilation = (_lift(v, 1) for v in (kernel_size, stride, dilation))
        padding = _lift(padding, 0)
        nd = 2
    k, s, p, d, out = geometry(op, input, nd, kernel_size, stride, padding, dilation, ceil_mode)
    if not return_indices and not differentiable(input):
        values = _max_pool_values(input, k=k, s=s, p=p, d=d, out=out)
        return values.squeeze(-2) if squeeze else values
    prim = max_pool2d_with_indices if nd == 2 else max_pool3d_with_indices
    values, idx = prim(input, k=k, s=s, p=p, d=d, out=out)
    if squeeze:
        values, idx = values.squeeze(-2), idx.squeeze(-2)
    return (values, idx) if return_indices else values


@public(method=False)
def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over sliding windows of the last dim: ``ember.max_pool1d(ember.arange(4.).view(1, 4), 2)`` -> ``[[1., 3.]]``."""
    return _max_pool(1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


@public(method=False)
def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over sliding 2-d windows of (N, C, H, W) or (C, H, W): ``ember.max_pool2d(x, 2)``."""
    return _max_pool(2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


@public(method=False)
def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over sliding 3-d windows of (N, C, D, H, W) or (C, D, H, W): ``ember.max_pool3d(x, 2)``."""
    return _max_pool(3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


# average pooling ---------------------------------------------------------------------------


def _divisor(xp, dtype, size, k, s, p, out, count_include_pad, divisor_override):
    """Each window's divisor: its size clipped to the padded input, or to the input alone."""
    if divisor_override:
        return divisor_override
    div = 1
    for i in range(len(k)):
        start = xp.arange(out[i]) * s[i] - p[i]
        end = xp.minimum(start + k[i], size[i] + p[i])
        n = end - start if count_include_pad else xp.minimum(end, size[i]) - xp.maximum(start, 0)
        div = div * n.reshape((-1,) + (1,) * (len(k) - 1 - i))
    return div.astype(dtype)


def _avg_forward(ctx, xp, x, k, s, p, out, include_pad, override):
    ctx.geom = k, s, p, out, include_pad, override
    ctx.size = x.shape[-len(k):]
    window = windows(xp, x, k, s, p, (1,) * len(k), out, 0)
    offs = offsets(k)
    acc = window(offs[0]).copy()
    for off in offs[1:]:
        acc += window(off)
    div = _divisor(xp, x.dtype, ctx.size, k, s, p, out, include_pad, override)
    if x.dtype.kind == "f":
        acc /= div
        return acc
    q = xp.abs(acc) // div  # integers: the quotient truncated toward zero, as in C
    return xp.where(acc < 0, -q, q)


def _avg_adjoint(ctx, xp, g, size, k, s, p, out, include_pad, override):
    """The transpose of average pooling: each window's share of ``g`` added back over the window."""
    ctx.geom = k, s, p, out, include_pad, override
    if s[-1] == 1 and compiled.usable(g) and g.dtype.kind == "f":  # other strides: NumPy measured as fast
        return pool_kernels.avg_pool_adjoint(g, size, k, s, p, include_pad, override)
    nd = len(k)
    share = g / _divisor(xp, g.dtype, size, k, s, p, out, include_pad, override)
    full = tuple(max(pi + sz, (o - 1) * st + ki) for pi, sz, o, st, ki in zip(p, size, out, s, k))
    acc = xp.zeros(g.shape[:g.ndim - nd] + full, dtype=g.dtype)
    for win in _windows(k, s, (1,) * nd, out):
        acc[(..., *win)] += share
    return acc[(..., *(slice(pi, pi + sz) for pi, sz in zip(p, size)))].copy()


def _geom_params(geom):
    return dict(zip(("k", "s", "p", "out", "include_pad", "override"), geom))


_avg_pool_prim = Primitive(_avg_forward, "AvgPool2DBackward0", name="avg_pool")
_avg_adjoint_prim = Primitive(_avg_adjoint, "AvgPool2DBackwardBackward0")
_avg_pool_prim.derivative(
    lambda ctx, g: _avg_adjoint_prim.variant(f"AvgPool{len(ctx.geom[0])}DBackwardBackward0")(
        g, size=ctx.size, **_geom_params(ctx.geom)))
_avg_adjoint_prim.derivative(
    lambda ctx, g: _avg_pool_prim.variant(f"AvgPool{len(ctx.geom[0])}DBackward0")(g, **_geom_params(ctx.geom)))
avg_pool2d_prim = _avg_pool_prim
avg_pool3d_prim = _avg_pool_prim.variant("AvgPool3DBackward0")


def _avg_pool(nd, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    op = f"avg_pool{nd}d"
    squeeze = nd == 1
    if squeeze:
        input = _as_planes(op, input)
        kernel_size, stride, padding = _lift(kernel_size, 1), _lift(stride, 1), _lift(padding, 0)
        nd = 2
    if input.dtype == bool_:
        raise RuntimeError(f'"{op}" not implemented for \'{input.type()[6:-6]}\'')
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    k, s, p, _, out = geometry(op, input, nd, kernel_size, stride, padding, 1, ceil_mode)
    prim = avg_pool2d_prim if nd == 2 else avg_pool3d_prim
    y = prim(input, k=k, s=s, p=p, out=out, include_pad=count_include_pad, override=divisor_override)
    return y.squeeze(-2) if squeeze else y


@public(method=False)
def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Mean over sliding windows of the last dim: ``ember.avg_pool1d(ember.arange(4.).view(1, 4), 2)`` -> ``[[.5, 2.5]]``."""
    return _avg_pool(1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean over sliding 2-d windows of (N, C, H, W) or (C, H, W): ``ember.avg_pool2d(x, 2)``."""
    return _avg_pool(2, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean over sliding 3-d windows of (N, C, D, H, W) or (C, D, H, W): ``ember.avg_pool3d(x, 2)``."""
    return _avg_pool(3, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)

# forward-mode rules (run by ember.ops.dual) --------------------------------------------------

for _prim in (_plane_scatter, _gather, _avg_pool_prim, _avg_adjoint_prim):
    _prim.jvp(linear())


def max_with_indices_jvp(j):
    """Max pools: the tangent at each window's picked position."""
    return _gather(j.tangents[0], j.out[1], nd=len(j.ctx.size)), None


max_pool2d_with_indices.jvp(max_with_indices_jvp)
