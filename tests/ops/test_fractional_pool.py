"""Fractional max pooling against torch, with the same random samples passed to both."""
import numpy as np
import pytest
import torch

import ember
from tests.oracle import check, gradcheck, rand


def _samples(batch, channels, nd, seed, dtype=np.float32):
    return np.random.default_rng(seed).random((batch, channels, nd)).astype(dtype)


def _pool(nd, kernel, u, **kw):
    """The pooling with samples ``u`` (a constant: torch refuses samples that require grad)."""
    def fn(lib, x):
        f = getattr(lib.nn.functional, f"fractional_max_pool{nd}d")
        return f(x, kernel, return_indices=True, _random_samples=lib.tensor(u), **kw)
    return fn


@pytest.mark.parametrize("nd, shape, kernel, kw", [
    (2, (2, 3, 11, 9), 2, dict(output_size=(4, 5))),
    (2, (2, 3, 11, 9), (3, 2), dict(output_size=(9, 8))),
    (2, (3, 11, 9), 2, dict(output_size=(1, 7))),
    (2, (2, 2, 10, 10), 3, dict(output_ratio=(0.5, 0.5))),
    (2, (1, 2, 7, 9), (2, 3), dict(output_ratio=(0.7, 0.4))),
    (3, (1, 2, 7, 8, 9), 2, dict(output_size=(3, 4, 5))),
    (3, (2, 8, 6, 5), (2, 3, 2), dict(output_ratio=0.6)),
])
def test_fractional_max_pool_matches_torch(nd, shape, kernel, kw):
    batched = len(shape) == nd + 2
    u = _samples(shape[0] if batched else 1, shape[-nd - 1], nd, seed=len(shape))
    values, idx = check(_pool(nd, kernel, u, **kw), rand(*shape, seed=1))
    assert values.grad_fn.name() == f"FractionalMaxPool{nd}DBackward0"
    assert idx.dtype == ember.int64


def test_fractional_max_pool_float64_gradcheck_nan_and_ties():
    u = _samples(1, 2, 2, seed=3, dtype=np.float64)
    gradcheck(lambda lib, x: _pool(2, 2, u, output_size=3)(lib, x)[0], rand(1, 2, 6, 5, dtype=np.float64, seed=4))
    x = np.zeros((1, 2, 6, 5), dtype=np.float32)  # every window ties: the first element wins
    x[0, 1, 2, 3] = np.nan  # a NaN wins its windows
    check(_pool(2, 2, _samples(1, 2, 2, seed=5), output_size=3), x)


def test_fractional_max_pool_draws_samples_from_ember_generator():
    x = ember.tensor(rand(2, 3, 12, 10, seed=6))
    ember.manual_seed(3)
    first, idx = ember.nn.functional.fractional_max_pool2d(x, 2, output_ratio=0.5, return_indices=True)
    ember.manual_seed(3)
    again = ember.nn.functional.fractional_max_pool2d(x, 2, output_ratio=0.5)
    assert first.shape == (2, 3, 6, 5)
    np.testing.assert_array_equal(first.numpy(), again.numpy())
    picked = np.take_along_axis(x.numpy().reshape(2, 3, -1), idx.numpy().reshape(2, 3, -1), axis=2)
    np.testing.assert_array_equal(picked.reshape(first.shape), first.numpy())


def test_fractional_max_pool_modules():
    u = _samples(2, 3, 2, seed=7)
    e = ember.nn.FractionalMaxPool2d(2, output_size=4, return_indices=True, _random_samples=ember.tensor(u))
    t = torch.nn.FractionalMaxPool2d(2, output_size=4, return_indices=True, _random_samples=torch.tensor(u))
    assert repr(e) == repr(t) and list(e.state_dict()) == list(t.state_dict())
    x = rand(2, 3, 9, 9, seed=8)
    for got, want in zip(e(ember.tensor(x)), t(torch.tensor(x))):
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    e3 = ember.nn.FractionalMaxPool3d(2, output_ratio=0.5)
    assert e3(ember.ones(1, 2, 8, 8, 8)).shape == (1, 2, 4, 4, 4)
    assert repr(e3) == repr(torch.nn.FractionalMaxPool3d(2, output_ratio=0.5))


@pytest.mark.parametrize("make, exc, msg", [
    (lambda lib: lib.nn.FractionalMaxPool2d(2), ValueError,
     "FractionalMaxPool2d requires specifying either an output size, or a pooling ratio"),
    (lambda lib: lib.nn.FractionalMaxPool2d(2, output_size=3, output_ratio=0.5), ValueError,
     "only one of output_size and output_ratio may be specified"),
    (lambda lib: lib.nn.FractionalMaxPool3d(2, output_ratio=1.5), ValueError,
     r"output_ratio must be between 0 and 1 \(got 1.5\)"),
    (lambda lib: lib.nn.functional.fractional_max_pool2d(lib.ones(2, 3, 9, 8), 2), ValueError,
     "fractional_max_pool2d requires specifying either an output_size or an output_ratio"),
    (lambda lib: lib.nn.functional.fractional_max_pool2d(lib.ones(2, 3, 9, 8), 2, output_size=(9, 3)), RuntimeError,
     r"fractional_max_pool2d\(\): pool height 2 too large relative to input height 9"),
    (lambda lib: lib.nn.functional.fractional_max_pool2d(lib.ones(2, 3, 9, 8), 2, output_size=(3, 8)), RuntimeError,
     r"fractional_max_pool2d\(\): pool width 2 too large relative to input width 8"),
    (lambda lib: lib.nn.functional.fractional_max_pool3d(lib.ones(1, 2, 6, 7, 8), 2, output_size=(6, 2, 2)),
     RuntimeError, r"fractional_max_pool3d_out\(\): pool time 2 too large relative to input time 6"),
    (lambda lib: lib.nn.functional.fractional_max_pool2d(lib.ones(2, 3, 9, 8), 2, output_size=(3,)), RuntimeError,
     "output_size must either be a single Int or tuple of Ints"),
    (lambda lib: lib.nn.functional.fractional_max_pool3d(lib.ones(1, 2, 6, 7, 8), 2, output_size=3,
                                                          _random_samples=lib.rand(1, 2, 2)), RuntimeError,
     r"Expect _random_samples.size\(2\) equals to 3; got 2."),
    (lambda lib: lib.nn.functional.fractional_max_pool2d(lib.ones(2, 3, 9, 8), 2, output_size=3,
                                                          _random_samples=lib.rand(1, 3, 2)), RuntimeError,
     r"Expect _random_samples.size\(0\) no less then input batch size."),
    (lambda lib: lib.nn.functional.fractional_max_pool2d(lib.ones(2, 3, 9, 8), 2, output_size=3,
                                                          _random_samples=lib.rand(2, 3, 2, dtype=lib.float64)),
     RuntimeError, "Expect _random_samples to have the same dtype as input"),
])
def test_fractional_max_pool_errors(make, exc, msg):
    for lib in (torch, ember):
        with pytest.raises(exc, match=msg):
            make(lib)
