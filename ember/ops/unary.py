"""Elementwise unary math. Each op is one record: its forward on ``xp`` and its
derivative in ember ops, reading either the input (``save="x"``) or the result
(``save="y"``)."""
import math

from ember._tensor import Tensor
from ember.autograd import forward_ad
from ember.autograd.grad_mode import is_grad_enabled
from ember.backend import compiled
from ember.backend.arrays import special
from ember.backend.dtype import from_numpy_dtype, get_default_dtype, torch_name
from ember.ops.dispatch import Primitive, apply, primitive
from ember.ops.dual import elementwise, transposed_vjp
from ember.ops.inplace import inplace
from ember.ops.pointwise import where
from ember.ops.registry import public


def unary(name, node, forward, derivative=None, save="x", float_only=True, aliases=(), no_bool=None,
          holomorphic=True):
    """Declare an elementwise op ``name`` from ``forward(xp, x)`` and ``derivative(saved, g)``.

    Integer inputs of a ``float_only`` op compute in the default float dtype; ``no_bool``
    is the (exception type, message) raised for bool inputs. The forward-mode rule is the
    derivative applied to the tangent (with the saved value unconjugated); a function that
    is not ``holomorphic`` takes the generic rule on complex inputs."""
    prim = Primitive(lambda ctx, xp, x: forward(xp, x), node,
                     save=(0,) if save == "x" else (), save_output=save == "y", name=name)
    if derivative is not None:
        prim.derivative(lambda ctx, g: derivative(_conj(ctx.saved_tensors[0]), g) if save else derivative(None, g))
        prim.jvp(lambda j: transposed_vjp(j) if not holomorphic and j.inputs[0]._dtype.category == 3 else
                 derivative(j.inputs[0] if save == "x" else j.out if save == "y" else None, j.tangents[0]))

    def op(input):
        if no_bool is not None and input._dtype.name == "bool":
            raise no_bool[0](no_bool[1])
        if float_only and input._dtype.category < 2:
            input = input.to(get_default_dtype())
        return apply(prim, (input,), {})
    op.__name__ = name
    op.__doc__ = f"Elementwise ``{name}``: ``ember.{name}(x)`` or ``x.{name}()``."
    return public(op, inplace=True, aliases=aliases)


def _conj(saved):
    """Holomorphic ops take the conjugate of their derivative (PyTorch's convention for complex gradients)."""
    return saved.conj() if saved._dtype.category == 3 else saved


def _zero(_, g):
    return g * 0


def _keep_ints(forward):
    """Rounding leaves integer (and bool) values as they are."""
    return lambda xp, x: x.copy() if x.dtype.kind in "iub" else forward(xp, x)


_NEG_BOOL = (RuntimeError, "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
             "invert a mask, use the `~` or `logical_not()` operator instead.")


_LN2, _LN10 = math.log(2.0), math.log(10.0)

neg = unary("neg", "NegBackward0", lambda xp, x: -x, lambda _, g: -g, save=None, float_only=False, aliases=("negative",),
            no_bool=_NEG_BOOL)
abs = unary("abs", "AbsBackward0", lambda xp, x: xp.abs(x), lambda x, g: g * x.conj().sgn(), float_only=False,
            aliases=("absolute",), no_bool=(NotImplementedError, "\"abs_cpu\" not implemented for 'Bool'"),
            holomorphic=False)
