"""max/avg/lp pooling, adaptive pooling and max_unpool against torch: values, indices, gradients, errors."""
import numpy as np
import pytest
import torch

import ember
from tests.oracle import check, check_layouts, gradcheck, rand

def _f(lib, name):
    return getattr(lib.nn.functional, name)


MAX2D = [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1), dict(kernel_size=3, stride=1, dilation=2),
         dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 0), ceil_mode=True),
         dict(kernel_size=3, stride=2, padding=1, dilation=2, ceil_mode=True), dict(kernel_size=(3, 1), stride=(3, 1))]


@pytest.mark.parametrize("kw", MAX2D)
@pytest.mark.parametrize("shape", [(2, 3, 9, 8), (3, 7, 10)])
def test_max_pool2d_values_indices_grads(kw, shape):
    out = check(lambda lib, x: _f(lib, "max_pool2d")(x, return_indices=True, **kw), rand(*shape, seed=1))
    assert out[0].grad_fn.name() == "MaxPool2DWithIndicesBackward0"
    check(lambda lib, x: _f(lib, "max_pool2d")(x, **kw), rand(*shape, seed=2))


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)])
def test_max_pool2d_layouts(kw):
    check_layouts(lambda lib, x: _f(lib, "max_pool2d")(x, return_indices=True, **kw), rand(2, 3, 8, 8, seed=3))


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1, dilation=1),
                                dict(kernel_size=4, stride=1, dilation=2, ceil_mode=True)])
def test_max_pool1d(kw):
    check_layouts(lambda lib, x: _f(lib, "max_pool1d")(x, return_indices=True, **kw), rand(2, 3, 11, seed=4))
    check(lambda lib, x: lib.max_pool1d(x, **kw), rand(3, 11, seed=5))


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=(3, 2, 2), stride=(2, 1, 2), padding=1),
                                dict(kernel_size=2, dilation=2, ceil_mode=True, stride=2)])
def test_max_pool3d(kw):
    out = check(lambda lib, x: _f(lib, "max_pool3d")(x, return_indices=True, **kw), rand(2, 2, 5, 6, 7, seed=6))
    assert out[0].grad_fn.name() == "MaxPool3DWithIndicesBackward0"
    check(lambda lib, x: lib.max_pool3d(x, **kw), rand(2, 5, 6, 7, seed=7))


def test_max_pool_ties_nan_and_ints():
    x = np.zeros((1, 1, 4, 4), np.float32)
    x[0, 0, 1, 1] = x[0, 0, 2, 2] = 1.0
    for kw in [dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1)]:
        check(lambda lib, x: _f(lib, "max_pool2d")(x, return_indices=True, **kw), x)  # ties: the first maximum
    y = rand(1, 2, 6, 6, seed=8)
    y[0, 0, 1, 0] = y[0, 1, 4, 5] = np.nan
    check(lambda lib, x: _f(lib, "max_pool2d")(x, 3, 1, 1, return_indices=True), y, grad=False)
    check(lambda lib, x: _f(lib, "max_pool2d")(x, 2, return_indices=True), rand(1, 2, 6, 6, dtype=np.int64, low=-9,
                                                                                   high=9, seed=9), grad=False)


def test_max_pool_without_grad_and_large():
    x = rand(4, 16, 32, 32, seed=10)
    check(lambda lib, x: lib.max_pool2d(x, 2), x, grad=False)
    check(lambda lib, x: lib.max_pool2d(x, 3, 2, 1), x)
    assert ember.max_pool2d(ember.tensor(x), 2).grad_fn is None


AVG2D = [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1), dict(kernel_size=3, stride=2, padding=1,
         count_include_pad=False), dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 1), ceil_mode=True),
         dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
         dict(kernel_size=3, stride=2, divisor_override=5)]


@pytest.mark.parametrize("kw", AVG2D)
def test_avg_pool2d(kw):
    check_layouts(lambda lib, x: _f(lib, "avg_pool2d")(x, **kw), rand(2, 3, 9, 8, seed=11))
    check(lambda lib, x: _f(lib, "avg_pool2d")(x, **kw), rand(3, 7, 10, seed=12))


