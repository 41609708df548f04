"""Compiled CPU kernels of softmax and log_softmax over the last dim (``pointwise.py``): each row's max,
exp, sum and scaling while the row is in cache, one read and one write of the array per call.

Rows are independent, so ``compiled.parallel`` hands each thread a range of rows and the bits do not
depend on the thread count. Imported by the ops only once ``compiled.usable`` said yes.
"""
import math

import numpy as np

from ember.backend import compiled
from ember.ops.row_math import exp_shifted_into, row_dot, row_max, row_sum


@compiled.kernel
def _softmax_rows(lo, hi, x, out, log):
    n = x.shape[1]
    consts = np.empty(2, x.dtype)
    for i in range(lo, hi):
        row, o = x[i], out[i]
        m = row_max(row)
        exp_shifted_into(row, m, o)
        total = row_sum(o)
        if log:
            consts[0] = math.log(total)
            shift = consts[0]
            for j in range(n):
                o[j] = (row[j] - m) - shift
        else:
            consts[0] = 1.0 / total
            scale = consts[0]
            for j in range(n):
                o[j] = o[j] * scale


@compiled.kernel
def _softmax_grad_rows(lo, hi, g, y, out, log):
    n = y.shape[1]
    consts = np.empty(1, y.dtype)
    for i in range(lo, hi):
        gi, yi, o = g[i], y[i], out[i]
        if log:  # g - exp(y) * sum(g)
            consts[0] = row_sum(gi)
            total = consts[0]
            exp_shifted_into(yi, 0.0, o)
            for j in range(n):
                o[j] = gi[j] - o[j] * total
        else:  # y * (g - sum(g * y))
            consts[0] = row_dot(gi, yi)
            total = consts[0]
            for j in range(n):
                o[j] = yi[j] * (gi[j] - total)


def _rows(a):
    return np.ascontiguousarray(a).reshape(-1, a.shape[-1])


def softmax_last(x, log):
    """softmax (or log_softmax) of ``x`` over its last dim."""
    out = np.empty(x.shape, x.dtype)
    rows = _rows(x)
    compiled.parallel_rows(_softmax_rows, rows.shape[0], rows.shape[1], rows, out.reshape(rows.shape), log)
    return out


def softmax_grad_last(g, y, log):
    """The gradient of softmax (or log_softmax) over the last dim from its output ``y``."""
    out = np.empty(y.shape, y.dtype)
    gr, yr = _rows(g), _rows(y)
    compiled.parallel_rows(_softmax_grad_rows, yr.shape[0], yr.shape[1], gr, yr, out.reshape(yr.shape), log)
    return out
