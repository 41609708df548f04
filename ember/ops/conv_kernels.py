"""Compiled CPU kernels of depthwise-like convolutions (``_im2col.py``): direct loops over NCHW, no im2col.

They serve grouped convolutions where each output channel reads one input channel (depthwise, any
channel multiplier) or each input channel feeds one output channel (their input gradients), where the
general path's GEMMs are matrix-vector products (~60x slower than these loops at 128 channels, 3x3).
A group has ``gi`` input and ``go`` output channels; output channel ``oc`` reads input channels
``(oc // go) * gi + m`` for ``m < gi``. Arrays are viewed with three spatial dims (1-d and 2-d ones
padded with size-1 dims in front).

Each plane is first split into its stride's phases: phase ``r`` of the zero-padded plane holds the
positions ``r + stride * t`` (one phase when the stride is 1). A kernel tap then reads (or, transposed,
writes) one phase at a fixed offset, so every tap is one long contiguous loop over a whole plane laid
out in rows of the phase's width, whose few extra columns per row are computed and dropped: no bounds
tests and no short rows, which is what lets the loops vectorise (3x3 at 28x28: ~4x faster than a loop
per output row).

The forward and the transposed convolution run one (image, output channel) plane per step and the
weight gradient one output channel per step (its images summed in order, in float64), so each output
element has one writer and the bits do not depend on the thread count.

At the end, ``col2im``: the scatter-add of the general (groups 1) input gradient, one image per step.
This module imports numba: ``_im2col.py`` imports it only once ``compiled.usable`` said yes.
"""
import math

import numba
import numpy as np

from ember.backend import compiled

_JIT = {"nogil": True, "cache": True, "error_model": "numpy"}


