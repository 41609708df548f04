"""Fused activation kernels: exact GELU, tanh GELU and SiLU, each one node with a one-pass backward.

The composed form ``0.5 * x * (1 + erf(x / sqrt 2))`` costs five elementwise passes forward and
about a dozen backward, and rounds ``1 + erf`` to zero in the negative tail. Here the forward is
``x * Phi(x)`` with ``Phi`` from ``ndtr`` (accurate to float32 rounding, relative, over the whole
range), and the gradient ``g * (Phi + x * phi(x))`` is one in-place kernel. float32 host arrays take
``gelu_kernels``' vectorised kernel (7x faster than the ``ndtr`` path below). Measured choices:
scipy's float32 ``ndtr`` (28 ms on 16x128x1024) beat NumPy-composed erfc approximations (a Chebyshev
fit: 20 ms in float32 but ~10 ulp in the tail, 24 ms in float64), so ``ndtr`` it is, split over the
cores by ``backend.threads.blocked`` (28 -> 14.5 ms on two; this needs OpenBLAS's shortened spin, see
``ember/_blas_env.py``).

SiLU ``x sigmoid(x)`` and the tanh GELU ``x (1 + tanh(u)) / 2 = x sigmoid(2u)`` share one form,
``x * sigmoid(b (x + a x^3))``: the forward returns the gate ``s`` beside ``y`` and the backward is
``g * (s + x s (1 - s) z'(x))``, one pass (``swish_kernels`` for float32/float64 host arrays; composed
they cost 4 and 11 passes forward, and the tanh form cancels in its negative tail). Mish
``x tanh(softplus(x))`` saves only x: its kernels (``mish_kernels``) rebuild every factor from one exp.

>>> import ember
>>> import ember.nn.functional as F
>>> F.gelu(ember.tensor([0.0, 1.0]))
tensor([0.0000, 0.8413])
>>> F.silu(ember.tensor([0.0, 1.0]))
tensor([0.0000, 0.7311])
"""
import math

from ember.backend import compiled, cupy_kernels
from ember.backend.cupy_kernels import fusable
from ember.backend.threads import blocked
from ember.ops.dispatch import primitive
from ember.ops.dual import elementwise
from ember.backend.arrays import special

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _gelu_and_cdf(xp, x):
    """``(x * Phi(x), Phi(x))`` in x's dtype, both written piece by piece while in cache;
    half-precision inputs compute Phi in float32."""
    if x.dtype == xp.float32 and x.size and compiled.usable(x):
        from ember.ops import gelu_kernels  # optional dependency: numba, imported on first use
        return gelu_kernels.gelu_and_cdf(x)
    ndtr = special(xp).ndtr
    if x.dtype.itemsize < 4:
        cdf = ndtr(x.astype(xp.float32)).astype(x.dtype)
        return x * cdf, cdf

    def kernel(cdf, y, a):
        ndtr(a, out=cdf)
        xp.multiply(a, cdf, out=y)

    cdf = xp.empty_like(x)  # arrays even for 0-d inputs
    y = xp.empty_like(x)
    blocked(kernel, cdf, y, x)
    return y, cdf


def _pdf(x):
    """phi(x) = exp(-x^2 / 2) / sqrt(2 pi), in ember ops."""
    return (x * x * -0.5).exp() * _INV_SQRT_2PI


@primitive("GeluBackward0", save=(0,), save_output=(1,))
def _gelu(ctx, xp, x):
    if fusable(xp, x):
        return cupy_kernels.gelu_forward(xp, x)
    return _gelu_and_cdf(xp, x)


@_gelu.derivative
def _(ctx, g, g_cdf):
    x, cdf = ctx.saved_tensors
    gx = None if g is None else _gelu_backward(g, x, cdf)
    if g_cdf is not None:  # only reached in double backward, through _gelu_backward's cdf input
        gx = g_cdf * _pdf(x) if gx is None else gx + g_cdf * _pdf(x)
    return (gx,)


@primitive("GeluBackwardBackward0", save=(0, 1, 2))
def _gelu_backward(ctx, xp, g, x, cdf):
    if fusable(xp, x):
        return cupy_kernels.gelu_backward(xp, g, x, cdf)
    if x.size and compiled.usable(g, x, cdf) and g.dtype == x.dtype == cdf.dtype and g.shape == x.shape == cdf.shape:
        from ember.ops import gelu_kernels  # optional dependency: numba, imported on first use
        return gelu_kernels.gelu_grad(g, x, cdf)

    def grad_into(t, g, x, cdf):
        xp.multiply(x, x, out=t)
        t *= -0.5
        xp.exp(t, out=t)
        t *= x
        t *= _INV_SQRT_2PI
        t += cdf
        t *= g

    return blocked(grad_into, xp.empty_like(x), g, x, cdf)  # empty_like: an array even for 0-d inputs


