"""Compiled CPU kernels of layer norm and RMS norm (``norm.py``): a row's statistics, normalisation and
affine while the row is in cache, forward in one read and one write of the activation, backward in one
of each. RMS norm is layer norm without the centring (no mean, no bias), in kernels of its own.

Rows are the normalised groups ((rows, n) C-contiguous); weight and bias have one entry per column.
The weight (and bias) gradients sum over rows: the rows are cut into ``_BLOCKS`` (or fewer) fixed
blocks, whatever the thread count, each block sums its rows into its own float64 partial row, and
NumPy adds the partials in one fixed order, so the bits do not depend on the thread count.
Imported by the ops only once ``compiled.usable`` said yes (``row_math`` imports numba).
"""
import math

import numpy as np

from ember.backend import compiled
from ember.ops.row_math import row_dot, row_sum, row_sum_sq_dev

_BLOCKS = 64


@compiled.kernel
def _layer_norm_rows(lo, hi, x, w, b, eps, out, mean, rstd):
    n = x.shape[1]
    for i in range(lo, hi):
        row = x[i]
        m = row_sum(row) / n
        r = 1.0 / math.sqrt(row_sum_sq_dev(row, m) / n + eps)
        mean[i], rstd[i] = m, r
        mi, ri = mean[i], rstd[i]  # in x's dtype, as the backward and the NumPy path use them
        o = out[i]
        for j in range(n):
            o[j] = (row[j] - mi) * ri * w[j] + b[j]


@compiled.kernel
def _layer_norm_grad_blocks(lo, hi, g, x, w, mean, rstd, gx, gw_part, gb_part):
    rows, n = x.shape
    blocks = gw_part.shape[0]
    gy = np.empty(n, x.dtype)
    xhat = np.empty(n, x.dtype)
    means = np.empty(2, x.dtype)  # the row's two means in x's dtype
    for k in range(lo, hi):
        gw_k, gb_k = gw_part[k], gb_part[k]
        for i in range(rows * k // blocks, rows * (k + 1) // blocks):
            gi, xi, mi, ri = g[i], x[i], mean[i], rstd[i]
            for j in range(n):
                xhat[j] = (xi[j] - mi) * ri
                gy[j] = gi[j] * w[j]
                gw_k[j] += gi[j] * xhat[j]
                gb_k[j] += gi[j]
            means[0], means[1] = row_sum(gy) / n, row_dot(gy, xhat) / n
            mean_gy, mean_gy_xhat = means[0], means[1]
            out = gx[i]
            for j in range(n):
                out[j] = (gy[j] - mean_gy - xhat[j] * mean_gy_xhat) * ri


def _weight_row(w, n, dtype):
    """The (n,) weight as a contiguous row, ones when there is none."""
    return np.ones(n, dtype) if w is None else np.ascontiguousarray(w.reshape(n))


def _blocks(rows):
    """How many fixed blocks of rows a weight gradient sums in (partial rows added in one order after)."""
    return max(1, min(rows, _BLOCKS))


def _over_blocks(kernel, blocks, rows, n, *args):
    """``kernel`` over the row blocks, split over threads once each thread gets enough rows of ``n``."""
    compiled.parallel(kernel, blocks, *args,
                      min_rows_per_thread=max(1, compiled.rows_per_thread(n) // max(1, rows // blocks)))


def layer_norm_forward(x, w, b, eps):
    """``(out, mean, rstd)`` of layer norm over the last dim of the 2-d ``x``; ``w``/``b`` (n,) or None."""
    rows, n = x.shape
    x = np.ascontiguousarray(x)
    w = _weight_row(w, n, x.dtype)
    b = np.zeros(n, x.dtype) if b is None else np.ascontiguousarray(b.reshape(n))
    out = np.empty_like(x)
    mean, rstd = np.empty(rows, x.dtype), np.empty(rows, x.dtype)
    compiled.parallel_rows(_layer_norm_rows, rows, n, x, w, b, float(eps), out, mean, rstd)
    return out, mean, rstd


def layer_norm_backward(g, x, w, mean, rstd):
    """``(d x, d w, d b)`` of layer norm (training statistics) on 2-d ``g``/``x``; ``d w``/``d b`` are (n,)."""
    rows, n = x.shape
    g, x = np.ascontiguousarray(g), np.ascontiguousarray(x)
    w = _weight_row(w, n, x.dtype)
    blocks = _blocks(rows)
    gx = np.empty_like(x)
    gw_part, gb_part = np.zeros((blocks, n)), np.zeros((blocks, n))
    _over_blocks(_layer_norm_grad_blocks, blocks, rows, n, g, x, w, mean.reshape(rows), rstd.reshape(rows), gx,
                 gw_part, gb_part)
    return gx, gw_part.sum(0).astype(x.dtype), gb_part.sum(0).astype(x.dtype)


@compiled.kernel
def _rms_norm_rows(lo, hi, x, w, eps, out, rstd):
    n = x.shape[1]
    for i in range(lo, hi):
        row = x[i]
        rstd[i] = 1.0 / math.sqrt(row_dot(row, row) / n + eps)
        ri = rstd[i]  # in x's dtype, as the backward and the NumPy path use it
        o = out[i]
        for j in range(n):
            o[j] = row[j] * ri * w[j]


@compiled.kernel
def _rms_norm_grad_blocks(lo, hi, g, x, w, rstd, gx, gw_part):
    rows, n = x.shape
    blocks = gw_part.shape[0]
    gy = np.empty(n, x.dtype)
    xhat = np.empty(n, x.dtype)
    spread = np.empty(1, x.dtype)  # mean(gy * xhat) in x's dtype
    for k in range(lo, hi):
        gw_k = gw_part[k]
        for i in range(rows * k // blocks, rows * (k + 1) // blocks):
            gi, xi, ri = g[i], x[i], rstd[i]
            for j in range(n):
                xhat[j] = xi[j] * ri
                gy[j] = gi[j] * w[j]
                gw_k[j] += gi[j] * xhat[j]
            spread[0] = row_dot(gy, xhat) / n
            s = spread[0]
            out = gx[i]
            for j in range(n):
                out[j] = (gy[j] - xhat[j] * s) * ri


def rms_norm_forward(x, w, eps):
    """``(out, rstd)`` of RMS norm over the last dim of the 2-d ``x``; ``w`` (n,) or None."""
    rows, n = x.shape
    x = np.ascontiguousarray(x)
    w = _weight_row(w, n, x.dtype)
    out, rstd = np.empty_like(x), np.empty(rows, x.dtype)
    compiled.parallel_rows(_rms_norm_rows, rows, n, x, w, float(eps), out, rstd)
    return out, rstd


def rms_norm_backward(g, x, w, rstd):
    """``(d x, d w)`` of RMS norm on 2-d ``g``/``x``; ``d w`` is (n,)."""
    rows, n = x.shape
    g, x = np.ascontiguousarray(g), np.ascontiguousarray(x)
    w = _weight_row(w, n, x.dtype)
    blocks = _blocks(rows)
    gx, gw_part = np.empty_like(x), np.zeros((blocks, n))
    _over_blocks(_rms_norm_grad_blocks, blocks, rows, n, g, x, w, rstd.reshape(rows), gx, gw_part)
    return gx, gw_part.sum(0).astype(x.dtype)
