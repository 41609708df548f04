"""Fused CuPy kernels for hot ops whose CuPy array-function form takes several passes over memory.

Each op keeps its array-module (``xp``) path as the reference, which also serves NumPy and the fake
CUDA device (that cannot compile CUDA C); the op calls a kernel here only when ``is_real_cupy(xp)``.
Kernels are built on first use (CuPy compiles them on first call and caches them on disk), never at
import. Half-precision inputs compute in float32, double inputs in double (``ember_acc<T>``).

- GELU (exact): forward ``x * Phi(x)`` and ``Phi`` in one pass (5 CuPy passes), backward
  ``g * (Phi + x phi(x))`` in one (6);
- softmax / log_softmax over an axis: max, one fused ``sum(exp(x - max))`` reduction, one output
  pass (CuPy's form: 5 passes and 2 temporaries);
- batch/layer norm (training forward): mean, a fused variance reduction, one affine pass (7);
- Adam/AdamW and momentum SGD: the whole per-parameter update in one pass (Adam's NumPy form: 12).
"""
import functools
import math

import numpy as np

_PREAMBLE = r"""
template <typename T> struct ember_acc { typedef float type; };
template <> struct ember_acc<double> { typedef double type; };
__device__ inline float ember_ncdf(float v) { return normcdff(v); }
__device__ inline double ember_ncdf(double v) { return normcdf(v); }
"""
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def is_real_cupy(xp):
    """Whether ``xp`` is CuPy itself (not NumPy, not the fake CUDA device's stand-in)."""
    return xp is not np and getattr(xp, "__name__", "") == "cupy" and not hasattr(xp, "_cupyx")


def fusable(xp, *arrays):
    """Whether the kernels here serve these arrays: real CuPy and float16/32/64 (bfloat16, new in CuPy 14,
    keeps the array path until a GPU run checks it)."""
    return is_real_cupy(xp) and all(a.dtype.kind == "f" for a in arrays)


# sources: (constructor name, positional arguments); built per array module by _kernel --------------
SOURCES = {
    "gelu_forward": ("ElementwiseKernel", (
        "T x", "T y, T cdf",
        "typedef typename ember_acc<T>::type C; C v = (C)x; C c = ember_ncdf(v); cdf = (T)c; y = (T)(v * c);",
        "ember_gelu_forward")),
    "gelu_backward": ("ElementwiseKernel", (
        "T g, T x, T cdf", "T gx",
        "typedef typename ember_acc<T>::type C; C v = (C)x;"
        f"gx = (T)((C)g * ((C)cdf + v * exp((C)-0.5 * v * v) * (C){_INV_SQRT_2PI!r}));",
        "ember_gelu_backward")),
    "exp_sum": ("ReductionKernel", (
        "T x, T m", "T s", "exp(x - m)", "a + b", "s = a", "0", "ember_exp_sum")),
    "softmax_out": ("ElementwiseKernel", ("T x, T m, T s", "T y", "y = exp(x - m) / s", "ember_softmax_out")),
    "log_softmax_out": ("ElementwiseKernel", ("T x, T m, T s", "T y", "y = x - m - log(s)", "ember_log_softmax_out")),
    "centred_square_sum": ("ReductionKernel", (
        "T x, T m", "T s", "(x - m) * (x - m)", "a + b", "s = a", "0", "ember_centred_square_sum")),
    "norm_affine": ("ElementwiseKernel", ("T x, T m, T r, T w, T b", "T y", "y = (x - m) * r * w + b",
                                          "ember_norm_affine")),
    "adam": ("ElementwiseKernel", (
        "T grad, float64 lr, float64 beta1, float64 beta2, float64 eps, float64 weight_decay, "
        "float64 bias1, float64 bias2_sqrt, bool decoupled, bool maximize",
        "T param, T exp_avg, T exp_avg_sq",
        """typedef typename ember_acc<T>::type C;
        C g = maximize ? -(C)grad : (C)grad;
        C p = (C)param;
        if (weight_decay != 0) {
            if (decoupled) p *= (C)(1 - lr * weight_decay); else g += (C)weight_decay * p;
        }
        C m = (C)exp_avg + (C)(1 - beta1) * (g - (C)exp_avg);
        C v = (C)exp_avg_sq * (C)beta2 + (C)(1 - beta2) * g * g;
        exp_avg = (T)m;
        exp_avg_sq = (T)v;
        param = (T)(p - (C)(lr / bias1) * m / (sqrt(v) / (C)bias2_sqrt + (C)eps));""",
        "ember_adam")),
    "sgd_momentum": ("ElementwiseKernel", (
        "T grad, float64 lr, float64 momentum, float64 dampening, float64 weight_decay, bool nesterov, "
        "bool maximize",
        "T param, T buf",
        """typedef typename ember_acc<T>::type C;
        C d = maximize ? -(C)grad : (C)grad;
        if (weight_decay != 0) d += (C)weight_decay * (C)param;
        C b = (C)buf * (C)momentum + (C)(1 - dampening) * d;
        buf = (T)b;
        d = nesterov ? d + (C)momentum * b : b;
        param = (T)((C)param - (C)lr * d);""",
        "ember_sgd_momentum")),
}


