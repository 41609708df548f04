"""``ember.special``: PyTorch's ``torch.special`` (special functions, differentiable where PyTorch is).

>>> ember.special.erfcx(ember.tensor([0.5, 10.0]))
>>> ember.special.gammainc(ember.tensor(2.0), ember.tensor([0.5, 1.0]))
"""
from ember.ops import pointwise as _pointwise
from ember.ops import reduce as _reduce
from ember.ops import unary as _unary
from ember.ops.out import write_out as _write_out
from ember.ops.polynomials import (
    chebyshev_polynomial_t, chebyshev_polynomial_u, chebyshev_polynomial_v, chebyshev_polynomial_w,
    hermite_polynomial_h, hermite_polynomial_he, laguerre_polynomial_l, legendre_polynomial_p,
    shifted_chebyshev_polynomial_t, shifted_chebyshev_polynomial_u, shifted_chebyshev_polynomial_v,
    shifted_chebyshev_polynomial_w,
)
from ember.ops.special import (
    airy_ai, bessel_j0, bessel_j1, bessel_y0, bessel_y1, entr, erfcx, gammainc, gammaincc, i0, i0e, i1, i1e,
    log_ndtr, modified_bessel_i0, modified_bessel_i1, modified_bessel_k0, modified_bessel_k1, multigammaln, ndtr,
    ndtri, scaled_modified_bessel_k0, scaled_modified_bessel_k1, sinc, spherical_bessel_j0, xlog1py, zeta,
)

__all__ = [
    "airy_ai", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "chebyshev_polynomial_t", "chebyshev_polynomial_u",
    "chebyshev_polynomial_v", "chebyshev_polynomial_w", "digamma", "entr", "erf", "erfc", "erfcx", "erfinv", "exp2",
    "expit", "expm1", "gammainc", "gammaincc", "gammaln", "hermite_polynomial_h", "hermite_polynomial_he", "i0",
    "i0e", "i1", "i1e", "laguerre_polynomial_l", "legendre_polynomial_p", "log1p", "log_ndtr", "log_softmax", "logit",
    "logsumexp", "modified_bessel_i0", "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1",
    "multigammaln", "ndtr", "ndtri", "polygamma", "psi", "round", "scaled_modified_bessel_k0",
    "scaled_modified_bessel_k1", "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u",
    "shifted_chebyshev_polynomial_v", "shifted_chebyshev_polynomial_w", "sinc", "softmax", "spherical_bessel_j0",
    "xlog1py", "xlogy", "zeta",
]


def _with_out(fn, name):
    """An existing elementwise op under its torch.special name, accepting ``out=``."""
    def op(input, *args, out=None, **kwargs):
        return _write_out(name, out, fn(input, *args, **kwargs), (input,))
    op.__name__ = name
    op.__doc__ = f"``torch.special.{name}``: the same function as ``ember.{fn.__name__}``."
    return op


digamma = psi = _with_out(_unary.digamma, "digamma")
erf = _with_out(_unary.erf, "erf")
erfc = _with_out(_unary.erfc, "erfc")
erfinv = _with_out(_unary.erfinv, "erfinv")
exp2 = _with_out(_unary.exp2, "exp2")
expit = _with_out(_unary.sigmoid, "expit")
expm1 = _with_out(_unary.expm1, "expm1")
gammaln = _with_out(_unary.lgamma, "gammaln")
log1p = _with_out(_unary.log1p, "log1p")
logit = _with_out(_unary.logit, "logit")
round = _with_out(_unary.round, "round")  # noqa: A001 - torch.special's name
xlogy = _with_out(_pointwise.xlogy, "xlogy")
logsumexp = _with_out(_reduce.logsumexp, "logsumexp")


def polygamma(n, input, *, out=None):
    return _write_out("polygamma", out, _unary.polygamma(n, input), (input,))


def softmax(input, dim, *, dtype=None):
    return _pointwise.softmax(input, dim, dtype=dtype)


def log_softmax(input, dim, *, dtype=None):
    return _pointwise.log_softmax(input, dim, dtype=dtype)
