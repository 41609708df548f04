"""Compiled pooling kernels against the NumPy reference path and PyTorch: values, indices, gradients."""
import numpy as np
import pytest
import torch

import ember
from ember.backend import compiled

CASES = [  # (nd, shape, kwargs) for max and average pools
    (1, (2, 3, 11), dict(kernel_size=3, stride=1, padding=1)),
    (1, (1, 2, 9), dict(kernel_size=2, stride=2, ceil_mode=True)),
    (2, (2, 3, 9, 11), dict(kernel_size=3, stride=1, padding=1)),
    (2, (1, 2, 8, 7), dict(kernel_size=2)),  # the 2x2 stride-2 kernel, an odd column left out
    (2, (2, 3, 9, 11), dict(kernel_size=(2, 2), stride=2)),
    (2, (3, 6, 8), dict(kernel_size=2, ceil_mode=True)),  # ceil_mode adds no window here: still the kernel
    (2, (2, 2, 9, 11), dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1), ceil_mode=True)),
    (2, (3, 7, 10), dict(kernel_size=3, stride=(1, 1), padding=1)),
    (3, (1, 2, 5, 6, 7), dict(kernel_size=3, stride=1, padding=1)),
    (3, (2, 1, 5, 6, 7), dict(kernel_size=2, stride=(1, 2, 1), ceil_mode=True)),
]


def _pool(lib, kind, nd):
    return getattr(lib.nn.functional, f"{kind}_pool{nd}d")


def _input(shape, dtype, rng, ties=False):
    x = rng.standard_normal(shape).astype(dtype)
    if ties:
        x = np.round(x)  # many equal maxima: the first one in window order must win
    return x


def _run(lib, kind, nd, x, kwargs, g, transposed):
    xt = lib.tensor(x, requires_grad=True)
    v = xt.transpose(-1, -2).contiguous().transpose(-1, -2) if transposed else xt  # non-contiguous input
    if kind == "max":
        y, idx = _pool(lib, kind, nd)(v, return_indices=True, **kwargs)
    else:
        y, idx = _pool(lib, kind, nd)(v, **kwargs), None
    y.backward(lib.tensor(g))
    return y.detach().numpy(), None if idx is None else idx.numpy(), xt.grad.numpy()



@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nd,shape,kwargs", CASES)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool_kernel_matches_numpy_and_torch(kind, nd, shape, kwargs, dtype):
    rng = np.random.default_rng(0)
    x = _input(shape, dtype, rng, ties=kind == "max")
    with torch.no_grad():
        yshape = _pool(torch, kind, nd)(torch.tensor(x), **kwargs).shape
    g = rng.standard_normal(tuple(yshape)).astype(dtype)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    for transposed in (False, True):
        got = _run(ember, kind, nd, x, kwargs, g, transposed)
        with compiled.disabled():
            ref = _run(ember, kind, nd, x, kwargs, g, transposed)
        want = _run(torch, kind, nd, x, kwargs, g, transposed)
        for a, b, c in zip(got, ref, want):
            if a is None:
                continue
            np.testing.assert_allclose(a, b, **tol)
            np.testing.assert_allclose(a, c, **tol)


