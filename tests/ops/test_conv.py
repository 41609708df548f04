"""conv1d/2d/3d and conv_transpose1d/2d/3d against torch: values, gradients of input,
weight and bias, double backward, node names and errors."""
import numpy as np
import pytest
import torch

import ember
from tests.oracle import check, gradcheck, rand

pytestmark = pytest.mark.filterwarnings("ignore:Using padding=.same.:UserWarning")

# (x shape, w shape, kwargs)
CONV = [
    ((2, 3, 7, 6), (4, 3, 3, 3), {}),
    ((2, 2, 9, 8), (6, 2, 3, 2), dict(stride=2, padding=(1, 2), dilation=(2, 1))),
    ((2, 4, 9, 8), (6, 2, 3, 2), dict(stride=2, padding=1, groups=2)),
    ((1, 6, 5, 5), (6, 1, 3, 3), dict(padding=1, groups=6)),
    ((2, 4, 9, 8), (6, 4, 4, 2), dict(padding="same")),
    ((2, 4, 9, 8), (6, 4, 3, 3), dict(padding="same", dilation=2)),
    ((2, 4, 9, 8), (6, 4, 3, 3), dict(padding="valid", stride=(1, 3))),
    ((2, 4, 9), (6, 4, 4), dict(padding=2, stride=3)),
    ((2, 4, 9), (6, 2, 3), dict(padding="same", groups=2)),
    ((2, 4, 5, 4, 3), (6, 2, 2, 3, 2), dict(padding=1, groups=2)),
    ((1, 2, 5, 6, 4), (3, 2, 3, 3, 3), dict(stride=(2, 1, 1), dilation=(1, 2, 1))),
    ((2, 16, 9, 8), (8, 8, 3, 3), dict(stride=2, dilation=(1, 2), padding=1, groups=2)),  # window-view im2col
    ((2, 16, 7, 7), (8, 16, 3, 3), dict(stride=(2, 1), dilation=2, padding=2)),  # one deep GEMM
    ((2, 8, 5, 5, 4), (4, 8, 2, 2, 2), dict(stride=(1, 2, 1), padding=(1, 0, 1))),
    ((2, 16, 5, 6), (8, 16, 1, 1), {}),  # 1x1: the window view is a plain view
    ((2, 16, 7, 8), (8, 16, 1, 2), dict(stride=3)),  # stride larger than the kernel
    ((2, 9, 4, 5), (3, 9, 4, 5), {}),  # kernel as large as the input
    ((2, 16, 9), (16, 1, 3), dict(groups=16)),  # depthwise
    ((3, 7, 7), (4, 3, 3, 3), {}),  # unbatched
    ((0, 3, 7, 7), (4, 3, 3, 3), dict(padding=1)),  # empty batch
]

