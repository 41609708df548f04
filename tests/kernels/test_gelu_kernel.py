"""The compiled float32 GELU forward (``ember/ops/gelu_kernels.py``) against float64 ``ndtr``, ember's NumPy
path and torch."""
import numpy as np
import pytest
import scipy.special

import ember
from ember.backend import compiled
from tests.oracle import check_layouts, gradcheck, rand, ulps

F = ember.nn.functional


def _forward_and_grad(x, g):
    t = ember.tensor(x, requires_grad=True)
    y = F.gelu(t)
    y.backward(ember.tensor(g))
    return y.detach().numpy(), t.grad.numpy()


@pytest.mark.parametrize("shape", [(1,), (7, 3, 37), (1025,), (3, 70001)])
def test_within_three_ulp_of_the_float64_cdf(shape):
    x = rand(*shape, seed=1, low=-14, high=9)
    y, cdf = ember.ops.activation_kernels._gelu(ember.tensor(x))
    exact_cdf = scipy.special.ndtr(x.astype(np.float64))
    assert ulps(cdf.numpy(), exact_cdf).max() <= 3
    assert ulps(y.numpy(), x.astype(np.float64) * exact_cdf).max() <= 3


def test_special_values_as_the_numpy_path():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-30, -1e-30, 40.0, -40.0], np.float32)
    g = np.ones_like(x)
    got = _forward_and_grad(x, g)
    with compiled.disabled():
        want = _forward_and_grad(x, g)
    for a, e in zip(got, want):
        np.testing.assert_array_equal(a, e)
    assert ember.ops.activation_kernels._gelu(ember.tensor(x))[1][0].item() == 0.5


@pytest.mark.parametrize("dtype,tol", [(np.float32, 3e-7), (np.float64, 1e-15)])
def test_kernels_run_and_match_the_numpy_path(dtype, tol):
    x, g = rand(64, 1000, dtype=dtype, seed=2, low=-6, high=6), rand(64, 1000, dtype=dtype, seed=3)
    got = _forward_and_grad(x, g)
    from ember.ops import gelu_kernels
    assert gelu_kernels._gelu_grad_chunks.compile_seconds is not None
    assert dtype == np.float64 or gelu_kernels._gelu_chunks.compile_seconds is not None
    with compiled.disabled():
        want = _forward_and_grad(x, g)
    for a, e in zip(got, want):
        np.testing.assert_allclose(a, e, rtol=tol, atol=tol)


def test_float64_gradcheck_through_the_kernels():
    gradcheck(lambda lib, x: lib.nn.functional.gelu(x), rand(5, 7, seed=6, low=-4, high=4))


def test_against_torch_on_every_layout():
    check_layouts(lambda lib, x: lib.nn.functional.gelu(x), rand(37, 29, seed=4, low=-8, high=8))


def test_results_do_not_depend_on_the_thread_count():
    x = rand(3 * 64 * 1024 + 77, seed=5, low=-10, high=10)  # three blocks of the kernel's split, and a tail
    before = ember.get_num_threads()
    runs = []
    try:
        for n in (1, 2, 3):
            ember.set_num_threads(n)
            runs.append(F.gelu(ember.tensor(x)).numpy())
    finally:
        ember.set_num_threads(before)
    for other in runs[1:]:
        np.testing.assert_array_equal(other, runs[0])
