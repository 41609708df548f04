"""The compiled softmax / log_softmax kernels (``ember/ops/softmax_kernels.py``, with ``row_math``'s exp)
against the NumPy path and torch."""
import numpy as np
import pytest

import ember
from ember.backend import compiled
from tests.oracle import check, check_layouts, gradcheck, rand

OPS = ["softmax", "log_softmax"]


def _run(name, x, g, dim=-1):
    t = ember.tensor(x, requires_grad=True)
    out = getattr(t, name)(dim)
    out.backward(ember.tensor(g))
    return out.detach().numpy(), t.grad.numpy()


def _same(got, want, tol):
    for a, e in zip(got, want):
        assert np.array_equal(np.isnan(a), np.isnan(e))
        assert np.array_equal(np.isneginf(a), np.isneginf(e))
        ok = np.isfinite(e)
        np.testing.assert_allclose(a[ok], e[ok], rtol=tol, atol=tol)


@pytest.mark.parametrize("name", OPS)
@pytest.mark.parametrize("dtype,tol", [(np.float32, 2e-6), (np.float64, 1e-13)])
@pytest.mark.parametrize("shape", [(1, 1), (7, 3, 37), (64, 128), (5, 1000), (3, 8)])
def test_kernel_matches_numpy_path(name, dtype, tol, shape):
    x = rand(*shape, dtype=dtype, seed=1, low=-20, high=20)
    g = rand(*shape, dtype=dtype, seed=2)
    got = _run(name, x, g)
    with compiled.disabled():
        want = _run(name, x, g)
    _same(got, want, tol)


@pytest.mark.parametrize("name", OPS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_and_masked_logits(name, dtype):
    x = rand(6, 19, dtype=dtype, seed=3)
    x[0, :4] = -np.inf            # masked entries
    x[1, :] = -np.inf             # a fully masked row: NaN, as torch
    x[2, 5], x[2, 6] = 1e4, -1e4  # extreme logits
    x[3, :] = -1e4
    x[4, 2] = np.nan
    g = rand(6, 19, dtype=dtype, seed=4)
    got = _run(name, x, g)
    with compiled.disabled():
        want = _run(name, x, g)
    _same(got, want, 1e-6 if dtype == np.float32 else 1e-13)
    import torch
    tx = torch.tensor(x, requires_grad=True)
    ty = getattr(tx, name)(-1)
    ty.backward(torch.tensor(g))
    _same(got, (ty.detach().numpy(), tx.grad.numpy()), 1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("name", OPS)
def test_against_torch_every_dim_and_layout(name):
    x = rand(4, 5, 6, seed=5, low=-5, high=5)
    for dim in (0, 1, -1):
        check(lambda lib, x: getattr(lib, name)(x, dim), x)
    check_layouts(lambda lib, x: getattr(lib, name)(x, -1), rand(7, 9, seed=6))
    check(lambda lib, x: getattr(lib, name)(x, -1), rand(3, 4, 300, seed=7, dtype=np.float64), atol=1e-12)


def test_results_do_not_depend_on_the_thread_count():
    x, g = rand(1031, 67, seed=8), rand(1031, 67, seed=9)
    before = ember.get_num_threads()
    runs = []
    try:
        for n in (1, 2, 3):
            ember.set_num_threads(n)
            runs.append(_run("softmax", x, g) + _run("log_softmax", x, g))
    finally:
        ember.set_num_threads(before)
    for other in runs[1:]:
        assert all(np.array_equal(a, o) for a, o in zip(runs[0], other))


@pytest.mark.parametrize("name", OPS)
def test_float64_gradcheck_through_the_kernel(name):
    gradcheck(lambda lib, x: getattr(lib, name)(x, -1), rand(3, 6, seed=10))


def test_cross_entropy_takes_the_log_softmax_kernel():
    x, t = rand(9, 13, seed=11, low=-30, high=30), np.array([0, 3, 12, -100, 5, 5, 1, 2, 11])
    w = rand(13, seed=12, low=0.1, high=2.0)
    for kw in ({}, {"label_smoothing": 0.2}, {"reduction": "sum"}, {"reduction": "none"}):
        check(lambda lib, x: lib.nn.functional.cross_entropy(x, lib.tensor(t), lib.tensor(w), **kw), x)