TRANSPOSED = [
    ((2, 3, 4, 5), (3, 4, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    ((2, 6, 4, 5), (6, 2, 3, 2), dict(stride=(2, 3), padding=(1, 0), output_padding=(0, 2), groups=3,
                                      dilation=(1, 2))),
    ((2, 4, 5), (4, 2, 3), dict(stride=3, dilation=2)),
    ((1, 2, 3, 4, 2), (2, 3, 2, 2, 3), dict(stride=2, padding=(0, 1, 1))),
    ((2, 9, 4, 5), (9, 3, 2, 2), dict(stride=3)),  # stride larger than the kernel: gaps stay zero
    ((4, 5, 5), (4, 2, 3, 3), {}),  # unbatched
]


def _fn(x_shape, w_shape):
    nd = len(w_shape) - 2
    return f"conv{nd}d", f"conv_transpose{nd}d"


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("xs,ws,kw", CONV)
def test_conv_matches_torch(xs, ws, kw, bias):
    name = _fn(xs, ws)[0]
    args = [rand(*xs, seed=1), rand(*ws, seed=2)] + ([rand(ws[0], seed=3)] if bias else [])
    check(lambda lib, *a: getattr(lib.nn.functional, name)(*a, **kw), *args, atol=1e-4)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("xs,ws,kw", TRANSPOSED)
def test_conv_transpose_matches_torch(xs, ws, kw, bias):
    name = _fn(xs, ws)[1]
    cout = ws[1] * kw.get("groups", 1)
    args = [rand(*xs, seed=1), rand(*ws, seed=2)] + ([rand(cout, seed=3)] if bias else [])
    check(lambda lib, *a: getattr(lib.nn.functional, name)(*a, **kw), *args, atol=1e-4)


def test_conv_non_contiguous_inputs():
    x, w = rand(2, 3, 6, 7, seed=4), rand(4, 3, 3, 2, seed=5)
    check(lambda lib, x, w: lib.conv2d(x.transpose(2, 3), w, stride=2), x, w, atol=1e-4)
    check(lambda lib, x, w: lib.conv2d(x[:, :, ::2], w[..., ::2].contiguous(), padding=1), x, w, atol=1e-4)
    check(lambda lib, x, w: lib.conv2d(x.permute(0, 3, 1, 2), w), rand(2, 5, 6, 16, seed=16),
          rand(8, 16, 1, 1, seed=17), atol=1e-4)  # channels-last memory
    check(lambda lib, x, w: lib.conv_transpose2d(x[:, ::2], w.transpose(0, 1)[:2], stride=2), x,
          rand(4, 3, 3, 3, seed=6), atol=1e-4)


def test_conv_float64_and_int():
    x, w = rand(2, 3, 5, 5, dtype=np.float64, seed=7), rand(2, 3, 3, 3, dtype=np.float64, seed=8)
    check(lambda lib, x, w: lib.conv2d(x, w, padding=1), x, w)
    xi, wi = rand(1, 2, 4, 4, dtype=np.int64, seed=9), rand(3, 2, 2, 2, dtype=np.int64, seed=10)
    check(lambda lib, x, w: lib.conv2d(x, w), xi, wi, grad=False)


@pytest.mark.parametrize("fn,args", [
    (lambda lib, x, w, b: lib.conv2d(x, w, b, stride=2, padding=1, groups=2, dilation=(1, 2)),
     ((2, 4, 5, 6), (4, 2, 2, 2), (4,))),
    (lambda lib, x, w, b: lib.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1, groups=2),
     ((2, 4, 3, 3), (4, 1, 2, 3), (2,))),
    (lambda lib, x, w, b: lib.conv1d(x, w, b, padding="same", dilation=2), ((2, 2, 5), (3, 2, 2), (3,))),
    (lambda lib, x, w, b: lib.conv3d(x, w, b, stride=(1, 2, 1)), ((1, 2, 3, 4, 3), (2, 2, 2, 2, 2), (2,))),
])
def test_conv_gradcheck_and_gradgradcheck(fn, args):
    gradcheck(fn, *(rand(*s, seed=i) for i, s in enumerate(args)))


def test_conv_double_backward_matches_torch():
    x, w = rand(2, 3, 5, 5, seed=11), rand(4, 3, 3, 3, seed=12)

    def gradient_norm(lib, x, w):
        y = lib.conv2d(x, w, padding=1, stride=2)
        gx, gw = lib.autograd.grad((y * y).sum(), (x, w), create_graph=True)
        return (gx * gx).sum() + (gw * gw).sum()
    check(gradient_norm, x, w, atol=1e-3, rtol=1e-3)


def test_conv_node_name():
    x = ember.ones(1, 2, 4, 4, requires_grad=True)
    assert ember.conv2d(x, ember.ones(3, 2, 3, 3)).grad_fn.name() == "ConvolutionBackward0"
    assert ember.conv_transpose2d(x, ember.ones(2, 3, 3, 3)).grad_fn.name() == "ConvolutionBackward0"
    assert ember.nn.functional.conv1d is ember.conv1d


ERRORS = [
    (lambda lib: lib.conv2d(lib.ones(8, 4, 28, 28), lib.ones(32, 3, 3, 3)),
     r"Given groups=1, weight of size \[32, 3, 3, 3\], expected input\[8, 4, 28, 28\] to have 3 channels, "
     r"but got 4 channels instead"),
    (lambda lib: lib.conv2d(lib.ones(2, 3), lib.ones(32, 3, 3, 3)),
     r"Expected 3D \(unbatched\) or 4D \(batched\) input to conv2d, but got input of size: \[2, 3\]"),
    (lambda lib: lib.conv2d(lib.ones(2, 3, 2, 2), lib.ones(4, 3, 3, 3)),
     r"Calculated padded input size per channel: \(2 x 2\). Kernel size: \(3 x 3\)"),
    (lambda lib: lib.conv2d(lib.ones(2, 6, 5, 5), lib.ones(4, 2, 3, 3), groups=3),
     r"Given groups=3, expected weight to be divisible by 3 at dimension 0"),
    (lambda lib: lib.conv2d(lib.ones(2, 3, 5, 5), lib.ones(4, 3, 3, 3), padding="same", stride=2),
     "padding='same' is not supported for strided convolutions"),
    (lambda lib: lib.conv2d(lib.ones(2, 3, 5, 5), lib.ones(4, 3, 3, 3), padding="foo"),
     "Invalid padding string: 'foo'"),
    (lambda lib: lib.conv2d(lib.ones(2, 3, 5, 5), lib.ones(4, 3, 3, 3), stride=0), "non-positive stride"),
    (lambda lib: lib.conv2d(lib.ones(2, 3, 5, 5), lib.ones(4, 3, 3, 3), padding=-1), "negative padding"),
    (lambda lib: lib.conv2d(lib.ones(2, 3, 5, 5), lib.ones(4, 3, 3, 3), stride=(1, 1, 1)),
     r"expected stride to be a single integer value or a list of 2 values"),
    (lambda lib: lib.conv2d(lib.ones(2, 3, 5, 5, dtype=lib.float64), lib.ones(4, 3, 3, 3)),
     "expected scalar type Double but found Float"),
    (lambda lib: lib.conv2d(lib.ones(2, 3, 5, 5), lib.ones(4, 3, 3, 3), lib.ones(5)),
     r"expected bias to be 1-dimensional with 4 elements, but got bias of size \[5\] instead"),
    (lambda lib: lib.conv_transpose2d(lib.ones(2, 3, 5, 5), lib.ones(3, 4, 3, 3), stride=2, output_padding=2),
     "output padding must be smaller than either stride or dilation"),
    (lambda lib: lib.conv_transpose2d(lib.ones(2, 4, 5, 5), lib.ones(3, 4, 3, 3)),
     r"Given transposed=1, weight of size \[3, 4, 3, 3\], expected input\[2, 4, 5, 5\] to have 3 channels"),
]


@pytest.mark.parametrize("fn,match", ERRORS)
def test_conv_errors_match_torch(fn, match):
    with pytest.raises(RuntimeError, match=match):
        fn(torch)
    with pytest.raises(RuntimeError, match=match):
        fn(ember)


def test_conv_large_batch_matches_torch():
    check(lambda lib, x, w, b: lib.conv2d(lib.relu(x), w, b, padding=1), rand(16, 8, 14, 14, seed=13),
          rand(16, 8, 3, 3, seed=14), rand(16, seed=15), atol=1e-4, rtol=1e-3)