def test_avg_pool_node_names_and_1d_3d():
    x = ember.ones(1, 1, 4, 4, requires_grad=True)
    assert ember.nn.functional.avg_pool2d(x, 2).grad_fn.name() == "AvgPool2DBackward0"
    for kw in [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)]:
        check_layouts(lambda lib, x: lib.avg_pool1d(x, **kw), rand(2, 3, 11, seed=13))
    for kw in [dict(kernel_size=2), dict(kernel_size=(3, 2, 2), stride=2, padding=1, count_include_pad=False),
               dict(kernel_size=2, ceil_mode=True, divisor_override=3)]:
        out = check(lambda lib, x: _f(lib, "avg_pool3d")(x, **kw), rand(2, 2, 5, 6, 7, seed=14))
    assert out.grad_fn.name() == "AvgPool3DBackward0"


@pytest.mark.parametrize("nd,fn,kw", [(1, "lp_pool1d", dict(norm_type=2, kernel_size=3)),
                                      (2, "lp_pool2d", dict(norm_type=3, kernel_size=2, stride=1)),
                                      (3, "lp_pool3d", dict(norm_type=1.5, kernel_size=2))])
def test_lp_pool(nd, fn, kw):
    check(lambda lib, x: _f(lib, fn)(x, **kw), rand(2, 2, *(6,) * nd, low=0.1, high=2.0, seed=15))


# adaptive pools --------------------------------------------------------------------------------


@pytest.mark.parametrize("out", [3, (4, 3), (1, 1), (None, 2), (9, 7), (12, 10), 1])
def test_adaptive_avg_pool2d(out):
    check_layouts(lambda lib, x: _f(lib, "adaptive_avg_pool2d")(x, out), rand(2, 3, 9, 7, seed=16))


@pytest.mark.parametrize("out", [3, (4, 3), (1, 1), (None, 2), (12, 10)])
def test_adaptive_max_pool2d(out):
    check_layouts(lambda lib, x: _f(lib, "adaptive_max_pool2d")(x, out, True), rand(2, 3, 9, 7, seed=17))
    check(lambda lib, x: _f(lib, "adaptive_max_pool2d")(x, out), rand(3, 9, 7, seed=18))


def test_adaptive_1d_3d_and_node_names():
    for out in (1, 3, 5, 13):
        check_layouts(lambda lib, x: lib.adaptive_avg_pool1d(x, out), rand(2, 3, 11, seed=19))
        check_layouts(lambda lib, x: lib.adaptive_max_pool1d(x, out), rand(2, 3, 11, seed=20))
    for out in (1, 2, (3, None, 4)):
        check(lambda lib, x: _f(lib, "adaptive_avg_pool3d")(x, out), rand(2, 2, 5, 6, 7, seed=21))
        check(lambda lib, x: _f(lib, "adaptive_max_pool3d")(x, out, True), rand(2, 2, 5, 6, 7, seed=22))
    x = ember.ones(1, 2, 5, 5, requires_grad=True)
    F = ember.nn.functional
    assert F.adaptive_avg_pool2d(x, 3).grad_fn.name() == "AdaptiveAvgPool2DBackward0"
    assert F.adaptive_max_pool2d(x, 3).grad_fn.name() == "AdaptiveMaxPool2DBackward0"
    assert F.adaptive_avg_pool2d(x, 1).grad_fn.name() == "MeanBackward1"


def test_adaptive_max_nan():
    x = rand(1, 1, 5, 5, seed=23)
    x[0, 0, 2, 3] = x[0, 0, 0, 1] = x[0, 0, 1, 0] = np.nan
    check(lambda lib, x: _f(lib, "adaptive_max_pool2d")(x, 2, True), x, grad=False)


