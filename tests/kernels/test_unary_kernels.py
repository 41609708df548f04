"""The compiled sigmoid and ReLU with their first-order gradients (``swish_kernels.sigmoid``/``sigmoid_grad``
and ``relu_kernels``, used by ``unary.sigmoid`` and ``unary.relu``) against the NumPy path and torch."""
import numpy as np
import pytest
import torch

import ember
from ember.backend import compiled
from ember.ops import unary
from tests.oracle import rand

OPS = ["sigmoid", "relu"]


@pytest.fixture
def kernel_on_small_inputs(monkeypatch):
    monkeypatch.setattr(unary, "KERNEL_MIN_ELEMENTS", 0)


def _run(lib, name, x, g, transposed=False):
    t = lib.tensor(x.T.copy() if transposed else x, requires_grad=True)
    y = getattr(t.T if transposed else t, name)()
    y.backward(lib.tensor(g))
    grad = t.grad.numpy()
    return y.detach().numpy(), grad.T if transposed else grad


def _inputs(name, shape, dtype):
    if name == "sigmoid":
        x, g = rand(*shape, dtype=dtype, seed=1, low=-80, high=80), rand(*shape, dtype=dtype, seed=2)
        x.flat[:3] = [np.inf, -np.inf, np.nan][:x.size]
    else:
        x, g = rand(*shape, dtype=dtype, seed=1), rand(*shape, dtype=dtype, seed=2)
        x.flat[:4] = [np.nan, np.inf, -np.inf, 0.0][:x.size]
        g.flat[4:6] = [np.nan, np.inf][:max(0, x.size - 4)]
    return x, g


def _same(name, got, want, dtype):
    if name == "relu":  # exact: a select
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)
        return
    # sigmoid: values within a few ulp (subnormal results flush to 0); the gradient g y (1 - y) within a
    # few ulp of g, as 1 - y cancels where y rounds near 1
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(got[0], want[0], rtol=4 * eps, atol=np.finfo(dtype).tiny)
    np.testing.assert_allclose(got[1], want[1], rtol=4 * eps, atol=4 * eps)


@pytest.mark.parametrize("name", OPS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 1), (21, 5), (600, 1000)])
@pytest.mark.parametrize("transposed", [False, True])
def test_kernel_matches_numpy_path_and_torch(kernel_on_small_inputs, name, dtype, shape, transposed):
    x, g = _inputs(name, shape, dtype)
    got = _run(ember, name, x, g, transposed)
    with compiled.disabled():
        _same(name, got, _run(ember, name, x, g, transposed), dtype)
    _same(name, got, _run(torch, name, x, g, transposed), dtype)


@pytest.mark.parametrize("name", OPS)
def test_bits_do_not_depend_on_the_thread_count(name):
    x, g = rand(1_200_000, seed=3, low=-20, high=20), rand(1_200_000, seed=4)
    before = ember.get_num_threads()
    try:
        results = []
        for n in (1, 2, 3):
            ember.set_num_threads(n)
            results.append(_run(ember, name, x, g))
    finally:
        ember.set_num_threads(before)
    assert all(np.array_equal(a, b) for r in results[1:] for a, b in zip(results[0], r))


@pytest.mark.parametrize("name", OPS)
def test_gradients_of_gradients_through_the_kernel_path(kernel_on_small_inputs, name):
    x = ember.tensor(rand(4, 3, seed=5, low=-4, high=4).astype(np.float64), requires_grad=True)
    fn = lambda t: getattr(t, name)() * t  # noqa: E731
    assert ember.autograd.gradcheck(fn, (x,))
    assert ember.autograd.gradgradcheck(fn, (x,))
