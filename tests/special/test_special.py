"""ember.special against torch.special: values on every function, gradients where torch defines them."""
import numpy as np
import pytest
import torch

import ember
from tests.oracle import check, gradcheck, rand

# name -> (low, high) of the sampled inputs, and whether torch differentiates it
UNARY = {
    "airy_ai": (-3, 3, False), "bessel_j0": (-5, 5, False), "bessel_j1": (-5, 5, False), "bessel_y0": (0.1, 5, False),
    "bessel_y1": (0.1, 5, False), "modified_bessel_i0": (-3, 3, False), "modified_bessel_i1": (-3, 3, False),
    "modified_bessel_k0": (0.1, 3, False), "modified_bessel_k1": (0.1, 3, False),
    "scaled_modified_bessel_k0": (0.1, 3, False), "scaled_modified_bessel_k1": (0.1, 3, False),
    "spherical_bessel_j0": (-5, 5, False), "digamma": (0.5, 4, True), "psi": (0.5, 4, True), "entr": (0.1, 3, True),
    "erf": (-2, 2, True), "erfc": (-2, 2, True), "erfcx": (-2, 5, True), "erfinv": (-0.9, 0.9, True),
    "exp2": (-2, 2, True), "expit": (-3, 3, True), "expm1": (-2, 2, True), "gammaln": (0.5, 4, True),
    "i0": (-3, 3, True), "i0e": (-3, 3, True), "i1": (-3, 3, True), "i1e": (-3, 3, True), "log1p": (-0.5, 2, True),
    "log_ndtr": (-3, 3, True), "logit": (0.1, 0.9, True), "ndtr": (-3, 3, True), "ndtri": (0.05, 0.95, True),
    "round": (-3, 3, True), "sinc": (-2, 2, True),
}
BINARY = {"gammainc": ((0.5, 3), (0.1, 4)), "gammaincc": ((0.5, 3), (0.1, 4)), "zeta": ((1.5, 4), (0.5, 3)),
          "xlog1py": ((-2, 2), (-0.5, 3)), "xlogy": ((-2, 2), (0.1, 3))}
POLYNOMIALS = ["chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w",
               "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
               "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he",
               "laguerre_polynomial_l", "legendre_polynomial_p"]


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unary_matches_torch(name, dtype):
    low, high, diff = UNARY[name]
    x = rand(3, 5, dtype=dtype, low=low, high=high)
    fn = lambda lib, t: getattr(lib.special, name)(t)  # noqa: E731
    # torch's Bessel and Airy approximations agree with scipy's to about 2e-5 (relative) only
    rtol = 1e-4 if dtype == np.float32 else 1e-8 if diff else 5e-5
    check(fn, x, grad=diff, atol=1e-5 if dtype == np.float32 else 1e-10, rtol=rtol)
    if dtype == np.float32:
        check(fn, x, grad=diff, layout="transposed", atol=1e-5)
        out = getattr(ember.special, name)(ember.tensor(x, requires_grad=True))
        assert out.requires_grad == diff


@pytest.mark.parametrize("name", [n for n, v in sorted(UNARY.items()) if v[2] and n != "round"])
def test_unary_gradcheck(name):
    low, high, _ = UNARY[name]
    gradcheck(lambda lib, t: getattr(lib.special, name)(t), rand(4, dtype=np.float64, low=low, high=high),
              gradgrad=name not in ("digamma", "psi", "gammaln"))


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_matches_torch(name):
    (la, ha), (lb, hb) = BINARY[name]
    a, b = rand(3, 1, dtype=np.float64, low=la, high=ha), rand(4, dtype=np.float64, low=lb, high=hb)
    if name in ("gammainc", "gammaincc", "zeta"):  # torch differentiates the second argument only
        check(lambda lib, x: getattr(lib.special, name)(x, lib.tensor(b, requires_grad=True)), a, grad=False,
              atol=1e-10)
        check(lambda lib, y: getattr(lib.special, name)(lib.tensor(a), y), b, atol=1e-9)
        gradcheck(lambda lib, y: getattr(lib.special, name)(lib.tensor(a, dtype=lib.float64), y), b, gradgrad=False)
    else:
        check(lambda lib, x, y: getattr(lib.special, name)(x, y), a, b, atol=1e-10)
        gradcheck(lambda lib, x, y: getattr(lib.special, name)(x, y), a, b)
    if name not in ("gammainc", "gammaincc"):  # torch takes two tensors there
        check(lambda lib, x: getattr(lib.special, name)(x, 2.5), a, grad=False, atol=1e-10)


def test_top_level_aliases_match_torch():
    x = rand(5, dtype=np.float64, low=1, high=3)
    for name in ("igamma", "igammac"):
        check(lambda lib, t: getattr(lib, name)(lib.tensor(x), t), x, atol=1e-10)
    check(lambda lib, t: lib.mvlgamma(t, 3), x + 1, atol=1e-10)
    check(lambda lib, t: lib.special.multigammaln(t, 2), x, atol=1e-10)
    check(lambda lib, t: t.i0(), x, atol=1e-10)
    check(lambda lib, t: lib.sinc(t), np.array([0.0, 0.5, 1.0]), atol=1e-10)
    with pytest.raises(RuntimeError, match="All elements must be greater than"):
        ember.mvlgamma(ember.tensor([0.5]), 3)


@pytest.mark.parametrize("name", POLYNOMIALS)
def test_polynomials_match_torch(name):
    x = rand(4, 1, dtype=np.float64, low=-1.5, high=1.5)
    n = np.array([-1, 0, 1, 2, 3, 7], dtype=np.float64)
    check(lambda lib, t, m: getattr(lib.special, name)(t, m), x, n, grad=False, atol=1e-8, rtol=1e-8)
    check(lambda lib, t: getattr(lib.special, name)(t, 4), x, grad=False, atol=1e-8, rtol=1e-8)


def test_softmax_logsumexp_and_out():
    x = rand(3, 4, dtype=np.float64)
    check(lambda lib, t: lib.special.softmax(t, 1), x)
    check(lambda lib, t: lib.special.log_softmax(t, 0, dtype=lib.float32), x, atol=1e-5)
    check(lambda lib, t: lib.special.logsumexp(t, 1), x)
    out = ember.empty(0, dtype=ember.float64)
    assert ember.special.erfcx(ember.tensor(x), out=out) is out
    np.testing.assert_allclose(out.numpy(), torch.special.erfcx(torch.tensor(x)).numpy())
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        ember.special.i0e(ember.tensor(x, requires_grad=True), out=out)


def test_special_edge_values_match_torch():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -1.0])
    for name in ("entr", "sinc", "i0e", "i1", "erfcx", "ndtri", "log_ndtr"):
        np.testing.assert_allclose(getattr(ember.special, name)(ember.tensor(x)).numpy(),
                                   getattr(torch.special, name)(torch.tensor(x)).numpy(), equal_nan=True, rtol=1e-6)