sqrt = unary("sqrt", "SqrtBackward0", lambda xp, x: xp.sqrt(x), lambda y, g: g / (2 * y), save="y")
rsqrt = unary("rsqrt", "RsqrtBackward0", lambda xp, x: 1 / xp.sqrt(x), lambda y, g: -0.5 * g * y ** 3, save="y")
exp = unary("exp", "ExpBackward0", lambda xp, x: xp.exp(x), lambda y, g: g * y, save="y")
exp2 = unary("exp2", "Exp2Backward0", lambda xp, x: xp.exp2(x), lambda y, g: g * y * _LN2, save="y")
expm1 = unary("expm1", "Expm1Backward0", lambda xp, x: xp.expm1(x), lambda y, g: g * (y + 1), save="y")
log = unary("log", "LogBackward0", lambda xp, x: xp.log(x), lambda x, g: g / x)
log2 = unary("log2", "Log2Backward0", lambda xp, x: xp.log2(x), lambda x, g: g / (x * _LN2))
log10 = unary("log10", "Log10Backward0", lambda xp, x: xp.log10(x), lambda x, g: g / (x * _LN10))
log1p = unary("log1p", "Log1PBackward0", lambda xp, x: xp.log1p(x), lambda x, g: g / (x + 1))
sin = unary("sin", "SinBackward0", lambda xp, x: xp.sin(x), lambda x, g: g * x.cos())
cos = unary("cos", "CosBackward0", lambda xp, x: xp.cos(x), lambda x, g: -g * x.sin())
tan = unary("tan", "TanBackward0", lambda xp, x: xp.tan(x), lambda y, g: g * (1 + y * y), save="y")
asin = unary("asin", "AsinBackward0", lambda xp, x: xp.arcsin(x), lambda x, g: g * (1 - x * x).rsqrt(), aliases=("arcsin",))
acos = unary("acos", "AcosBackward0", lambda xp, x: xp.arccos(x), lambda x, g: -g * (1 - x * x).rsqrt(), aliases=("arccos",))
atan = unary("atan", "AtanBackward0", lambda xp, x: xp.arctan(x), lambda x, g: g / (1 + x * x), aliases=("arctan",))
sinh = unary("sinh", "SinhBackward0", lambda xp, x: xp.sinh(x), lambda x, g: g * x.cosh())
cosh = unary("cosh", "CoshBackward0", lambda xp, x: xp.cosh(x), lambda x, g: g * x.sinh())
tanh = unary("tanh", "TanhBackward0", lambda xp, x: xp.tanh(x), lambda y, g: g * (1 - y * y), save="y")
asinh = unary("asinh", "AsinhBackward0", lambda xp, x: xp.arcsinh(x), lambda x, g: g * (x * x + 1).rsqrt(), aliases=("arcsinh",))
acosh = unary("acosh", "AcoshBackward0", lambda xp, x: xp.arccosh(x), lambda x, g: g * (x * x - 1).rsqrt(), aliases=("arccosh",))
atanh = unary("atanh", "AtanhBackward0", lambda xp, x: xp.arctanh(x), lambda x, g: g / (1 - x * x), aliases=("arctanh",))


def _kernel_fits(*arrays):
    """Host float32/float64 arrays of one dtype and shape, large enough that a kernel call pays."""
    x = arrays[0]
    return (x.size >= KERNEL_MIN_ELEMENTS and x.dtype.kind == "f" and x.dtype.itemsize >= 4
            and all(a.dtype == x.dtype and a.shape == x.shape for a in arrays) and compiled.usable(*arrays))


KERNEL_MIN_ELEMENTS = 4096  # below, NumPy's ufunc calls cost less than a kernel's dispatch


def _sigmoid(xp, x):
    """1 / (1 + exp(-x)): one pass in ``swish_kernels`` on the CPU; else NumPy's SIMD exp, ~4x faster than
    scipy's expit and as accurate."""
    if _kernel_fits(x):
        from ember.ops import swish_kernels  # optional dependency: numba, imported on first use
        return swish_kernels.sigmoid(x)
    e = xp.exp(-x)
    if not isinstance(e, xp.ndarray):  # a 0-d input gives a NumPy scalar
        return 1 / (1 + e)
    e += 1
    return xp.reciprocal(e, out=e)


@primitive("SigmoidBackwardBackward0", save=(0, 1))
def _sigmoid_backward(ctx, xp, g, y):
    """The first-order gradient ``g y (1 - y)`` on arrays, one pass on the CPU; the composed form in
    ``_sigmoid_derivative`` serves double backward and forward mode."""
    if _kernel_fits(y, g):
        from ember.ops import swish_kernels  # optional dependency: numba, imported on first use
        return swish_kernels.sigmoid_grad(g, y)
    return g * y * (1 - y)


@_sigmoid_backward.derivative
def _(ctx, gg):
    g, y = ctx.saved_tensors
    return gg * y * (1 - y), gg * g * (1 - 2 * y)


_sigmoid_backward.jvp(elementwise)


def _first_order_on_arrays(backward, composed):
    """A derivative from the output ``y``: ``backward(g, y)`` on arrays for a first-order backward, and
    ``composed(y, g)`` in ember ops (differentiable again) while a graph is built or forward mode runs."""
    def derivative(y, g):
        if is_grad_enabled() or forward_ad.state.active:
            return composed(y, g)
        return backward(g, y)
    return derivative