@_gelu_backward.derivative
def _(ctx, gg):
    g, x, cdf = ctx.saved_tensors
    pdf = _pdf(x)
    need_g, need_x, need_cdf = ctx.needs_input_grad
    grad_g = gg * (cdf + x * pdf) if need_g else None
    grad_x = gg * g * pdf * (1.0 - x * x) if need_x else None  # d/dx of x phi(x); Phi's part goes via cdf
    grad_cdf = gg * g if need_cdf else None
    return grad_g, grad_x, grad_cdf


def gelu(input):
    """Exact GELU ``x * Phi(x)`` as one node (``GeluBackward0``): ``gelu(ember.tensor([0.0]))`` -> ``[0.]``."""
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"GeluKernelImpl\" not implemented for '{input.type().split('.')[-1][:-6]}'")
    return _gelu(input)[0]


# forward-mode rule (run by ember.ops.dual) --------------------------------------------------------

@_gelu.jvp
def _(j):
    x, t, cdf = j.inputs[0], j.tangents[0], j.out[1]
    pdf_t = _pdf(x) * t
    return cdf * t + x * pdf_t, pdf_t


# sigmoid-gated: x * sigmoid(b (x + a x^3)) --------------------------------------------------------

def _gate_forward(xp, x, a, b):
    """``(x * s, s)`` with ``s = sigmoid(b (x + a x^3))``, in x's dtype (half precision through float32)."""
    if x.dtype.itemsize >= 4 and x.size and compiled.usable(x):
        from ember.ops import swish_kernels  # optional dependency: numba, imported on first use
        return swish_kernels.gate_forward(x, a, b)
    if x.dtype.itemsize < 4:
        y, s = _gate_forward(xp, x.astype(xp.float32), a, b)
        return y.astype(x.dtype), s.astype(x.dtype)
    s = xp.empty_like(x)  # arrays even for 0-d inputs
    if a == 0.0:
        xp.multiply(x, -b, out=s)
    else:  # -b x (1 + a x^2)
        xp.multiply(x, x, out=s)
        s *= -a * b
        s -= b
        s *= x
    xp.exp(s, out=s)  # 1 / (1 + exp(-z)): exp overflows to inf below z ~ -88 (float32), giving 0
    s += 1
    xp.reciprocal(s, out=s)
    return xp.multiply(x, s, out=xp.empty_like(x)), s


def _gate_backward(xp, g, x, s, a, b):
    """``g * (s + x s (1 - s) z'(x))``, ``z' = b (1 + 3 a x^2)``."""
    if (x.size and compiled.usable(g, x, s) and g.dtype == x.dtype == s.dtype and g.shape == x.shape == s.shape):
        from ember.ops import swish_kernels  # optional dependency: numba, imported on first use
        return swish_kernels.gate_grad(g, x, s, a, b)

    def grad_into(t, g, x, s):
        xp.subtract(1, s, out=t)
        t *= s
        t *= x
        if a == 0.0:
            t *= b
        else:
            t *= (x * x) * (3 * a * b) + b
        t += s
        t *= g

    return blocked(grad_into, xp.empty_like(x), g, x, s)


def _slope(x, a, b):
    """z'(x) in ember ops."""
    return b if a == 0.0 else (x * x * (3.0 * a) + 1.0) * b


def _sigmoid_slope(x, s, a, b):
    """``s (1 - s)``, the sigmoid's derivative at z, with ``1 - s`` as ``sigmoid(-z)``: from the saved s it
    would keep no digit where s rounds to 1 (z > 17 in float32), and second derivatives live on it."""
    z = x * b if a == 0.0 else (x * x * a + 1.0) * x * b
    return s * (-z).sigmoid()


def _gated(name, node, a, b):
    """The primitive of ``x * sigmoid(b (x + a x^3))``, returning ``(y, s)``, and its backward's, both with
    derivatives and forward-mode rules (torch's node names: ``node`` and ``node`` + ``Backward0``)."""
    @primitive(node, save=(0,), save_output=(1,), name=name)
    def forward(ctx, xp, x):
        return _gate_forward(xp, x, a, b)

    @primitive(node[:-1] + "Backward0", save=(0, 1, 2), name=name + "_backward")
    def backward(ctx, xp, g, x, s):
        return _gate_backward(xp, g, x, s, a, b)

    @forward.derivative
    def _(ctx, g, g_s):
        x, s = ctx.saved_tensors
        gx = None if g is None else backward(g, x, s)
        if g_s is not None:  # only reached in double backward, through the backward's s input
            gs = g_s * _sigmoid_slope(x, s, a, b) * _slope(x, a, b)
            gx = gs if gx is None else gx + gs
        return (gx,)

    @forward.jvp
    def _(j):
        x, t, s = j.inputs[0], j.tangents[0], j.out[1]
        return backward(t, x, s), t * _sigmoid_slope(x, s, a, b) * _slope(x, a, b)

    @backward.derivative
    def _(ctx, gg):
        g, x, s = ctx.saved_tensors
        need_g, need_x, need_s = ctx.needs_input_grad
        grad_g = backward(gg, x, s) if need_g else None
        # d/dx of x s (1 - s) z'(x) with s held: its own dependence on x goes back through s
        grad_x = gg * g * _sigmoid_slope(x, s, a, b) * (_slope(x, a, b) + x * x * (6.0 * a * b)) if need_x else None
        grad_s = gg * g * (1.0 + x * _slope(x, a, b) * (1.0 - 2.0 * s)) if need_s else None
        return grad_g, grad_x, grad_s

    backward.jvp(elementwise)
    return forward