@functools.cache
def build(xp, name):
    """The kernel ``name`` of ``SOURCES`` for the array module ``xp`` (built once; compiled on first call)."""
    constructor, args = SOURCES[name]
    return getattr(xp, constructor)(*args, preamble=_PREAMBLE)


def gelu_forward(xp, x):
    """``(x * Phi(x), Phi(x))`` in one pass."""
    return build(xp, "gelu_forward")(x)


def gelu_backward(xp, g, x, cdf):
    return build(xp, "gelu_backward")(g, x, cdf)


def softmax(xp, x, axis, log=False):
    """softmax (or log_softmax) of a float32/float64 array along ``axis``; None for other dtypes
    (the caller's array path serves them)."""
    if x.dtype not in _FLOATS:
        return None
    m = xp.max(x, axis=axis, keepdims=True)
    s = build(xp, "exp_sum")(x, m, axis=axis, keepdims=True)
    return build(xp, "log_softmax_out" if log else "softmax_out")(x, m, s)


def norm_forward(xp, x, w, b, group_shape, axes, param_shape, eps):
    """Training-mode batch/layer norm ``(out, mean, rstd)`` in three passes (mean, a fused variance
    reduction, one affine output pass; the array form takes seven); None where the kernel does not
    apply (grouped views, mixed dtypes: the caller's array path serves them)."""
    if tuple(group_shape) != x.shape or x.dtype not in _FLOATS or any(
            p is not None and p.dtype != x.dtype for p in (w, b)):
        return None
    mean = x.mean(axis=axes, keepdims=True)
    count = math.prod(x.shape[a] for a in axes)
    var = build(xp, "centred_square_sum")(x, mean, axis=axes, keepdims=True) / count
    rstd = (1.0 / xp.sqrt(var + eps)).astype(x.dtype)
    scale = xp.ones((), x.dtype) if w is None else w.reshape(param_shape)
    shift = xp.zeros((), x.dtype) if b is None else b.reshape(param_shape)
    return build(xp, "norm_affine")(x, mean, rstd, scale, shift), mean, rstd


def adam_step(param, grad, exp_avg, exp_avg_sq, step, *, lr, beta1, beta2, eps, weight_decay, decoupled,
              maximize, xp):
    """One Adam/AdamW step (no AMSGrad) in place, as ``ember.optim.adam.adam_step``'s array path."""
    build(xp, "adam")(grad, lr, beta1, beta2, eps, weight_decay, 1 - beta1 ** step, math.sqrt(1 - beta2 ** step),
                      decoupled, maximize, param, exp_avg, exp_avg_sq)


def sgd_momentum_step(param, grad, buf, *, lr, momentum, dampening, weight_decay, nesterov, maximize, xp):
    """One momentum SGD step with an existing buffer, in place, as ``ember.optim.sgd.sgd_step``'s path."""
    build(xp, "sgd_momentum")(grad, lr, momentum, dampening, weight_decay, nesterov, maximize, param, buf)
    return buf