sigmoid = unary("sigmoid", "SigmoidBackward0", _sigmoid,
                _first_order_on_arrays(_sigmoid_backward, lambda y, g: g * y * (1 - y)), save="y")
erf = unary("erf", "ErfBackward0", lambda xp, x: special(xp).erf(x), lambda x, g: g * (2 / math.sqrt(math.pi)) * (-x * x).exp())
erfc = unary("erfc", "ErfcBackward0", lambda xp, x: special(xp).erfc(x),
             lambda x, g: g * (-2 / math.sqrt(math.pi)) * (-x * x).exp())
erfinv = unary("erfinv", "ErfinvBackward0", lambda xp, x: special(xp).erfinv(x),
               lambda y, g: g * (math.sqrt(math.pi) / 2) * (y * y).exp(), save="y")
reciprocal = unary("reciprocal", "ReciprocalBackward0", lambda xp, x: 1 / x, lambda y, g: -g * y * y, save="y")


def _relu(xp, x):
    if _kernel_fits(x):
        from ember.ops import relu_kernels  # optional dependency: numba, imported on first use
        return relu_kernels.relu(x)
    return xp.maximum(x, 0)


@primitive("ThresholdBackwardBackward0", save=(1,))
def _relu_backward(ctx, xp, g, y):
    """The first-order gradient, 0 where ``y <= 0`` else ``g`` (torch's threshold_backward: a NaN ``g`` at a
    zero output gives 0, a NaN output passes ``g``), on arrays, one pass on the CPU (``relu_kernels``)."""
    if _kernel_fits(y, g):
        from ember.ops import relu_kernels  # optional dependency: numba, imported on first use
        return relu_kernels.relu_grad(g, y)
    return xp.where(y <= 0, 0, g)


@_relu_backward.derivative
def _(ctx, gg):
    (y,) = ctx.saved_tensors
    return gg * (y > 0), None


_relu_backward.jvp(elementwise)


relu = unary("relu", "ReluBackward0", _relu, _first_order_on_arrays(_relu_backward, lambda y, g: g * (y > 0)), save="y",
             float_only=False, no_bool=(RuntimeError, "Boolean inputs not supported for relu"))


def _sign_of_ints(xp, x):
    """-1, 0 or 1; bools stay as they are and NaN gives 0, as in PyTorch."""
    if x.dtype.kind == "b":
        return x.copy()
    y = xp.sign(x)
    return xp.where(y != y, 0, y) if x.dtype.kind == "f" else y
sign = unary("sign", "SignBackward0", _sign_of_ints, _zero, save=None, float_only=False)
deg2rad = unary("deg2rad", "Deg2RadBackward0", lambda xp, x: x * (math.pi / 180), lambda _, g: g * (math.pi / 180),
                save=None)
rad2deg = unary("rad2deg", "Rad2DegBackward0", lambda xp, x: x * (180 / math.pi), lambda _, g: g * (180 / math.pi),
                save=None)
lgamma = unary("lgamma", "LgammaBackward0", lambda xp, x: special(xp).gammaln(x), lambda x, g: g * x.digamma())
digamma = unary("digamma", "DigammaBackward0", lambda xp, x: special(xp).digamma(x),
                lambda x, g: g * polygamma(1, x))
def _sgn_derivative(z_conj, g):
    """Zero for real inputs; for complex ``s = z/|z|`` the gradient ``(g - s Re(conj(s) g)) / |z|``."""
    if z_conj._dtype.category != 3:
        return g * 0
    z = z_conj.conj()
    r = z.abs()
    s = z / r
    return where(r == 0, 0.0, (g - s * (s.conj() * g).real) / r)


sgn = unary("sgn", "SgnBackward0", _sign_of_ints, _sgn_derivative, float_only=False, holomorphic=False)
floor = unary("floor", "FloorBackward0", _keep_ints(lambda xp, x: xp.floor(x)), _zero, save=None, float_only=False)
ceil = unary("ceil", "CeilBackward0", _keep_ints(lambda xp, x: xp.ceil(x)), _zero, save=None, float_only=False)
trunc = unary("trunc", "TruncBackward0", _keep_ints(lambda xp, x: xp.trunc(x)), _zero, save=None, float_only=False,
              aliases=("fix",))