@numba.njit(**_JIT)
def _layout(shape, low, s, q):
    """Where plane positions go in the stride phases, worked out once per block of planes so that the copies
    do no integer division (at 28x28 the divisions per row took as long as the copy): per row (z, y) the
    first phase of its column phases and the row's start in it; per column phase its first source column,
    its first position and how many columns it holds."""
    rows = np.empty((shape[0] * shape[1], 2), np.int64)
    for z in range(shape[0]):
        for y in range(shape[1]):
            pz, py = z + low[0], y + low[1]
            rows[z * shape[1] + y, 0] = ((pz % s[0]) * s[1] + py % s[1]) * s[2]
            rows[z * shape[1] + y, 1] = ((pz // s[0]) * q[1] + py // s[1]) * q[2]
    columns = np.empty((3, s[2]), np.int64)
    for r in range(s[2]):
        columns[0, r] = (r - low[2]) % s[2]
        columns[1, r] = (columns[0, r] + low[2]) // s[2]
        columns[2, r] = (shape[2] - columns[0, r] + s[2] - 1) // s[2]
    return rows, columns


@numba.njit(**_JIT)
def _split(src, rows, columns, phases):
    """Write plane ``src`` (D, H, W) into its stride phases (``phases[r]`` a flat (Q0, Q1, Q2) plane) as
    ``_layout`` placed it. Only the plane's own positions are written: the rest keeps its zeros. Unit and
    pair column strides have loop nests of their own (a loop per phase over rows of 14 ran 3x slower)."""
    width, step = src.shape[2], columns.shape[1]
    flat = src.reshape(rows.shape[0], width)
    if step == 1:
        for i in range(rows.shape[0]):
            row, dst = flat[i], phases[rows[i, 0], rows[i, 1] + columns[1, 0]:]
            for t in range(width):
                dst[t] = row[t]
    elif step == 2:
        even = 0 if columns[0, 0] == 0 else 1  # the phase of the even columns
        for i in range(rows.shape[0]):
            row = flat[i]
            dst_even = phases[rows[i, 0] + even, rows[i, 1] + columns[1, even]:]
            dst_odd = phases[rows[i, 0] + 1 - even, rows[i, 1] + columns[1, 1 - even]:]
            for t in range(width // 2):
                dst_even[t] = row[2 * t]
                dst_odd[t] = row[2 * t + 1]
            if width % 2:
                dst_even[width // 2] = row[width - 1]
    else:
        for i in range(rows.shape[0]):
            for r in range(step):
                dst = phases[rows[i, 0] + r, rows[i, 1] + columns[1, r]:]
                row = flat[i, columns[0, r]:]  # indexed from 0: no negative-index test
                for t in range(columns[2, r]):
                    dst[t] = row[t * step]


@numba.njit(**_JIT)
def _merge(phases, rows, columns, bias, dst):
    """``_split`` backwards: plane ``dst`` (D, H, W) = ``bias`` + its positions read from the phases."""
    width, step = dst.shape[2], columns.shape[1]
    flat = dst.reshape(rows.shape[0], width)
    if step == 1:
        for i in range(rows.shape[0]):
            row, src = flat[i], phases[rows[i, 0], rows[i, 1] + columns[1, 0]:]
            for t in range(width):
                row[t] = src[t] + bias
    elif step == 2:
        even = 0 if columns[0, 0] == 0 else 1
        for i in range(rows.shape[0]):
            row = flat[i]
            src_even = phases[rows[i, 0] + even, rows[i, 1] + columns[1, even]:]
            src_odd = phases[rows[i, 0] + 1 - even, rows[i, 1] + columns[1, 1 - even]:]
            for t in range(width // 2):
                row[2 * t] = src_even[t] + bias
                row[2 * t + 1] = src_odd[t] + bias
            if width % 2:
                row[width - 1] = src_even[width // 2] + bias
    else:
        for i in range(rows.shape[0]):
            for r in range(step):
                src = phases[rows[i, 0] + r, rows[i, 1] + columns[1, r]:]
                row = flat[i, columns[0, r]:]
                for t in range(columns[2, r]):
                    row[t * step] = src[t] + bias


@numba.njit(fastmath={"reassoc"}, **_JIT)
def _dot(a, b):
    """Dot product in the arrays' dtype, reassociated so that it vectorises (one order, fixed when compiled):
    a float64 one (``row_math.row_dot``) took half again as long at 28x28; the caller sums these in float64."""
    total = a.dtype.type(0)
    for j in range(a.shape[0]):
        total += a[j] * b[j]
    return total


@numba.njit(**_JIT)
def _tap(i, j, k, d, s, q):
    """(phase, flat offset) that kernel tap (i, j, k) reads for output 0."""
    a, b, c = i * d[0], j * d[1], k * d[2]
    return ((a % s[0]) * s[1] + b % s[1]) * s[2] + c % s[2], ((a // s[0]) * q[1] + b // s[1]) * q[2] + c // s[2]


def _span(sizes, q):
    """Flat length that covers ``sizes`` positions laid out in rows of the phase plane ``q``."""
    return ((sizes[0] - 1) * q[1] + sizes[1] - 1) * q[2] + sizes[2]


@compiled.kernel
def _conv_planes(lo, hi, x, w, bias, out, s, p, d, q, gi, go):
    """``out[n, oc] = bias[oc] + sum over m, taps of w[oc, m, tap] * x[n, c(oc, m), window(tap)]``."""
    cin, cout = x.shape[1], out.shape[1]
    kd, kh, kw = w.shape[2], w.shape[3], w.shape[4]
    od_n, oh_n, ow_n = out.shape[2], out.shape[3], out.shape[4]
    span = ((od_n - 1) * q[1] + oh_n - 1) * q[2] + ow_n
    phases = np.zeros((s[0] * s[1] * s[2], q[0] * q[1] * q[2]), x.dtype)
    acc = np.empty(span, x.dtype)
    rows, columns = _layout(x.shape[2:], p, s, q)
    held = -1
    for plane in range(lo, hi):
        n, oc = plane // cout, plane % cout
        acc[:] = bias[oc]
        for m in range(gi):
            c = (oc // go) * gi + m
            if n * cin + c != held:  # channel multipliers: consecutive planes read the same input plane
                _split(x[n, c], rows, columns, phases)
                held = n * cin + c
            for i in range(kd):
                for j in range(kh):
                    fused = kw - kw % 3
                    for k in range(0, fused, 3):  # three taps per pass over the plane: a third of the passes
                        r0, o0 = _tap(i, j, k, d, s, q)
                        r1, o1 = _tap(i, j, k + 1, d, s, q)
                        r2, o2 = _tap(i, j, k + 2, d, s, q)
                        w0, w1, w2 = w[oc, m, i, j, k], w[oc, m, i, j, k + 1], w[oc, m, i, j, k + 2]
                        a, b, e = phases[r0, o0:o0 + span], phases[r1, o1:o1 + span], phases[r2, o2:o2 + span]
                        for t in range(span):
                            acc[t] += w0 * a[t] + w1 * b[t] + w2 * e[t]
                    for k in range(fused, kw):
                        r, off = _tap(i, j, k, d, s, q)
                        wv = w[oc, m, i, j, k]
                        src = phases[r, off:off + span]
                        for t in range(span):
                            acc[t] += wv * src[t]
        o = out[n, oc]
        for od in range(od_n):
            for oh in range(oh_n):
                row = acc[(od * q[1] + oh) * q[2]:]
                orow = o[od, oh]
                for ow in range(ow_n):
                    orow[ow] = row[ow]


@compiled.kernel
def _conv_transpose_planes(lo, hi, x, w, bias, out, s, p, d, q, gi, go):
    """Transposed convolution, weight (Cin, go, *K): each input plane of ``out[n, oc]`` is laid out in rows
    of the phase width and added, once per tap, into the phase and offset the tap writes; the phases of the
    uncropped plane are then read back, cropped by the padding."""
    cout = out.shape[1]
    kd, kh, kw = w.shape[2], w.shape[3], w.shape[4]
    size = q[0] * q[1] * q[2]
    span = ((x.shape[2] - 1) * q[1] + x.shape[3] - 1) * q[2] + x.shape[4]
    src = np.zeros((1, size), x.dtype)
    acc = np.empty((s[0] * s[1] * s[2], size), x.dtype)
    ones, zeros = np.ones(3, np.int64), np.zeros(3, np.int64)
    rows, columns = _layout(x.shape[2:], zeros, ones, q)  # rows of the phase width
    out_rows, out_columns = _layout(out.shape[2:], p, s, q)
    for plane in range(lo, hi):
        n, oc = plane // cout, plane % cout
        acc[:] = 0
        for m in range(gi):
            c = (oc // go) * gi + m
            _split(x[n, c], rows, columns, src)  # the extra columns stay zero
            flat = src[0, :span]
            for i in range(kd):
                for j in range(kh):
                    for k in range(kw):
                        r, off = _tap(i, j, k, d, s, q)
                        wv = w[c, oc % go, i, j, k]
                        dst = acc[r, off:off + span]
                        for t in range(span):
                            dst[t] += wv * flat[t]
        _merge(acc, out_rows, out_columns, bias[oc], out[n, oc])


@compiled.kernel
def _weight_grad_channels(lo, hi, x, g, gw, s, p, d, q, gi, go):
    """``gw[oc, m, tap] = sum over images and outputs of g[n, oc] * x[n, c(oc, m), window(tap)]``: for each
    image, the output gradient laid out in rows of the phase width (zeros in the extra columns) dotted with
    the phase and offset that each tap reads. Images are the outer loop so that the block's planes are read
    in memory order (one image's channels after another: 2x faster at 28x28 than a channel's images);
    each weight still sums its images in order."""
    kd, kh, kw = gw.shape[2], gw.shape[3], gw.shape[4]
    size = q[0] * q[1] * q[2]
    span = ((g.shape[2] - 1) * q[1] + g.shape[3] - 1) * q[2] + g.shape[4]
    phases = np.zeros((s[0] * s[1] * s[2], size), x.dtype)
    grad = np.zeros((1, size), x.dtype)
    acc = np.zeros((hi - lo, gi, kd, kh, kw))
    ones, zeros = np.ones(3, np.int64), np.zeros(3, np.int64)
    x_rows, x_columns = _layout(x.shape[2:], p, s, q)
    g_rows, g_columns = _layout(g.shape[2:], zeros, ones, q)
    for n in range(x.shape[0]):
        for oc in range(lo, hi):
            _split(g[n, oc], g_rows, g_columns, grad)
            flat = grad[0, :span]
            for m in range(gi):
                _split(x[n, (oc // go) * gi + m], x_rows, x_columns, phases)
                for i in range(kd):
                    for j in range(kh):
                        for k in range(kw):
                            r, off = _tap(i, j, k, d, s, q)
                            acc[oc - lo, m, i, j, k] += _dot(flat, phases[r, off:off + span])
    for oc in range(lo, hi):
        for m in range(gi):
            for i in range(kd):
                for j in range(kh):
                    for k in range(kw):
                        gw[oc, m, i, j, k] = acc[oc - lo, m, i, j, k]


def _five(a):
    """``a`` (N, C, *S) as a C-contiguous (N, C, D, H, W), missing spatial dims of size 1 in front."""
    return np.ascontiguousarray(a).reshape(a.shape[:2] + (1,) * (5 - a.ndim) + a.shape[2:])


def _three(values, fill):
    return np.array((fill,) * (3 - len(values)) + tuple(values), dtype=np.int64)


def _phase_sizes(sizes, stride):
    """Sizes (Q0, Q1, Q2) of a stride phase of a plane of ``sizes``."""
    return _three([-(-a // s) for a, s in zip(sizes, stride)], 1)


def _bias(b, n, dtype):
    return np.zeros(n, dtype) if b is None else np.ascontiguousarray(b, dtype=dtype)


def conv(x, w, b, stride, padding, dilation, groups, out_size):
    """Grouped convolution (N, C, *S) * (Cout, C/G, *K) -> (N, Cout, *out_size) by direct loops."""
    n, cout, gi = x.shape[0], w.shape[0], w.shape[1]
    q = _phase_sizes([a + 2 * p for a, p in zip(x.shape[2:], padding)], stride)
    out = np.empty((n, cout) + tuple(_three(out_size, 1)), x.dtype)
    compiled.parallel_rows(_conv_planes, n * cout, math.prod(out_size) * math.prod(w.shape[1:]), _five(x), _five(w),
         _bias(b, cout, x.dtype), out, _three(stride, 1), _three(padding, 0), _three(dilation, 1), q, gi,
         cout // groups)
    return out.reshape((n, cout) + tuple(out_size))


def conv_transpose(x, w, b, stride, padding, dilation, groups, out_size, full):
    """Grouped transposed convolution (N, Cin, *I) * (Cin, Cout/G, *K) -> (N, Cout, *out_size); ``full`` is
    the uncropped size that every tap's writes fit in."""
    n, cin, go = x.shape[0], x.shape[1], w.shape[1]
    cout = go * groups
    out = np.empty((n, cout) + tuple(_three(out_size, 1)), x.dtype)
    compiled.parallel_rows(_conv_transpose_planes, n * cout, math.prod(x.shape[2:]) * math.prod(w.shape[2:]) * (cin // groups),
         _five(x), _five(w), _bias(b, cout, x.dtype), out, _three(stride, 1), _three(padding, 0),
         _three(dilation, 1), _phase_sizes(full, stride), cin // groups, go)
    return out.reshape((n, cout) + tuple(out_size))


def weight_grad(x, g, kernel, stride, padding, dilation, groups):
    """Weight gradient (Cout, C/G, *K) of a grouped convolution of ``x`` with output gradient ``g``."""
    cout, gi = g.shape[1], x.shape[1] // groups
    q = _phase_sizes([a + 2 * p for a, p in zip(x.shape[2:], padding)], stride)
    gw = np.empty((cout, gi) + tuple(_three(kernel, 1)), x.dtype)
    compiled.parallel_rows(_weight_grad_channels, cout, x.shape[0] * math.prod(g.shape[2:]) * math.prod(kernel) * gi, _five(x),
         _five(g), gw, _three(stride, 1), _three(padding, 0), _three(dilation, 1), q, gi, cout // groups)
    return gw.reshape((cout, gi) + tuple(kernel))


# col2im of the general (groups 1) transposed convolution and input gradient -----------------------


@compiled.kernel
def _col2im_images(lo, hi, prod, buf, s, d):
    """``buf[n, window(tap)] += prod[n, ..., tap, :]`` for the images in ``[lo, hi)``, taps in order (the NumPy
    path's order), each tap's rows of ``Cout`` channels added while the image's ``buf`` is in cache."""
    kd, kh, kw = prod.shape[4], prod.shape[5], prod.shape[6]
    for n in range(lo, hi):
        for i in range(kd):
            for j in range(kh):
                for k in range(kw):
                    for z in range(prod.shape[1]):
                        for y in range(prod.shape[2]):
                            src = prod[n, z, y]
                            dst = buf[n, z * s[0] + i * d[0], y * s[1] + j * d[1]]
                            for x in range(prod.shape[3]):
                                out = dst[x * s[2] + k * d[2]]
                                part = src[x, i, j, k]
                                for c in range(part.shape[0]):
                                    out[c] += part[c]


def col2im(prod, buf, stride, dilation):
    """Add ``prod`` (n, *S, *K, Cout), every input position's product with every kernel tap, into the windows
    of ``buf`` (n, *full, Cout), both C-contiguous; ``buf`` is updated in place."""
    n, nd, cout = prod.shape[0], buf.ndim - 2, prod.shape[-1]
    sizes, kernel = prod.shape[1:1 + nd], prod.shape[1 + nd:1 + 2 * nd]
    lead = (1,) * (3 - nd)
    compiled.parallel_rows(_col2im_images, n, prod[0].size, prod.reshape((n,) + lead + sizes + lead + kernel + (cout,)),
         buf.reshape((n,) + lead + buf.shape[1:]), _three(stride, 1), _three(dilation, 1))