@pytest.mark.parametrize("kwargs", [dict(count_include_pad=False), dict(divisor_override=3)])
def test_avg_pool_divisors(kwargs):
    x = np.random.default_rng(1).standard_normal((2, 3, 7, 9))
    args = dict(kernel_size=3, stride=1, padding=1, ceil_mode=True, **kwargs)
    g = np.random.default_rng(2).standard_normal((2, 3, 7, 9))
    got = _run(ember, "avg", 2, x, args, g, False)
    want = _run(torch, "avg", 2, x, args, g, False)
    for a, b in zip(got, want):
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_max_pool_dilation_and_nan():
    x = np.random.default_rng(3).standard_normal((2, 2, 11, 12))
    x[0, 0, 3, 4] = x[1, 1, 5, 5] = x[1, 1, 5, 6] = np.nan
    args = dict(kernel_size=3, stride=1, padding=1, dilation=2, ceil_mode=True)
    g = np.ones((2, 2, 9, 10))
    got = _run(ember, "max", 2, x, args, g, False)
    want = _run(torch, "max", 2, x, args, g, False)
    np.testing.assert_array_equal(got[1], want[1])
    np.testing.assert_allclose(got[0], want[0])
    np.testing.assert_allclose(got[2], want[2])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_two_by_two_kernel_nan_and_ties_as_torch(dtype):
    x = np.round(np.random.default_rng(7).standard_normal((2, 2, 10, 12))).astype(dtype)  # many ties
    x[0, 0, 0, 0] = x[0, 0, 1, 1] = np.nan  # two NaN in one window: torch's scan keeps the last
    x[1, 1, 5, 6] = np.nan
    g = np.ones((2, 2, 5, 6), dtype)
    got = _run(ember, "max", 2, x, dict(kernel_size=2), g, False)
    want = _run(torch, "max", 2, x, dict(kernel_size=2), g, False)
    np.testing.assert_array_equal(got[1], want[1])
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[2], want[2])


@pytest.mark.parametrize("kernel,stride,padding", [(3, 1, 1), (2, 2, 0)])
def test_integer_max_pool(kernel, stride, padding):
    x = np.random.default_rng(4).integers(-5, 5, (2, 3, 8, 9)).astype(np.int32)
    got = ember.nn.functional.max_pool2d(ember.tensor(x), kernel, stride, padding).numpy()
    want = torch.nn.functional.max_pool2d(torch.tensor(x).double(), kernel, stride, padding).int().numpy()
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool_gradcheck(kind):
    x = ember.tensor(np.random.default_rng(5).standard_normal((1, 2, 6, 7)), requires_grad=True)
    fn = _pool(ember, kind, 2)
    assert ember.autograd.gradcheck(lambda t: fn(t, 3, 1, 1), (x,))
    assert ember.autograd.gradgradcheck(lambda t: fn(t, 3, 1, 1), (x,))


def test_same_bits_for_one_and_two_threads():
    x = ember.tensor(np.random.default_rng(6).standard_normal((3, 5, 17, 19)).astype(np.float32), requires_grad=True)
    before = ember.get_num_threads()
    results = []
    try:
        for n in (1, 2):
            ember.set_num_threads(n)
            x.grad = None
            y = ember.nn.functional.max_pool2d(x, 3, 1, 1) + ember.nn.functional.avg_pool2d(x, 3, 1, 1)
            y2 = ember.nn.functional.max_pool2d(x, 2)
            ((y * y).sum() + (y2 * y2).sum()).backward()
            results.append((y.detach().numpy().copy(), x.grad.numpy().copy()))
    finally:
        ember.set_num_threads(before)
    for a, b in zip(*results):
        assert np.array_equal(a, b)


def test_adaptive_max_pool_backward_through_the_scatter_kernel():
    x = np.random.default_rng(7).standard_normal((2, 3, 9, 10))
    e, t = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ember.nn.functional.adaptive_max_pool2d(e, (4, 3)).pow(2).sum().backward()
    torch.nn.functional.adaptive_max_pool2d(t, (4, 3)).pow(2).sum().backward()
    np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nd,shape,out", [(1, (2, 3, 11), 4), (2, (1, 2, 9, 10), (4, 3)), (2, (3, 7, 5), (7, 9)),
                                          (3, (2, 1, 5, 6, 7), (2, 3, 4))])
def test_adaptive_max_pool_kernel(nd, shape, out, dtype):
    rng = np.random.default_rng(8)
    x = np.round(rng.standard_normal(shape)).astype(dtype)  # ties: the first maximum wins
    x.flat[3] = np.nan

    def run(lib):
        t = lib.tensor(x, requires_grad=True)
        y, idx = getattr(lib.nn.functional, f"adaptive_max_pool{nd}d")(t, out, return_indices=True)
        y.backward(lib.ones_like(y))
        return y.detach().numpy(), idx.numpy(), t.grad.numpy()

    got = run(ember)
    with compiled.disabled():
        ref = run(ember)
    for a, b, c in zip(got, ref, run(torch)):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
