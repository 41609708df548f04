"""Compiled CPU kernels of depthwise-like convolutions (``_im2col.py``): direct loops over NCHW, no im2col.

They serve grouped convolutions where each output channel reads one input channel (depthwise, any
channel multiplier) or each input channel feeds one output channel (their input gradients), where the
general path's GEMMs are matrix-vector products (~50x slower than these loops at 128 channels, 3x3).
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
weight gradient one output channel per step (every image in order, in float64), so each output
element has one writer and the bits do not depend on the thread count.
Imported by ``_im2col.py`` only once ``compiled.usable`` said yes (``row_math`` imports numba).
"""
import math

import numba
import numpy as np

from ember.backend import compiled

_JIT = {"nogil": True, "cache": True, "error_model": "numpy"}


@numba.njit(**_JIT)
def _columns(width, low, s):
    """For each column phase of rows of ``width`` shifted by ``low``: its first source column, its first
    column in the phase, and how many it holds (``_split``'s table, made once per block of planes)."""
    table = np.empty((3, s), np.int64)
    for r in range(s):
        table[0, r] = (r - low) % s
        table[1, r] = (table[0, r] + low) // s
        table[2, r] = (width - table[0, r] + s - 1) // s
    return table


@numba.njit(**_JIT)
def _split(src, low, s, q, columns, phases):
    """Write plane ``src`` (D, H, W), shifted by ``low``, into its stride phases: ``phases[r]`` is a flat
    (Q0, Q1, Q2) = ``q`` plane. Only the plane's own positions are written: the rest keeps its zeros.
    No divisions or allocations per plane or row, and the unit column stride in a loop nest of its own:
    at 28x28 each of these had doubled the copy's time."""
    if s[2] == 1:
        _split_rows(src, low, s, q, phases)
    elif s[2] == 2:
        _split_pairs(src, low, s, q, phases)
    else:
        _split_columns(src, low, s, q, columns, phases)


@numba.njit(**_JIT)
def _split_rows(src, low, s, q, phases):
    """``_split`` for a unit column stride: each row is one contiguous copy."""
    rz, qz = low[0] % s[0], low[0] // s[0]  # phase and position in it of the plane's row (z, y)
    for z in range(src.shape[0]):
        ry, qy = low[1] % s[1], low[1] // s[1]
        for y in range(src.shape[1]):
            row = src[z, y]
            dst = phases[rz * s[1] + ry, (qz * q[1] + qy) * q[2] + low[2]:]
            for t in range(row.shape[0]):
                dst[t] = row[t]
            ry += 1
            if ry == s[1]:
                ry, qy = 0, qy + 1
        rz += 1
        if rz == s[0]:
            rz, qz = 0, qz + 1


