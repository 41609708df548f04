"""The compiled sigmoid and its first-order gradient (``swish_kernels.sigmoid``/``sigmoid_grad``, used by
``unary.sigmoid``) against the NumPy path and torch."""
import numpy as np
import pytest
import torch

import ember
from ember.backend import compiled
from ember.ops import unary
from tests.oracle import rand


@pytest.fixture
def kernel_on_small_inputs(monkeypatch):
    monkeypatch.setattr(unary, "KERNEL_MIN_ELEMENTS", 0)


def _run(lib, x, g, transposed=False):
    t = lib.tensor(x.T.copy() if transposed else x, requires_grad=True)
    y = (t.T if transposed else t).sigmoid()
    y.backward(lib.tensor(g))
    grad = t.grad.numpy()
    return y.detach().numpy(), grad.T if transposed else grad


@pytest.mark.parametrize("dtype,rtol", [(np.float32, 1.2e-7), (np.float64, 2.3e-16)])
@pytest.mark.parametrize("shape", [(1, 1), (21, 5), (300, 129)])
@pytest.mark.parametrize("transposed", [False, True])
def test_kernel_matches_numpy_path_and_torch(kernel_on_small_inputs, dtype, rtol, shape, transposed):
    x = rand(*shape, dtype=dtype, seed=1, low=-80, high=80)
    x.flat[:3] = [np.inf, -np.inf, np.nan][:x.size]
    g = rand(*shape, dtype=dtype, seed=2)
    got = _run(ember, x, g, transposed)
    with compiled.disabled():
        numpy_path = _run(ember, x, g, transposed)
    for want in (numpy_path, _run(torch, x, g, transposed)):
        # values within a few ulp (subnormal results flush to 0); the gradient g y (1 - y) within a few
        # ulp of g, as 1 - y cancels where y rounds near 1
        np.testing.assert_allclose(got[0], want[0], rtol=4 * rtol, atol=np.finfo(dtype).tiny)
        np.testing.assert_allclose(got[1], want[1], rtol=4 * rtol, atol=4 * np.finfo(dtype).eps)


def test_bits_do_not_depend_on_the_thread_count():
    x, g = rand(200_000, seed=3, low=-20, high=20), rand(200_000, seed=4)
    before = ember.get_num_threads()
    try:
        results = []
        for n in (1, 2, 3):
            ember.set_num_threads(n)
            results.append(_run(ember, x, g))
    finally:
        ember.set_num_threads(before)
    assert all(np.array_equal(a, b) for r in results[1:] for a, b in zip(results[0], r))


def test_gradients_of_gradients_through_the_kernel_path(kernel_on_small_inputs):
    x = ember.tensor(rand(4, 3, seed=5, low=-4, high=4).astype(np.float64), requires_grad=True)
    assert ember.autograd.gradcheck(lambda t: t.sigmoid(), (x,))
    assert ember.autograd.gradgradcheck(lambda t: t.sigmoid(), (x,))
