"""The compiled ReLU and its first-order gradient (``relu_kernels``, used by ``unary.relu``) against the NumPy
path and torch, special values included."""
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
    y = (t.T if transposed else t).relu()
    y.backward(lib.tensor(g))
    grad = t.grad.numpy()
    return y.detach().numpy(), grad.T if transposed else grad


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 1), (21, 5), (600, 1000)])
@pytest.mark.parametrize("transposed", [False, True])
def test_kernel_matches_numpy_path_and_torch(kernel_on_small_inputs, dtype, shape, transposed):
    x, g = rand(*shape, dtype=dtype, seed=1), rand(*shape, dtype=dtype, seed=2)
    x.flat[:4] = [np.nan, np.inf, -np.inf, 0.0][:x.size]
    g.flat[4:6] = [np.nan, np.inf][:max(0, x.size - 4)]
    got = _run(ember, x, g, transposed)
    with compiled.disabled():
        numpy_path = _run(ember, x, g, transposed)
    for want in (numpy_path, _run(torch, x, g, transposed)):
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)


def test_bits_do_not_depend_on_the_thread_count():
    x, g = rand(1_200_000, seed=3), rand(1_200_000, seed=4)
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
    x = ember.tensor(rand(4, 3, seed=5).astype(np.float64) + 0.05, requires_grad=True)
    assert ember.autograd.gradcheck(lambda t: t.relu() * t, (x,))
    assert ember.autograd.gradgradcheck(lambda t: t.relu() * t, (x,))
