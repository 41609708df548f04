"""Special functions (``torch.special``): forwards from scipy.special (cupyx.scipy.special on
the GPU), derivatives in ember ops wherever PyTorch defines one.

Functions PyTorch gives no derivative (Bessel and Airy functions, orthogonal polynomials)
are primitives without one: their results do not require grad, as in PyTorch.
"""
import math

from ember.backend.dtype import get_default_dtype
from ember.ops.dispatch import PRIMITIVES, Primitive, apply, binary
from ember.ops.dual import elementwise
from ember.ops.out import write_out
from ember.ops.pointwise import where
from ember.ops.registry import public
from ember.backend.arrays import special as scipy_special

_SQRT_2PI = math.sqrt(2 * math.pi)
_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)


def _floating(x):
    return x if x._dtype.category >= 2 else x.to(get_default_dtype())


def _unary(name, node, forward, derivative=None, save="x"):
    """A one-input special function; ``derivative(saved, g)`` reads the input (``"x"``) or result (``"y"``)."""
    prim = Primitive(lambda ctx, xp, x: forward(xp, scipy_special(xp), x), node,
                     save=(0,) if save == "x" else (), save_output=save == "y", name=f"special_{name}")
    if derivative is not None:
        prim.derivative(lambda ctx, g: derivative(ctx.saved_tensors[0], g))

    def op(input, *, out=None):
        return _out(name, out, apply(prim, (_floating(input),), {}), input)
    op.__name__ = name
    op.__doc__ = f"Elementwise ``{name}`` (as ``torch.special.{name}``)."
    return op


def _binary(name, node, forward, derivative=None):
    """A two-input special function over promoted, broadcast operands (tensors or Python numbers)."""
    prim = Primitive(lambda ctx, xp, a, b: forward(xp, scipy_special(xp), a, b), node, save=(0, 1),
                     name=f"special_{name}")
    if derivative is not None:
        prim.derivative(lambda ctx, g: derivative(*ctx.saved_tensors, g, ctx.needs_input_grad))

    def op(input, other, *, out=None):
        return _out(name, out, binary(prim, input, other, float_result=True), input, other)
    op.__name__ = name
    op.__doc__ = f"Elementwise ``{name}`` of two broadcast operands (as ``torch.special.{name}``)."
    return op


def _out(name, out, result, *inputs):
    return write_out(name, out, result, inputs)


# derivatives ------------------------------------------------------------------------------

def _sinc_grad(x, g):
    px = x * math.pi
    return where(x == 0, 0.0, g * (px.cos() * px - px.sin()) / (px * x))


def _i1_grad(x, g):
    return where(x == 0, 0.5 * g, g * (i0(x) - i1(x) / x))


def _i1e_grad(x, g):
    return where(x == 0, 0.5 * g, g * (i0e(x) - i1e(x) * (x.sign() + 1 / x)))


def _gammainc_grad(a, x, g, needs, sign=1.0):
    if needs[0]:
        raise NotImplementedError("the derivative for 'igamma: input' is not implemented.")
    gx = g * sign * (-x + (a - 1) * x.log() - a.lgamma()).exp()
    return None, gx


def _zeta_grad(x, q, g, needs):
    if needs[0]:
        raise NotImplementedError("the derivative for 'special_zeta: self' is not implemented.")
    return None, g * -x * zeta(x + 1, q)


def _xlog1py_grad(x, y, g, needs):
    gx = where((x == 0) & (y > -1), 0.0, g * y.log1p()) if needs[0] else None  # 0 * log1p(y) stays 0
    gy = g * x / (1 + y) if needs[1] else None
    return gx, gy


# elementwise functions --------------------------------------------------------------------

i0 = public(_unary("i0", "I0Backward0", lambda xp, sp, x: sp.i0(x), lambda x, g: g * i1(x)), inplace=True)
i0e = _unary("i0e", "SpecialI0EBackward0", lambda xp, sp, x: sp.i0e(x),
             lambda x, g: g * (i1e(x) - x.sign() * i0e(x)))
i1 = _unary("i1", "SpecialI1Backward0", lambda xp, sp, x: sp.i1(x), _i1_grad)
i1e = _unary("i1e", "SpecialI1EBackward0", lambda xp, sp, x: sp.i1e(x), _i1e_grad)
sinc = public(_unary("sinc", "SincBackward0", lambda xp, sp, x: xp.sinc(x), _sinc_grad), inplace=True)
entr = _unary("entr", "SpecialEntrBackward0",
              lambda xp, sp, x: xp.where(x > 0, -x * xp.log(xp.where(x > 0, x, 1)),
                                         xp.where(x == 0, 0, xp.where(x < 0, -xp.inf, x))).astype(x.dtype),
              lambda x, g: g * -(1 + x.log()))