frac = unary("frac", "FracBackward0", lambda xp, x: x - xp.trunc(x), lambda _, g: g, save=None)
logical_not = unary("logical_not", None, lambda xp, x: xp.logical_not(x), float_only=False)
isnan = unary("isnan", None, lambda xp, x: xp.isnan(x), float_only=False)
isinf = unary("isinf", None, lambda xp, x: xp.isinf(x), float_only=False)
isfinite = unary("isfinite", None, lambda xp, x: xp.isfinite(x), float_only=False)
signbit = unary("signbit", None, lambda xp, x: xp.signbit(x), float_only=False)


def _bitwise_not(xp, x):
    if x.dtype.kind == "f":
        raise NotImplementedError(f"\"bitwise_not_cpu\" not implemented for '{torch_name(from_numpy_dtype(x.dtype))}'"
                                  " (needs an integer or bool tensor)")
    return xp.invert(x)


bitwise_not = unary("bitwise_not", None, _bitwise_not, float_only=False)


def _round_forward(ctx, xp, x, decimals):
    return xp.round(x, decimals)


_round = Primitive(_round_forward, "RoundBackward0")
_round.derivative(lambda ctx, g: g * 0)
_round.jvp(lambda j: j.tangents[0] * 0)
_round_decimals = _round.variant("RoundBackward1")


@public(inplace=True)
def round(input, *, decimals=0):
    """Round half to even, like PyTorch: ``x.round()``, ``x.round(decimals=2)``."""
    return apply(_round_decimals if decimals else _round, (input,), {"decimals": decimals})


@public(inplace=True)
def square(input):
    """``input ** 2``; bool inputs give int64: ``x.square()``."""
    return input.long() ** 2 if input._dtype.name == "bool" else input ** 2


@primitive("LogitBackward0", save=(0,))
def _logit(ctx, xp, x, eps):
    ctx.eps = eps
    if eps is not None:
        x = xp.clip(x, eps, 1 - eps)
    return xp.log(x / (1 - x))


@_logit.derivative
def _(ctx, g):
    (x,) = ctx.saved_tensors
    grad = g / (x * (1 - x))
    if ctx.eps is None:
        return where((x < 0) | (x > 1), math.nan, grad)
    return where((x < ctx.eps) | (x > 1 - ctx.eps), 0.0, grad)


@_logit.jvp
def _(j):
    x, eps, t = j.inputs[0], j.params["eps"], j.tangents[0]
    tangent = t / (x * (1 - x))
    if eps is None:
        return where((x < 0) | (x > 1), math.nan, tangent)
    return where((x < eps) | (x > 1 - eps), 0.0, tangent)


@public(inplace=True)
def logit(input, eps=None):
    """``log(p / (1 - p))``, with ``p`` clamped to ``[eps, 1 - eps]`` when eps is given: ``p.logit()``."""
    if not input._dtype.is_floating_point:
        input = input.to(get_default_dtype())
    return apply(_logit, (input,), {"eps": eps})


@primitive("PolygammaBackward0", save=(0,))
def _polygamma(ctx, xp, x, n):
    ctx.n = n
    return special(xp).polygamma(n, x).astype(x.dtype, copy=False)


_polygamma.derivative(lambda ctx, g: g * polygamma(ctx.n + 1, ctx.saved_tensors[0]))
_polygamma.jvp(lambda j: j.tangents[0] * polygamma(j.params["n"] + 1, j.inputs[0]))


@public(method=False)
def polygamma(n, input):
    """The ``n``-th derivative of digamma: ``ember.polygamma(1, x)``."""
    if n < 0:
        raise RuntimeError(f"polygamma(n, x) does not support negative n. (got n={n})")
    if not input._dtype.is_floating_point:
        input = input.to(get_default_dtype())
    return apply(_polygamma, (input,), {"n": n})


def _polygamma_method(self, n):
    return polygamma(n, self)


Tensor.polygamma = _polygamma_method
Tensor.polygamma_ = lambda self, n: inplace(self, _polygamma_method, n)


def _invert(self):
    if self._dtype.is_floating_point:
        raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type tensors")
    return logical_not(self) if self._dtype.name == "bool" else bitwise_not(self)


Tensor.__neg__ = neg
Tensor.__abs__ = abs
Tensor.__invert__ = _invert
Tensor.__pos__ = lambda self: self
