"""Compiled CPU kernels of ReLU (``unary.py``): the forward split over the threads, the gradient in one pass.

NumPy's ``maximum`` is one SIMD pass but on one core, and the gradient ``g * (y > 0)`` is two passes
and a boolean temporary. Both are memory-bound, so a thread pays its ~40 us hand-off only from about a
megabyte of elements per thread (``_MIN_PER_THREAD``). NaN inputs stay NaN, as in ``maximum``; the
gradient is 0 where the output is <= 0 and ``g`` elsewhere, NaN outputs included (torch's
``threshold_backward``: a NaN ``g`` at a zero output gives 0). Imported by the op only once ``compiled.usable`` said yes.
"""
from ember.backend import compiled

_MIN_PER_THREAD = 1 << 18


@compiled.kernel
def _relu(lo, hi, x, y):
    xs, ys = x[lo:hi], y[lo:hi]
    zero = x.dtype.type(0)
    for j in range(hi - lo):
        v = xs[j]
        ys[j] = zero if v <= zero else v


@compiled.kernel
def _relu_grad(lo, hi, g, y, out):
    gs, ys, os = g[lo:hi], y[lo:hi], out[lo:hi]
    zero = g.dtype.type(0)
    for j in range(hi - lo):
        os[j] = zero if ys[j] <= zero else gs[j]


def relu(x):
    """max(x, 0) of a float32 or float64 host array."""
    return compiled.elementwise(_relu, (x,), min_elements_per_thread=_MIN_PER_THREAD)


def relu_grad(g, y):
    """0 where ``y <= 0``, else ``g``, of host arrays of one shape and dtype."""
    return compiled.elementwise(_relu_grad, (g, y), min_elements_per_thread=_MIN_PER_THREAD)
