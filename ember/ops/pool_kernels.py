"""Compiled CPU kernels for pooling (``pool.py``, ``adaptive_pool.py``): one pass over memory per call.

Every kernel views its input as ``(planes, D, H, W)`` (2-d pools with ``D == 1``, 1-d ones also with
``H == 1``) and ``compiled.parallel`` hands each thread a range of planes: a forward writes only its
planes' outputs and a backward scatters only into its planes' gradients, so the bits do not depend on
the thread count. The NumPy code in the ops stays the reference (``compiled.disabled()``).
"""
import math

import numpy as np

from ember.backend import compiled


def _planes(x, nd):
    """``x`` (C-contiguous) as ``(planes, D, H, W)``, its last ``nd`` dims kept."""
    lead = x.shape[:x.ndim - nd]
    return np.ascontiguousarray(x).reshape((math.prod(lead),) + (1,) * (3 - nd) + x.shape[x.ndim - nd:])


def _three(values, fill):
    return (fill,) * (3 - len(values)) + tuple(values)


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
    compiled.parallel_rows(_max_pool_planes, xs.shape[0], math.prod(shape[1:]) * math.prod(k), xs, values, idx,
         _three(k, 1), _three(s, 1), _three(p, 0), _three(d, 1))
    lead = x.shape[:x.ndim - nd]
    return values.reshape(lead + tuple(out)), idx.reshape(lead + tuple(out))


@compiled.kernel
def _max_pool_2x2_planes(lo, hi, x, out, idx):
    """2x2 windows at stride 2 (the common pooling layer), each window's four reads in scan order: the first
    maximum wins ties, a NaN wins over any number and the last NaN over earlier ones, as in the general kernel.
    Its own kernel because the general one's strided slices do not vectorise (2x2 at (64, 32, 28, 28): 1.1 ms
    here against 3.9 ms for NumPy's stacked windows, 5.3 ms for the general kernel with stride-2 slices)."""
    width = x.shape[2]
    for c in range(lo, hi):
        for oh in range(out.shape[1]):
            r0, r1 = x[c, 2 * oh], x[c, 2 * oh + 1]
            top, at = out[c, oh], idx[c, oh]
            base = 2 * oh * width
            for q in range(out.shape[2]):
                best, where = r0[2 * q], base + 2 * q
                v = r0[2 * q + 1]
                if v > best or v != v:
                    best, where = v, base + 2 * q + 1
                v = r1[2 * q]
                if v > best or v != v:
                    best, where = v, base + width + 2 * q
                v = r1[2 * q + 1]
                if v > best or v != v:
                    best, where = v, base + width + 2 * q + 1
                top[q], at[q] = best, where


def max_pool_2x2(x, out):
    """(values, int64 flat per-plane indices) of 2x2 max pooling at stride 2 over the last two dims of ``x``,
    ``out`` output rows and columns (each window inside ``x``: no padding)."""
    xs = _planes(x, 2)[:, 0]
    values = np.empty((xs.shape[0],) + tuple(out), dtype=x.dtype)
    idx = np.empty(values.shape, dtype=np.int64)
    compiled.parallel_rows(_max_pool_2x2_planes, xs.shape[0], 4 * math.prod(out), xs, values, idx)
    lead = x.shape[:-2]
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
    compiled.parallel_rows(_scatter_planes, planes, n + m, vs, ids, out, accumulate)
    return out.reshape(lead + tuple(size))


# average pooling -------------------------------------------------------------------------------