@numba.njit(**_JIT)
def _split_pairs(src, low, s, q, phases):
    """``_split`` for a column stride of two: one loop over column pairs, even and odd columns to their phase
    rows (a loop per phase ran 3x slower at 28x28: rows of 14 are too short for its vector loop)."""
    width = src.shape[2]
    even, odd = low[2] % 2, (low[2] + 1) % 2  # the phases of columns 0 and 1, and their first positions
    at_even, at_odd = low[2] // 2, (low[2] + 1) // 2
    rz, qz = low[0] % s[0], low[0] // s[0]
    for z in range(src.shape[0]):
        ry, qy = low[1] % s[1], low[1] // s[1]
        for y in range(src.shape[1]):
            row = src[z, y]
            phase, at = (rz * s[1] + ry) * 2, (qz * q[1] + qy) * q[2]
            dst_even = phases[phase + even, at + at_even:]
            dst_odd = phases[phase + odd, at + at_odd:]
            for t in range(width // 2):
                dst_even[t] = row[2 * t]
                dst_odd[t] = row[2 * t + 1]
            if width % 2:
                dst_even[width // 2] = row[width - 1]
            ry += 1
            if ry == s[1]:
                ry, qy = 0, qy + 1
        rz += 1
        if rz == s[0]:
            rz, qz = 0, qz + 1


@numba.njit(**_JIT)
def _split_columns(src, low, s, q, columns, phases):
    """``_split`` for a column stride above two: columns ``first + s[2] * t`` go to their phase's row."""
    step = s[2]
    rz, qz = low[0] % s[0], low[0] // s[0]
    for z in range(src.shape[0]):
        ry, qy = low[1] % s[1], low[1] // s[1]
        for y in range(src.shape[1]):
            row = src[z, y]
            phase, at = (rz * s[1] + ry) * step, (qz * q[1] + qy) * q[2]
            for r in range(step):
                dst = phases[phase + r, at + columns[1, r]:]
                src_row = row[columns[0, r]:]  # indexed from 0: no negative-index test, so it vectorises
                for t in range(columns[2, r]):
                    dst[t] = src_row[t * step]
            ry += 1
            if ry == s[1]:
                ry, qy = 0, qy + 1
        rz += 1
        if rz == s[0]:
            rz, qz = 0, qz + 1


@numba.njit(**_JIT)
def _merge(phases, low, s, q, columns, bias, dst):
    """``_split`` backwards: plane ``dst`` (D, H, W) = ``bias`` + its positions, shifted by ``low``, read
    from the stride phases."""
    rz, qz = low[0] % s[0], low[0] // s[0]
    for z in range(dst.shape[0]):
        ry, qy = low[1] % s[1], low[1] // s[1]
        for y in range(dst.shape[1]):
            row = dst[z, y]
            phase, at = (rz * s[1] + ry) * s[2], (qz * q[1] + qy) * q[2]
            if s[2] == 1:
                src = phases[phase, at + low[2]:]
                for t in range(row.shape[0]):
                    row[t] = src[t] + bias
            else:
                for r in range(s[2]):
                    src = phases[phase + r, at + columns[1, r]:]
                    first = columns[0, r]
                    for t in range(columns[2, r]):
                        row[first + t * s[2]] = src[t] + bias
            ry += 1
            if ry == s[1]:
                ry, qy = 0, qy + 1
        rz += 1
        if rz == s[0]:
            rz, qz = 0, qz + 1


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
    columns = _columns(x.shape[4], p[2], s[2])
    held = -1
    for plane in range(lo, hi):
        n, oc = plane // cout, plane % cout
        acc[:] = bias[oc]
        for m in range(gi):
            c = (oc // go) * gi + m
            if n * cin + c != held:  # channel multipliers: consecutive planes read the same input plane
                _split(x[n, c], p, s, q, columns, phases)
                held = n * cin + c
            for i in range(kd):
                for j in range(kh):
                    for k in range(kw):
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
    columns, out_columns = _columns(x.shape[4], 0, 1), _columns(out.shape[4], p[2], s[2])
    for plane in range(lo, hi):
        n, oc = plane // cout, plane % cout
        acc[:] = 0
        for m in range(gi):
            c = (oc // go) * gi + m
            _split(x[n, c], zeros, ones, q, columns, src)  # rows of the phase width, the extra columns zero
            flat = src[0, :span]
            for i in range(kd):
                for j in range(kh):
                    for k in range(kw):
                        r, off = _tap(i, j, k, d, s, q)
                        wv = w[c, oc % go, i, j, k]
                        dst = acc[r, off:off + span]
                        for t in range(span):
                            dst[t] += wv * flat[t]
        _merge(acc, p, s, q, out_columns, bias[oc], out[n, oc])


@compiled.kernel
def _weight_grad_channels(lo, hi, x, g, gw, s, p, d, q, gi, go):
    """``gw[oc, m, tap] = sum over images and outputs of g[n, oc] * x[n, c(oc, m), window(tap)]``: for each
    image, the output gradient laid out in rows of the phase width (zeros in the extra columns) dotted with
    the phase and offset that each tap reads. Images are the outer loop so that the block's planes are read
    in memory order (one image's channels after another: 1.7x faster at 28x28 than a channel's images);
    each weight still sums its images in order."""
    kd, kh, kw = gw.shape[2], gw.shape[3], gw.shape[4]
    size = q[0] * q[1] * q[2]
    span = ((g.shape[2] - 1) * q[1] + g.shape[3] - 1) * q[2] + g.shape[4]
    phases = np.zeros((s[0] * s[1] * s[2], size), x.dtype)
    grad = np.zeros((1, size), x.dtype)
    acc = np.zeros((hi - lo, gi, kd, kh, kw))
    ones, zeros = np.ones(3, np.int64), np.zeros(3, np.int64)
    x_columns, g_columns = _columns(x.shape[4], p[2], s[2]), _columns(g.shape[4], 0, 1)
    for n in range(x.shape[0]):
        for oc in range(lo, hi):
            _split(g[n, oc], zeros, ones, q, g_columns, grad)
            flat = grad[0, :span]
            for m in range(gi):
                _split(x[n, (oc // go) * gi + m], p, s, q, x_columns, phases)
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


def _run(kernel, n, work_per_row, *args):
    compiled.parallel(kernel, n, *args, min_rows_per_thread=compiled.rows_per_thread(work_per_row))


def conv(x, w, b, stride, padding, dilation, groups, out_size):
    """Grouped convolution (N, C, *S) * (Cout, C/G, *K) -> (N, Cout, *out_size) by direct loops."""
    n, cout, gi = x.shape[0], w.shape[0], w.shape[1]
    q = _phase_sizes([a + 2 * p for a, p in zip(x.shape[2:], padding)], stride)
    out = np.empty((n, cout) + tuple(_three(out_size, 1)), x.dtype)
    _run(_conv_planes, n * cout, math.prod(out_size) * math.prod(w.shape[1:]), _five(x), _five(w),
         _bias(b, cout, x.dtype), out, _three(stride, 1), _three(padding, 0), _three(dilation, 1), q, gi,
         cout // groups)
    return out.reshape((n, cout) + tuple(out_size))


def conv_transpose(x, w, b, stride, padding, dilation, groups, out_size, full):
    """Grouped transposed convolution (N, Cin, *I) * (Cin, Cout/G, *K) -> (N, Cout, *out_size); ``full`` is
    the uncropped size that every tap's writes fit in."""
    n, cin, go = x.shape[0], x.shape[1], w.shape[1]
    cout = go * groups
    out = np.empty((n, cout) + tuple(_three(out_size, 1)), x.dtype)
    _run(_conv_transpose_planes, n * cout, math.prod(x.shape[2:]) * math.prod(w.shape[2:]) * (cin // groups),
         _five(x), _five(w), _bias(b, cout, x.dtype), out, _three(stride, 1), _three(padding, 0),
         _three(dilation, 1), _phase_sizes(full, stride), cin // groups, go)
    return out.reshape((n, cout) + tuple(out_size))


def weight_grad(x, g, kernel, stride, padding, dilation, groups):
    """Weight gradient (Cout, C/G, *K) of a grouped convolution of ``x`` with output gradient ``g``."""
    cout, gi = g.shape[1], x.shape[1] // groups
    q = _phase_sizes([a + 2 * p for a, p in zip(x.shape[2:], padding)], stride)
    gw = np.empty((cout, gi) + tuple(_three(kernel, 1)), x.dtype)
    _run(_weight_grad_channels, cout, x.shape[0] * math.prod(g.shape[2:]) * math.prod(kernel) * gi, _five(x),
         _five(g), gw, _three(stride, 1), _three(padding, 0), _three(dilation, 1), q, gi, cout // groups)
    return gw.reshape((cout, gi) + tuple(kernel))