def test_padding_never_wins_and_empty_batch():
    x = np.full((1, 2, 4, 5), -np.inf, np.float32)
    x[0, 1, 1, 1] = np.nan
    check(lambda lib, x: _f(lib, "max_pool2d")(x, 3, 1, 1, return_indices=True), x, grad=False)
    x = rand(1, 1, 5, 5, dtype=np.int64, low=-3, high=3, seed=29)
    x[x < 0] = np.iinfo(np.int64).min
    check(lambda lib, x: _f(lib, "max_pool2d")(x, 3, 2, 1, ceil_mode=True, return_indices=True), x, grad=False)
    for name, arg in [("max_pool2d", 2), ("avg_pool2d", 2), ("adaptive_avg_pool2d", 3), ("adaptive_max_pool2d", 3)]:
        check(lambda lib, x: _f(lib, name)(x, arg), np.zeros((0, 3, 8, 8), np.float32))


# max_unpool --------------------------------------------------------------------------------------


@pytest.mark.parametrize("nd,shape,kw", [(1, (2, 3, 8), dict(kernel_size=2)),
                                         (2, (2, 3, 8, 6), dict(kernel_size=2)),
                                         (2, (3, 9, 7), dict(kernel_size=3, stride=2, padding=1)),
                                         (3, (1, 2, 4, 4, 6), dict(kernel_size=2))])
def test_max_unpool(nd, shape, kw):
    def fn(lib, x):
        F = lib.nn.functional
        v, i = getattr(F, f"max_pool{nd}d")(x, return_indices=True, **kw)
        return getattr(F, f"max_unpool{nd}d")(v, i, **kw)
    check(fn, rand(*shape, seed=24))

    def sized(lib, x):
        F = lib.nn.functional
        v, i = getattr(F, f"max_pool{nd}d")(x, return_indices=True, **kw)
        return getattr(F, f"max_unpool{nd}d")(v, i, output_size=x.shape[-nd:], **kw)
    out = check(sized, rand(*shape, seed=25))
    assert tuple(out.shape) == shape


# gradcheck ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name,args", [("max_pool2d", (3, 2, 1)), ("avg_pool2d", (3, 2, 1, True, False)),
                                       ("avg_pool3d", (2,)), ("max_pool1d", (2,)), ("adaptive_avg_pool2d", ((2, 3),)),
                                       ("adaptive_max_pool2d", ((2, 3),)), ("lp_pool2d", (2.0, 2))])
def test_gradcheck(name, args):
    shape = (1, 2, 4, 4, 4) if name.endswith("3d") else (2, 3, 7) if name.endswith("1d") else (1, 2, 5, 6)
    x = rand(*shape, low=0.5, high=3.0, seed=26)
    x += np.arange(x.size).reshape(shape) * 1e-2  # distinct values: max pooling is smooth around them
    gradcheck(lambda lib, x: _f(lib, name)(x, *args), x)


def test_max_pool_double_backward_matches_torch():
    def fn(lib, x):
        y = lib.nn.functional.max_pool2d(x, 3, 2, 1)
        (g,) = lib.autograd.grad((y * y).sum(), x, create_graph=True)
        return g
    check(fn, rand(1, 2, 6, 6, seed=27))


