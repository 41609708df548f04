"""The embedding weight-gradient kernel against the NumPy reference path and PyTorch."""
import numpy as np
import pytest
import torch

import ember
from ember.backend import compiled


def _grad(lib, weight, ids, g, **kwargs):
    w = lib.tensor(weight, requires_grad=True)
    lib.nn.functional.embedding(lib.tensor(ids), w, **kwargs).backward(lib.tensor(g))
    return w.grad.numpy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kwargs", [{}, dict(padding_idx=2), dict(scale_grad_by_freq=True)])
def test_embedding_gradient_matches_numpy_and_torch(dtype, kwargs):
    rng = np.random.default_rng(0)
    weight = rng.standard_normal((13, 7)).astype(dtype)
    ids = rng.integers(0, 13, (5, 9))  # many repeats
    g = rng.standard_normal((5, 9, 7)).astype(dtype)
    got = _grad(ember, weight, ids, g, **kwargs)
    with compiled.disabled():
        ref = _grad(ember, weight, ids, g, **kwargs)
    want = _grad(torch, weight, ids, g, **kwargs)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, ref, rtol=tol, atol=tol)
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def test_non_contiguous_gradient_and_int32_indices():
    rng = np.random.default_rng(1)
    weight = rng.standard_normal((6, 4))
    ids = rng.integers(0, 6, 10).astype(np.int32)
    g = rng.standard_normal((4, 10)).T  # a transposed upstream gradient
    np.testing.assert_allclose(_grad(ember, weight, ids, g), _grad(torch, weight, ids.astype(np.int64), g),
                               rtol=1e-12)


def test_second_derivative_and_gradcheck():
    w = ember.tensor(np.random.default_rng(2).standard_normal((5, 3)), requires_grad=True)
    ids = ember.tensor([[0, 4, 4], [1, 0, 2]])
    assert ember.autograd.gradcheck(lambda t: ember.nn.functional.embedding(ids, t).pow(2), (w,))
    assert ember.autograd.gradgradcheck(lambda t: ember.nn.functional.embedding(ids, t).pow(2), (w,))


def test_same_bits_for_one_and_two_threads():
    rng = np.random.default_rng(3)
    weight = rng.standard_normal((50, 300)).astype(np.float32)
    ids = rng.integers(0, 50, (40, 30))
    g = rng.standard_normal((40, 30, 300)).astype(np.float32)
    before = ember.get_num_threads()
    try:
        grads = []
        for n in (1, 2):
            ember.set_num_threads(n)
            grads.append(_grad(ember, weight, ids, g))
    finally:
        ember.set_num_threads(before)
    assert np.array_equal(grads[0], grads[1])
    np.testing.assert_allclose(grads[0], _grad(torch, weight, ids, g), rtol=1e-4, atol=1e-4)
