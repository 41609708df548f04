"""``row_math``'s inlined exp, expm1, tanh and sigmoid (``ember/ops/row_math.py``) against long-double references
in ulp, on magnitudes from subnormal to overflow, and on the special values."""
import numpy as np
import pytest

numba = pytest.importorskip("numba")

from ember.ops import row_math  # noqa: E402 - imports numba
from tests.oracle import ulps  # noqa: E402


def _loop(fn):
    @numba.njit(error_model="numpy")
    def run(x, out):
        for j in range(x.shape[0]):
            out[j] = fn(x[j])
    return run


EXP, EXPM1, TANH, SIGMOID, EXP_ANY = (_loop(f) for f in (
    row_math.exp_nonpositive, row_math.expm1_nonpositive, row_math.tanh, row_math.sigmoid, row_math.exp))
REFERENCE = {EXP: np.exp, EXPM1: np.expm1, TANH: np.tanh, SIGMOID: lambda x: 1 / (1 + np.exp(-x)), EXP_ANY: np.exp}


def _values(dtype):
    """Every magnitude from far below 1e-30 to past the exp's underflow, both signs."""
    rng = np.random.default_rng(0)
    scales = 10.0 ** np.arange(-38 if dtype == np.float32 else -300, 3)
    x = np.concatenate([rng.standard_normal(2000) * s for s in scales] + [np.linspace(-100, 100, 200_001)])
    return x.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fn,bound", [(EXP, 1.5), (EXPM1, 1.5), (TANH, 3.0), (SIGMOID, 3.0), (EXP_ANY, 1.5)],
                         ids=["exp", "expm1", "tanh", "sigmoid", "exp of any value"])
def test_within_a_few_ulp(fn, bound, dtype):
    """Measured: exp 1.2 / 1.0 ulp (float32 / float64), expm1 1.3 / 1.0, tanh 2.5 / 3.0, sigmoid 2.2 / 2.0,
    exp of any value 1.2 / 1.2. exp and expm1 take arguments <= 0, whose results stay normal (below that,
    exp gives 0 and expm1 -1); sigmoid's results stay normal above -87 (-708)."""
    x = _values(dtype)
    if fn is EXP_ANY:  # up to the largest finite result, whose scale 2**k itself would overflow
        top = _largest_finite_exp_argument(dtype)
        x = np.concatenate([x, np.linspace(top - 20, top, 100_001, dtype=dtype), np.linspace(-700, 700, 100_001)])
        x = x.astype(dtype)
        x = x[(x > (-87.0 if dtype == np.float32 else -708.0)) & (x <= top)]
    elif fn is SIGMOID:
        x = x[x > (-87.0 if dtype == np.float32 else -708.0)]
    elif fn is not TANH:
        x = -np.abs(x)
        x = x[x > (-87.0 if dtype == np.float32 else -708.0)]
    got = np.empty_like(x)
    fn(x, got)
    exact = REFERENCE[fn](x.astype(np.longdouble))
    assert got.dtype == dtype
    assert ulps(got, exact, dtype).max() <= bound


def _largest_finite_exp_argument(dtype):
    top = dtype(np.log(np.finfo(dtype).max))
    while np.exp(np.longdouble(top)) > np.finfo(dtype).max:
        top = np.nextafter(top, dtype(-np.inf))
    return top


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_special_values(dtype):
    tiny = np.finfo(dtype).smallest_subnormal
    x = np.array([0.0, -0.0, tiny, -tiny, 1e-30, 30.0, -30.0, 1e30, np.inf, -np.inf, np.nan], dtype)
    got = np.empty_like(x)
    TANH(x, got)
    np.testing.assert_array_equal(got[:-1], np.tanh(x[:-1]))  # exact here, signed zeros included
    assert np.array_equal(np.signbit(got[:2]), [False, True]) and np.isnan(got[-1])
    neg = np.array([-0.0, -1000.0, -np.inf, np.nan], dtype)
    out = np.empty_like(neg)
    EXPM1(neg, out)
    np.testing.assert_array_equal(out, [0.0, -1.0, -1.0, np.nan])
    EXP(neg, out)
    np.testing.assert_array_equal(out, [1.0, 0.0, 0.0, np.nan])
    top = _largest_finite_exp_argument(dtype)
    big = np.array([top, np.nextafter(top, dtype(np.inf)), np.inf, -np.inf, np.nan], dtype)
    out = np.empty_like(big)
    EXP_ANY(big, out)
    assert np.isfinite(out[0]) and out[0] > np.finfo(dtype).max / 2
    np.testing.assert_array_equal(out[1:], [np.inf, np.inf, 0.0, np.nan])
    SIGMOID(x, got)
    np.testing.assert_array_equal(got[:2], [0.5, 0.5])
    np.testing.assert_array_equal(got[-4:], [1.0, 1.0, 0.0, np.nan])  # 1e30, inf, -inf, nan
