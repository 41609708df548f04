"""Compiled CPU kernels for pooling (``pool.py``, ``adaptive_pool.py``): one pass over memory per call.

Every kernel views its input as ``(planes, D, H, W)`` (2-d pools with ``D == 1``, 1-d ones also with
``H == 1``) and ``compiled.parallel`` hands each thread a range of planes: a forward writes only its
planes' outputs and a backward scatters only into its planes' gradients, so the bits do not depend on
the thread count. The NumPy code in the ops stays the reference (``compiled.disabled()``).
"""
import math

import numpy as np

from ember.backend import compiled

_WORK_PER_THREAD = 1 << 15  # elements a thread should get before the work is split


def _planes(x, nd):
    """``x`` (C-contiguous) as ``(planes, D, H, W)``, its last ``nd`` dims kept."""
    lead = x.shape[:x.ndim - nd]
    return np.ascontiguousarray(x).reshape((math.prod(lead),) + (1,) * (3 - nd) + x.shape[x.ndim - nd:])


def _three(values, fill):
    return (fill,) * (3 - len(values)) + tuple(values)


def _run(kernel, planes, per_plane, *args):
    compiled.parallel(kernel, planes, *args, min_rows_per_thread=max(1, _WORK_PER_THREAD // max(1, per_plane)))


# max pooling -----------------------------------------------------------------------------------


@compiled.kernel
def _max_pool_planes(lo, hi, x, out, idx, k, s, p, d):
    """Each window's maximum and the flat per-plane index of its first one (a NaN wins over any number,
    the last NaN over earlier ones, as PyTorch's scan), for windows one column apart (``s[2] == 1``).
    A row of outputs is updated one kernel tap at a time, its inner loop over a contiguous input row."""
    depth, height, width = x.shape[1], x.shape[2], x.shape[3]
    n = out.shape[3]
    for c in range(lo, hi):
        for od in range(out.shape[1]):
            z0 = od * s[0] - p[0]
            for oh in range(out.shape[2]):
                y0 = oh * s[1] - p[1]
                best = out[c, od, oh]
                found = idx[c, od, oh]
                found[:] = -1
                for i in range(k[0]):
                    z = z0 + i * d[0]
                    if z < 0 or z >= depth:
                        continue
                    for j in range(k[1]):
                        y = y0 + j * d[1]
                        if y < 0 or y >= height:
                            continue
                        row = x[c, z, y]
                        for m in range(k[2]):
                            shift = m * d[2] - p[2]  # input column of output column 0 at this tap
                            a = max(0, -shift)
                            b = min(n, width - shift)
                            if a >= b:
                                continue
                            # slices indexed from 0 by the loop variable: no negative-index checks, so it vectorises
                            taps = row[a + shift:b + shift]
                            top = best[a:b]
                            at = found[a:b]
                            first = (z * height + y) * width + a + shift
                            for q in range(b - a):
                                v = taps[q]
                                take = (at[q] < 0) | (v > top[q]) | (v != v)
                                top[q] = v if take else top[q]
                                at[q] = first + q if take else at[q]


def max_pool(x, k, s, p, d, out):
    """(values, int64 flat per-plane indices) of max pooling over the last ``len(k)`` dims of ``x``,
    whose windows move by one column (``s[-1] == 1``)."""
    nd = len(k)
    xs = _planes(x, nd)
    shape = (xs.shape[0],) + _three(out, 1)
    values = np.empty(shape, dtype=x.dtype)
    idx = np.empty(shape, dtype=np.int64)
    _run(_max_pool_planes, xs.shape[0], math.prod(shape[1:]) * math.prod(k), xs, values, idx,
         _three(k, 1), _three(s, 1), _three(p, 0), _three(d, 1))
    lead = x.shape[:x.ndim - nd]
    return values.reshape(lead + tuple(out)), idx.reshape(lead + tuple(out))


@compiled.kernel
def _scatter_planes(lo, hi, v, idx, out, accumulate):
    """``out[c] = 0; out[c, idx[c, j]] (+)= v[c, j]`` for the planes ``c`` in ``[lo, hi)``."""
    for c in range(lo, hi):
        out[c, :] = 0
        if accumulate:
            for j in range(v.shape[1]):
                out[c, idx[c, j]] += v[c, j]
        else:
            for j in range(v.shape[1]):
                out[c, idx[c, j]] = v[c, j]


def plane_scatter(v, idx, size, accumulate):
    """Zero planes of spatial ``size`` with ``v`` put (or added, repeats summed) at the flat indices ``idx``."""
    lead = v.shape[:v.ndim - len(size)]
    planes, n = math.prod(lead), math.prod(size)
    m = math.prod(v.shape[len(lead):])
    out = np.empty((planes, n), dtype=v.dtype)
    vs = np.ascontiguousarray(v).reshape(planes, m)
    ids = np.ascontiguousarray(idx, dtype=np.int64).reshape(planes, m)
    _run(_scatter_planes, planes, n + m, vs, ids, out, accumulate)
    return out.reshape(lead + tuple(size))


# average pooling -------------------------------------------------------------------------------


@compiled.kernel
def _avg_pool_planes(lo, hi, x, out, adjoint, k, s, p, include_pad, override):
    """Average pooling of planes ``x`` into ``out``, or with ``adjoint`` its transpose: each window's share
    of ``x`` (the output's gradient) added back over the window into ``out`` (the input's gradient).

    A row of outputs is handled one kernel tap at a time, its inner loop over slices indexed from 0 (no
    negative-index checks, so it vectorises). A window's divisor is its size clipped to the padded input,
    or to the input alone (``include_pad`` False), or ``override`` when nonzero (``pool._divisor``)."""
    pooled, full = (x, out) if adjoint else (out, x)
    depth, height, width = full.shape[1], full.shape[2], full.shape[3]
    n = pooled.shape[3]
    cols = np.empty(n, dtype=np.float64)  # each output column's share of its divisor
    for ow in range(n):
        w0 = ow * s[2] - p[2]
        w1 = min(w0 + k[2], width + p[2])
        cols[ow] = w1 - w0 if include_pad else min(w1, width) - max(w0, 0)
    row = np.empty(n, dtype=x.dtype)
    for c in range(lo, hi):
        if adjoint:
            out[c] = 0
        for od in range(pooled.shape[1]):
            z0 = od * s[0] - p[0]
            z1 = min(z0 + k[0], depth + p[0])
            za, zb = max(z0, 0), min(z1, depth)
            for oh in range(pooled.shape[2]):
                y0 = oh * s[1] - p[1]
                y1 = min(y0 + k[1], height + p[1])
                ya, yb = max(y0, 0), min(y1, height)
                rest = (z1 - z0) * (y1 - y0) if include_pad else (zb - za) * (yb - ya)
                if adjoint:
                    g = x[c, od, oh]
                    for q in range(n):
                        row[q] = g[q] / (override if override else rest * cols[q])
                else:
                    row[:] = 0
                for z in range(za, zb):
                    for y in range(ya, yb):
                        line = out[c, z, y] if adjoint else x[c, z, y]
                        for m in range(k[2]):
                            shift = m - p[2]  # input column of output column 0 at this tap
                            a = max(0, -(shift // s[2]))
                            b = min(n, (width - shift + s[2] - 1) // s[2])
                            if a >= b:
                                continue
                            part = row[a:b]
                            if s[2] == 1:  # a contiguous slice: the loop vectorises
                                near = line[a + shift:b + shift]
                                if adjoint:
                                    for q in range(b - a):
                                        near[q] += part[q]
                                else:
                                    for q in range(b - a):
                                        part[q] += near[q]
                                continue
                            taps = line[a * s[2] + shift:(b - 1) * s[2] + shift + 1:s[2]]
                            if adjoint:
                                for q in range(b - a):
                                    taps[q] += part[q]
                            else:
                                for q in range(b - a):
                                    part[q] += taps[q]
                if not adjoint:
                    y = out[c, od, oh]
                    for q in range(n):
                        y[q] = row[q] / (override if override else rest * cols[q])


def avg_pool(x, k, s, p, out, include_pad, override):
    """Average pooling of a float ``x`` over its last ``len(k)`` dims."""
    nd = len(k)
    xs = _planes(x, nd)
    y = np.empty((xs.shape[0],) + _three(out, 1), dtype=x.dtype)
    _run(_avg_pool_planes, xs.shape[0], math.prod(out) * math.prod(k), xs, y, False,
         _three(k, 1), _three(s, 1), _three(p, 0), bool(include_pad), int(override or 0))
    return y.reshape(x.shape[:x.ndim - nd] + tuple(out))


def avg_pool_adjoint(g, size, k, s, p, include_pad, override):
    """The gradient of ``avg_pool`` for an input of spatial ``size``, given the output's gradient ``g``."""
    nd = len(k)
    gs = _planes(g, nd)
    out = np.empty((gs.shape[0],) + _three(size, 1), dtype=g.dtype)
    _run(_avg_pool_planes, gs.shape[0], math.prod(g.shape[g.ndim - nd:]) * math.prod(k), gs, out, True,
         _three(k, 1), _three(s, 1), _three(p, 0), bool(include_pad), int(override or 0))
    return out.reshape(g.shape[:g.ndim - nd] + tuple(size))
