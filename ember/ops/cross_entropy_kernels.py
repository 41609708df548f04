"""Compiled CPU kernel of cross entropy's gradient (``cross_entropy.py``): each row's
``exp(logp) * coef - smooth * w`` and the target's share, written while the row is in cache.

NumPy needs an exp pass, a scaling pass and (with label smoothing) a third over the (N, C) gradient;
this is one read of the log-probs and one write. Rows are independent, so the bits do not depend on
the thread count. Imported by the op only once ``compiled.usable`` said yes.
"""
import numpy as np

from ember.backend import compiled
from ember.ops.row_math import exp_shifted_into


@compiled.kernel
def _grad_rows(lo, hi, logp, safe, picked, coef, smooth, weight, out):
    n = logp.shape[1]
    for i in range(lo, hi):
        o = out[i]
        exp_shifted_into(logp[i], 0.0, o)
        c = coef[i]
        if smooth.shape[0]:
            s = smooth[i]
            for j in range(n):
                o[j] = o[j] * c - s * weight[j]
        else:
            for j in range(n):
                o[j] = o[j] * c
        o[safe[i]] -= picked[i]


def grad(logp, safe, picked, coef, smooth, weight):
    """The (N, C) gradient: ``smooth`` empty without label smoothing, ``weight`` the class weights (ones if none)."""
    out = np.empty(logp.shape, logp.dtype)
    compiled.parallel_rows(_grad_rows, logp.shape[0], logp.shape[1], logp, safe, picked, coef, smooth, weight, out)
    return out