@compiled.kernel
def _avg_pool_adjoint_planes(lo, hi, g, out, k, s, p, include_pad, override):
    """The transpose of average pooling with windows one column apart (``s[2] == 1``): each window's share
    of ``g`` (the output's gradient) added back over the window into ``out`` (the input's gradient).

    A row of outputs is spread one kernel tap at a time, its inner loop over contiguous slices indexed from
    0 (no negative-index checks, so it vectorises). A window's divisor is its size clipped to the padded
    input, or to the input alone (``include_pad`` False), or ``override`` when nonzero (``pool._divisor``)."""
    depth, height, width = out.shape[1], out.shape[2], out.shape[3]
    n = g.shape[3]
    div = np.empty(g.shape[1:], dtype=g.dtype)  # each window's divisor, in the arrays' dtype (vectorised divides)
    for od in range(div.shape[0]):
        z0 = od * s[0] - p[0]
        z1 = min(z0 + k[0], depth + p[0])
        for oh in range(div.shape[1]):
            y0 = oh * s[1] - p[1]
            y1 = min(y0 + k[1], height + p[1])
            for ow in range(n):
                w0 = ow - p[2]
                w1 = min(w0 + k[2], width + p[2])
                if override:
                    div[od, oh, ow] = override
                elif include_pad:
                    div[od, oh, ow] = (z1 - z0) * (y1 - y0) * (w1 - w0)
                else:
                    div[od, oh, ow] = ((min(z1, depth) - max(z0, 0)) * (min(y1, height) - max(y0, 0))
                                       * (min(w1, width) - max(w0, 0)))
    share = np.empty(n, dtype=g.dtype)
    for c in range(lo, hi):
        out[c] = 0
        for od in range(g.shape[1]):
            z0 = od * s[0] - p[0]
            za, zb = max(z0, 0), min(z0 + k[0], depth)
            for oh in range(g.shape[2]):
                y0 = oh * s[1] - p[1]
                ya, yb = max(y0, 0), min(y0 + k[1], height)
                grad, den = g[c, od, oh], div[od, oh]
                for q in range(n):
                    share[q] = grad[q] / den[q]
                for z in range(za, zb):
                    for y in range(ya, yb):
                        line = out[c, z, y]
                        for m in range(k[2]):
                            shift = m - p[2]  # input column of output column 0 at this tap
                            a, b = max(0, -shift), min(n, width - shift)
                            if a >= b:
                                continue
                            part, near = share[a:b], line[a + shift:b + shift]
                            for q in range(b - a):
                                near[q] += part[q]


def avg_pool_adjoint(g, size, k, s, p, include_pad, override):
    """The gradient of average pooling (windows one column apart) for an input of spatial ``size``,
    given the output's gradient ``g``."""
    nd = len(k)
    gs = _planes(g, nd)
    out = np.empty((gs.shape[0],) + _three(size, 1), dtype=g.dtype)
    compiled.parallel_rows(_avg_pool_adjoint_planes, gs.shape[0], math.prod(g.shape[g.ndim - nd:]) * math.prod(k), gs, out,
         _three(k, 1), _three(s, 1), _three(p, 0), bool(include_pad), int(override or 0))
    return out.reshape(g.shape[:g.ndim - nd] + tuple(size))


# adaptive max pooling --------------------------------------------------------------------------


@compiled.kernel
def _adaptive_max_planes(lo, hi, x, out, idx):
    """Each adaptive window ``[floor(i*n/o), ceil((i+1)*n/o))``'s first maximum and its flat per-plane
    index (the last NaN where there is one, as the NumPy path)."""
    depth, height, width = x.shape[1], x.shape[2], x.shape[3]
    nd, nh, nw = out.shape[1], out.shape[2], out.shape[3]
    for c in range(lo, hi):
        for od in range(nd):
            za, zb = od * depth // nd, ((od + 1) * depth + nd - 1) // nd
            for oh in range(nh):
                ya, yb = oh * height // nh, ((oh + 1) * height + nh - 1) // nh
                for ow in range(nw):
                    wa, wb = ow * width // nw, ((ow + 1) * width + nw - 1) // nw
                    best = x[c, za, ya, wa]
                    found = (za * height + ya) * width + wa
                    for z in range(za, zb):
                        for y in range(ya, yb):
                            line = x[c, z, y, wa:wb]
                            for q in range(wb - wa):
                                v = line[q]
                                if v > best or v != v:
                                    best = v
                                    found = (z * height + y) * width + wa + q
                    out[c, od, oh, ow] = best
                    idx[c, od, oh, ow] = found


def adaptive_max_pool(x, out):
    """(values, int64 flat per-plane indices) of adaptive max pooling of ``x`` to spatial size ``out``."""
    nd = len(out)
    xs = _planes(x, nd)
    shape = (xs.shape[0],) + _three(out, 1)
    values = np.empty(shape, dtype=x.dtype)
    idx = np.empty(shape, dtype=np.int64)
    compiled.parallel_rows(_adaptive_max_planes, xs.shape[0], xs[0].size, xs, values, idx)
    lead = x.shape[:x.ndim - nd]
    return values.reshape(lead + tuple(out)), idx.reshape(lead + tuple(out))