erfcx = _unary("erfcx", "SpecialErfcxBackward0", lambda xp, sp, x: sp.erfcx(x),
               lambda x, g: g * (2 * x * erfcx(x) - _TWO_OVER_SQRT_PI))
ndtri = _unary("ndtri", "SpecialNdtriBackward0", lambda xp, sp, x: sp.ndtri(x),
               lambda y, g: g * _SQRT_2PI * (y * y / 2).exp(), save="y")
log_ndtr = _unary("log_ndtr", "SpecialLogNdtrBackward0", lambda xp, sp, x: sp.log_ndtr(x),
                  lambda x, g: g * (-x * x / 2 - log_ndtr(x)).exp() / _SQRT_2PI)
airy_ai = _unary("airy_ai", None, lambda xp, sp, x: sp.airy(x)[0].astype(x.dtype))
bessel_j0 = _unary("bessel_j0", None, lambda xp, sp, x: sp.j0(x))
bessel_j1 = _unary("bessel_j1", None, lambda xp, sp, x: sp.j1(x))
bessel_y0 = _unary("bessel_y0", None, lambda xp, sp, x: sp.y0(x))
bessel_y1 = _unary("bessel_y1", None, lambda xp, sp, x: sp.y1(x))
modified_bessel_i0 = _unary("modified_bessel_i0", None, lambda xp, sp, x: sp.i0(x))
modified_bessel_i1 = _unary("modified_bessel_i1", None, lambda xp, sp, x: sp.i1(x))
modified_bessel_k0 = _unary("modified_bessel_k0", None, lambda xp, sp, x: sp.k0(x))
modified_bessel_k1 = _unary("modified_bessel_k1", None, lambda xp, sp, x: sp.k1(x))
scaled_modified_bessel_k0 = _unary("scaled_modified_bessel_k0", None, lambda xp, sp, x: sp.k0e(x))
scaled_modified_bessel_k1 = _unary("scaled_modified_bessel_k1", None, lambda xp, sp, x: sp.k1e(x))
spherical_bessel_j0 = _unary("spherical_bessel_j0", None,
                             lambda xp, sp, x: xp.where(x == 0, 1, xp.sin(x) / xp.where(x == 0, 1, x)).astype(x.dtype))

gammainc = _binary("gammainc", "IgammaBackward0", lambda xp, sp, a, x: sp.gammainc(a, x), _gammainc_grad)
gammaincc = _binary("gammaincc", "IgammacBackward0", lambda xp, sp, a, x: sp.gammaincc(a, x),
                    lambda a, x, g, needs: _gammainc_grad(a, x, g, needs, -1.0))
zeta = _binary("zeta", "SpecialZetaBackward0", lambda xp, sp, x, q: sp.zeta(x, q), _zeta_grad)
xlog1py = _binary("xlog1py", "SpecialXlog1PyBackward0",
                  lambda xp, sp, x, y: xp.where((x == 0) & ~xp.isnan(y), 0, x * xp.log1p(y)).astype(
                      xp.result_type(x, y)), _xlog1py_grad)


@public(inplace=True)
def igamma(input, other, *, out=None):
    """The regularized lower incomplete gamma function P(input, other)."""
    return gammainc(input, other, out=out)


@public(inplace=True)
def igammac(input, other, *, out=None):
    """The regularized upper incomplete gamma function Q(input, other)."""
    return gammaincc(input, other, out=out)


@public(inplace=True)
def mvlgamma(input, p):
    """The log of the multivariate gamma function of dimension ``p`` (all elements must exceed (p - 1) / 2)."""
    if p < 1:
        raise RuntimeError(f"p has to be greater than or equal to 1 (got {p})")
    if bool(((input <= (p - 1) / 2)).any()):
        raise RuntimeError(f"All elements must be greater than (p-1)/2 (got p={p})")
    terms = [(input - j / 2).lgamma() for j in range(p)]
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    return total + p * (p - 1) / 4 * math.log(math.pi)


def ndtr(input, *, out=None):
    """The standard normal cumulative distribution function."""
    x = _floating(input)
    return _out("ndtr", out, (1 + (x * (1 / math.sqrt(2))).erf()) * 0.5, input)


def multigammaln(input, p, *, out=None):
    return _out("multigammaln", out, mvlgamma(input, p), input)

# forward-mode rules (run by ember.ops.dual) --------------------------------------------------

for _name in ("i0", "i0e", "i1", "i1e", "sinc", "entr", "erfcx", "ndtri", "log_ndtr", "xlog1py", "gammainc",
              "gammaincc", "zeta"):
    PRIMITIVES[f"special_{_name}"].jvp(elementwise)