# errors ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("call,exc,msg", [
    (lambda lib, x: _f(lib, "max_pool2d")(x, 2, padding=2), RuntimeError, "pad should be at most half of effective"),
    (lambda lib, x: _f(lib, "avg_pool2d")(x, 3, padding=2), RuntimeError, "pad should be at most half of effective"),
    (lambda lib, x: _f(lib, "max_pool2d")(x, 10), RuntimeError,
     r"Given input size: \(3x8x8\). Calculated output size: \(3x0x0\). Output size is too small"),
    (lambda lib, x: _f(lib, "avg_pool2d")(x, 10), RuntimeError, "Output size is too small"),
    (lambda lib, x: _f(lib, "max_pool2d")(x, 2, stride=0), RuntimeError, "stride should not be zero"),
    (lambda lib, x: _f(lib, "max_pool2d")(x[0, 0], 2), RuntimeError,
     r"non-empty 3D or 4D \(batch mode\) tensor expected for input"),
    (lambda lib, x: _f(lib, "max_pool2d")(x[:, :0], 2), RuntimeError,
     r"Expected 3D or 4D \(batch mode\) tensor with optional 0 dim batch size for input, but got:\[2, 0, 8, 8\]"),
    (lambda lib, x: _f(lib, "max_pool2d")(x, (2, 2, 2)), RuntimeError,
     "max_pool2d: kernel_size must either be a single int, or a tuple of two ints"),
    (lambda lib, x: _f(lib, "max_pool2d")(x, 2, (1, 2, 3)), RuntimeError,
     "max_pool2d: stride must either be omitted, a single int, or a tuple of two ints"),
    (lambda lib, x: _f(lib, "max_pool2d")(x, 2, dilation=0), RuntimeError,
     "dilation should be greater than zero, but got dilationH: 0 dilationW: 0"),
    (lambda lib, x: _f(lib, "avg_pool2d")(x, 2, divisor_override=0), RuntimeError, "divisor must be not zero"),
    (lambda lib, x: _f(lib, "adaptive_avg_pool2d")(x, (-1, 2)), RuntimeError,
     r"elements of output_size must be greater than or equal to 0 but received \{-1, 2\}"),
    (lambda lib, x: _f(lib, "adaptive_max_pool2d")(x[0, 0, 0], 2), RuntimeError,
     r"adaptive_max_pool2d\(\): Expected 3D or 4D tensor, but got: \[8\]"),
    (lambda lib, x: _f(lib, "adaptive_avg_pool2d")(x[..., :0, :], 2), RuntimeError,
     r"non-zero size for non-batch dimensions, but input has sizes \[2, 3, 0, 8\] with dimension 2 being empty"),
    (lambda lib, x: _f(lib, "max_pool1d")(x, 2), RuntimeError, "max_pool1d: Expected 2D or 3D"),
    (lambda lib, x: _f(lib, "adaptive_avg_pool2d")(x, (2,)), RuntimeError, "output_size must be 2"),
    (lambda lib, x: _f(lib, "max_unpool2d")(*_f(lib, "max_pool2d")(x[..., :7, :7], 2, return_indices=True), 2,
                                             output_size=(5, 5)), RuntimeError, "Found an invalid max index"),
])
def test_errors(call, exc, msg):
    x = rand(2, 3, 8, 8, seed=28)
    for lib, t in ((torch, torch.tensor(x)), (ember, ember.tensor(x))):
        with pytest.raises(exc, match=msg):
            call(lib, t)


def test_avg_pool_integers_truncate():
    x = rand(2, 2, 7, 7, dtype=np.int64, low=-20, high=20, seed=30)
    check(lambda lib, x: _f(lib, "avg_pool2d")(x, 3, 2, 1, ceil_mode=True), x, grad=False)
    check(lambda lib, x: _f(lib, "avg_pool1d")(x[0], 2), x, grad=False)


def test_double_backward_node_names():
    for name, shape in [("max_pool3d", (1, 1, 4, 4, 4)), ("adaptive_max_pool3d", (1, 1, 4, 4, 4)),
                        ("adaptive_max_pool2d", (1, 1, 5, 5)), ("max_pool2d", (1, 1, 4, 4))]:
        x = torch.randn(*shape, requires_grad=True)
        e = ember.tensor(x.detach().numpy(), requires_grad=True)
        names = []
        for lib, t in ((torch, x), (ember, e)):
            y = _f(lib, name)(t, 2)
            (g,) = lib.autograd.grad(y.sum(), t, create_graph=True)
            names.append((y.grad_fn.name(), g.grad_fn.name()))
        assert names[0] == names[1], name
    v, i = ember.nn.functional.max_pool3d(ember.ones(1, 1, 4, 4, 4, requires_grad=True), 2, return_indices=True)
    assert ember.nn.functional.max_unpool3d(v, i, 2).grad_fn.name() == "MaxUnpool3DBackward0"