_silu = _gated("silu", "SiluBackward0", 0.0, 1.0)
_gelu_tanh = _gated("gelu_tanh", "GeluBackward0", 0.044715, 2.0 * math.sqrt(2.0 / math.pi))


def silu(input):
    """``x * sigmoid(x)`` as one node (``SiluBackward0``); complex inputs take the composed form, as torch's
    do: ``silu(ember.tensor([0.0]))`` -> ``[0.]``."""
    if input.dtype.is_complex:
        return input * input.sigmoid()
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"silu_cpu\" not implemented for '{input.type().split('.')[-1][:-6]}'")
    return _silu(input)[0]


def gelu_tanh(input):
    """``x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2`` as one node (``GeluBackward0``):
    ``gelu_tanh(ember.tensor([0.0]))`` -> ``[0.]``."""
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"GeluKernelImpl\" not implemented for '{input.type().split('.')[-1][:-6]}'")
    return _gelu_tanh(input)[0]


# Mish: x * tanh(softplus(x)) ------------------------------------------------------------------------

def _mish_forward(xp, x):
    """Mish in x's dtype (half precision through float32)."""
    if x.dtype.itemsize >= 4 and x.size and compiled.usable(x):
        from ember.ops import mish_kernels  # optional dependency: numba, imported on first use
        return mish_kernels.mish(x)
    if x.dtype.itemsize < 4:
        return _mish_forward(xp, x.astype(xp.float32)).astype(x.dtype)
    y = _tanh_softplus(xp, x)
    y *= x
    return y


def _tanh_softplus(xp, x):
    """tanh(softplus(x)), softplus as ``max(x, 0) + log1p(exp(-|x|))`` (float32 ``logaddexp`` is 30x slower)."""
    t = xp.abs(x, out=xp.empty_like(x))  # arrays even for 0-d inputs
    xp.negative(t, out=t)
    xp.exp(t, out=t)
    xp.log1p(t, out=t)
    t += xp.maximum(x, 0)
    return xp.tanh(t, out=t)


@primitive("MishBackward0", save=(0,))
def _mish(ctx, xp, x):
    return _mish_forward(xp, x)


@primitive("MishBackwardBackward0", save=(0, 1))
def _mish_backward(ctx, xp, g, x):
    """``g * (t + x sigmoid(x) (1 - t^2))``, ``t = tanh(softplus(x))``."""
    if x.size and compiled.usable(g, x) and g.dtype == x.dtype and g.shape == x.shape:
        from ember.ops import mish_kernels  # optional dependency: numba, imported on first use
        return mish_kernels.mish_grad(g, x)

    def grad_into(out, g, x):
        t = _tanh_softplus(xp, x)
        xp.multiply(t, t, out=out)
        xp.subtract(1, out, out=out)
        out *= x
        out /= 1 + xp.exp(-x)
        out += t
        out *= g

    return blocked(grad_into, xp.empty_like(x), g, x)


def _mish_parts(x):
    """``(tanh(softplus(x)), sech^2(softplus(x)), sigmoid(x))`` in ember ops; the sech^2 from ``u = exp(softplus)``
    as ``4 / (u + 1/u)^2``, which keeps its digits where ``1 - t^2`` would round to 0."""
    softplus = x.clamp(min=0.0) + (-x.abs()).exp().log1p()
    u = softplus.exp()
    return softplus.tanh(), 4.0 / (u + 1.0 / u) ** 2, x.sigmoid()


@_mish.derivative
def _(ctx, g):
    (x,) = ctx.saved_tensors
    return (_mish_backward(g, x),)


@_mish.jvp
def _(j):
    return _mish_backward(j.tangents[0], j.inputs[0])


@_mish_backward.derivative
def _(ctx, gg):
    g, x = ctx.saved_tensors
    need_g, need_x = ctx.needs_input_grad
    grad_g = _mish_backward(gg, x) if need_g else None
    grad_x = None
    if need_x:  # d/dx (t + x sigmoid sech^2) = sigmoid sech^2 (2 + x (1 - sigmoid - 2 t sigmoid))
        t, sech2, sigmoid = _mish_parts(x)
        grad_x = gg * g * sigmoid * sech2 * (2.0 + x * (1.0 - sigmoid - 2.0 * t * sigmoid))
    return grad_g, grad_x


_mish_backward.jvp(elementwise)


def mish(input):
    """``x * tanh(softplus(x))`` as one node (``MishBackward0``): ``mish(ember.tensor([0.0]))`` -> ``[0.]``."""
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"mish_cpu\" not implemented for '{input.type().split('.')[-1][:-6]}'")
    return _mish(input)
