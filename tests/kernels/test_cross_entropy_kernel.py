"""The compiled cross-entropy gradient kernel (``ember/ops/cross_entropy_kernels.py``) against the NumPy
path and torch, and its bits across thread counts."""
import numpy as np
import pytest
import torch

import ember
from ember.backend import compiled
from tests.oracle import rand

CASES = [{}, {"label_smoothing": 0.2}, {"weighted": True, "ignore_index": 2}, {"reduction": "none"},
         {"weighted": True, "label_smoothing": 0.1, "reduction": "sum", "ignore_index": 0}]


def _grad(lib, x, target, case, transposed=False):
    kwargs = dict(case)
    if kwargs.pop("weighted", False):
        kwargs["weight"] = lib.tensor(rand(x.shape[1], dtype=x.dtype, low=0.5, high=2.0, seed=9))
    t = lib.tensor(x.T.copy() if transposed else x, requires_grad=True)
    logits = t.T if transposed else t
    loss = lib.nn.functional.cross_entropy(logits, lib.tensor(target), **kwargs)
    loss.backward(lib.tensor(rand(*loss.shape, dtype=x.dtype, seed=10)) if loss.dim() else None)
    grad = t.grad.numpy()
    return grad.T if transposed else grad


@pytest.mark.parametrize("case", CASES, ids=lambda c: ",".join(c) or "default")
@pytest.mark.parametrize("dtype,tol", [(np.float32, 2e-6), (np.float64, 1e-13)])
@pytest.mark.parametrize("shape", [(1, 1), (37, 5), (64, 1003)])
def test_kernel_matches_numpy_path_and_torch(case, dtype, tol, shape):
    x = rand(*shape, dtype=dtype, seed=1, low=-10, high=10)
    target = np.random.default_rng(2).integers(0, shape[1], shape[0])
    got = _grad(ember, x, target, case)
    with compiled.disabled():
        np.testing.assert_allclose(got, _grad(ember, x, target, case), rtol=tol, atol=tol)
    np.testing.assert_allclose(got, _grad(torch, x, target, case), rtol=10 * tol, atol=10 * tol)


@pytest.mark.parametrize("case", CASES[:3], ids=lambda c: ",".join(c) or "default")
def test_strided_logits(case):
    x = rand(9, 6, seed=3)
    target = np.random.default_rng(4).integers(0, 6, 9)
    np.testing.assert_allclose(_grad(ember, x, target, case, transposed=True), _grad(torch, x, target, case),
                               rtol=1e-5, atol=1e-6)


def test_bits_do_not_depend_on_the_thread_count():
    x = rand(4096, 33, seed=5)
    target = np.random.default_rng(6).integers(0, 33, 4096)
    before = ember.get_num_threads()
    try:
        grads = []
        for n in (1, 2, 3):
            ember.set_num_threads(n)
            grads.append(_grad(ember, x, target, {"label_smoothing": 0.1}))
    finally:
        ember.set_num_threads(before)
    assert all(np.array_equal(grads[0], g) for g in grads[1:])
