"""Compiled CPU kernels of depthwise-like convolutions (``_im2col.py``): direct loops over NCHW, no im2col.

They serve grouped convolutions where each output channel reads one input channel (depthwise, any
channel multiplier) or each input channel feeds one output channel (their input gradients), where the
general path's GEMMs are matrix-vector products (~50x slower than these loops at 128 channels, 3x3).

A group has ``gi`` input and ``go`` output channels; output channel ``oc`` reads input channels
``(oc // go) * gi + m`` for ``m < gi``. Arrays are viewed with three spatial dims (1-d and 2-d ones
padded with size-1 dims in front) and each plane is copied into a zero-bordered scratch plane first, so
the loops carry no bounds tests: an output row gains one kernel tap at a time over a contiguous input row.

The forward and the transposed convolution run one (image, output channel) plane per step and the
weight gradient one output channel per step (summing every image in order, in float64), so each output
element has one writer and the bits do not depend on the thread count.
Imported by ``_im2col.py`` only once ``compiled.usable`` said yes (``row_math`` imports numba).
"""
import math

import numpy as np

from ember.backend import compiled
from ember.ops.row_math import row_dot


@compiled.kernel
def _conv_planes(lo, hi, x, w, bias, out, s, p, d, gi, go):
    """``out[n, oc] = bias[oc] + sum over m, taps of w[oc, m, tap] * x[n, c(oc, m), window(tap)]``."""
    cin, depth, height, width = x.shape[1], x.shape[2], x.shape[3], x.shape[4]
    cout, od_n, oh_n, ow_n = out.shape[1], out.shape[2], out.shape[3], out.shape[4]
    kd, kh, kw = w.shape[2], w.shape[3], w.shape[4]
    pad = np.zeros((depth + 2 * p[0], height + 2 * p[1], width + 2 * p[2]), x.dtype)
    held = -1
    for plane in range(lo, hi):
        n, oc = plane // cout, plane % cout
        o = out[n, oc]
        o[:] = bias[oc]
        for m in range(gi):
            c = (oc // go) * gi + m
            if n * cin + c != held:  # channel multipliers: consecutive planes read the same input plane
                pad[p[0]:p[0] + depth, p[1]:p[1] + height, p[2]:p[2] + width] = x[n, c]
                held = n * cin + c
            for od in range(od_n):
                for i in range(kd):
                    z = od * s[0] + i * d[0]
                    for oh in range(oh_n):
                        orow = o[od, oh]
                        for j in range(kh):
                            xrow = pad[z, oh * s[1] + j * d[1]]
                            for k in range(kw):
                                wv = w[oc, m, i, j, k]
                                base = k * d[2]
                                if s[2] == 1:
                                    src = xrow[base:base + ow_n]
                                    for q in range(ow_n):
                                        orow[q] += wv * src[q]
                                else:
                                    for q in range(ow_n):
                                        orow[q] += wv * xrow[base + q * s[2]]


@compiled.kernel
def _conv_transpose_planes(lo, hi, x, w, bias, out, s, p, d, gi, go, full):
    """Transposed convolution, weight (Cin, go, *K): ``out[n, oc]`` gathers every tap of its input channels
    ``c(oc, m)`` scattered into a zeroed plane of size ``full``, cropped by the padding."""
    id_n, ih_n, iw_n = x.shape[2], x.shape[3], x.shape[4]
    cout, depth, height, width = out.shape[1], out.shape[2], out.shape[3], out.shape[4]
    kd, kh, kw = w.shape[2], w.shape[3], w.shape[4]
    acc = np.empty((full[0], full[1], full[2]), out.dtype)
    for plane in range(lo, hi):
        n, oc = plane // cout, plane % cout
        acc[:] = 0
        for m in range(gi):
            c = (oc // go) * gi + m
            src = x[n, c]
            for id_ in range(id_n):
                for i in range(kd):
                    z = id_ * s[0] + i * d[0]
                    for ih in range(ih_n):
                        srow = src[id_, ih]
                        for j in range(kh):
                            arow = acc[z, ih * s[1] + j * d[1]]
                            for k in range(kw):
                                wv = w[c, oc % go, i, j, k]
                                base = k * d[2]
                                if s[2] == 1:
                                    dst = arow[base:base + iw_n]
                                    for q in range(iw_n):
                                        dst[q] += wv * srow[q]
                                else:
                                    for q in range(iw_n):
                                        arow[base + q * s[2]] += wv * srow[q]
        out[n, oc] = acc[p[0]:p[0] + depth, p[1]:p[1] + height, p[2]:p[2] + width]
        if bias[oc] != 0:
            out[n, oc] += bias[oc]


@compiled.kernel
def _weight_grad_channels(lo, hi, x, g, gw, s, p, d, gi, go):
    """``gw[oc, m, tap] = sum over images and outputs of g[n, oc] * x[n, c(oc, m), window(tap)]``."""
    batch, depth, height, width = x.shape[0], x.shape[2], x.shape[3], x.shape[4]
    od_n, oh_n, ow_n = g.shape[2], g.shape[3], g.shape[4]
    kd, kh, kw = gw.shape[2], gw.shape[3], gw.shape[4]
    pad = np.zeros((depth + 2 * p[0], height + 2 * p[1], width + 2 * p[2]), x.dtype)
    acc = np.empty((kd, kh, kw))
    for oc in range(lo, hi):
        for m in range(gi):
            c = (oc // go) * gi + m
            acc[:] = 0
            for n in range(batch):
                pad[p[0]:p[0] + depth, p[1]:p[1] + height, p[2]:p[2] + width] = x[n, c]
                go_plane = g[n, oc]
                for od in range(od_n):
                    for i in range(kd):
                        z = od * s[0] + i * d[0]
                        for oh in range(oh_n):
                            grow = go_plane[od, oh]
                            for j in range(kh):
                                xrow = pad[z, oh * s[1] + j * d[1]]
                                for k in range(kw):
                                    base = k * d[2]
                                    if s[2] == 1:
                                        acc[i, j, k] += row_dot(grow, xrow[base:base + ow_n])
                                    else:
                                        acc[i, j, k] += row_dot(grow, xrow[base:base + s[2] * (ow_n - 1) + 1:s[2]])
            for i in range(kd):
                for j in range(kh):
                    for k in range(kw):
                        gw[oc, m, i, j, k] = acc[i, j, k]


def _five(a):
    """``a`` (N, C, *S) as a C-contiguous (N, C, D, H, W), missing spatial dims of size 1 in front."""
    return np.ascontiguousarray(a).reshape(a.shape[:2] + (1,) * (5 - a.ndim) + a.shape[2:])


def _three(values, fill):
    return (fill,) * (3 - len(values)) + tuple(values)


def _bias(b, n, dtype):
    return np.zeros(n, dtype) if b is None else np.ascontiguousarray(b, dtype=dtype)


def _run(kernel, n, work_per_row, *args):
    compiled.parallel(kernel, n, *args, min_rows_per_thread=compiled.rows_per_thread(work_per_row))


def conv(x, w, b, stride, padding, dilation, groups, out_size):
    """Grouped convolution (N, C, *S) * (Cout, C/G, *K) -> (N, Cout, *out_size) by direct loops."""
    n, cout, gi = x.shape[0], w.shape[0], w.shape[1]
    out = np.empty((n, cout) + _three(out_size, 1), x.dtype)
    _run(_conv_planes, n * cout, math.prod(out_size) * math.prod(w.shape[1:]), _five(x), _five(w),
         _bias(b, cout, x.dtype), out, _three(stride, 1), _three(padding, 0), _three(dilation, 1), gi, cout // groups)
    return out.reshape((n, cout) + tuple(out_size))


def conv_transpose(x, w, b, stride, padding, dilation, groups, out_size, full):
    """Grouped transposed convolution (N, Cin, *I) * (Cin, Cout/G, *K) -> (N, Cout, *out_size); ``full`` is
    the uncropped size that every scattered tap fits in."""
    n, cin, go = x.shape[0], x.shape[1], w.shape[1]
    cout = go * groups
    out = np.empty((n, cout) + _three(out_size, 1), x.dtype)
    _run(_conv_transpose_planes, n * cout, math.prod(x.shape[2:]) * math.prod(w.shape[2:]) * (cin // groups),
         _five(x), _five(w), _bias(b, cout, x.dtype), out, _three(stride, 1), _three(padding, 0),
         _three(dilation, 1), cin // groups, go, _three(full, 1))
    return out.reshape((n, cout) + tuple(out_size))


def weight_grad(x, g, kernel, stride, padding, dilation, groups):
    """Weight gradient (Cout, C/G, *K) of a grouped convolution of ``x`` with output gradient ``g``."""
    cout, gi = g.shape[1], x.shape[1] // groups
    gw = np.empty((cout, gi) + _three(kernel, 1), x.dtype)
    _run(_weight_grad_channels, cout, x.shape[0] * math.prod(g.shape[2:]) * math.prod(kernel) * gi, _five(x),
         _five(g), gw, _three(stride, 1), _three(padding, 0), _three(dilation, 1), gi, cout // groups)
    return gw.reshape((cout, gi) + tuple(kernel))
