"""Convolution special cases against the NumPy path and torch: the 1x1 GEMM path (``_im2col.py``), the
direct depthwise kernels and the col2im kernel of the general input gradient (``conv_kernels.py``), values
and gradients of input, weight and bias."""
import numpy as np
import pytest
import torch

import ember
from ember.backend import compiled
from ember.ops import _im2col
from tests.oracle import as_input, gradcheck, laid_out, rand

DEPTHWISE = [  # (x shape, w shape, kwargs); groups is the input's channel count
    ((2, 5, 11, 9), (5, 1, 3, 3), dict(padding=1)),
    ((3, 4, 13, 10), (4, 1, 3, 3), dict(stride=2, padding=1)),
    ((2, 3, 12, 11), (6, 1, 5, 5), dict(padding=2)),  # multiplier 2
    ((2, 3, 12, 13), (6, 1, 3, 3), dict(stride=(2, 3), padding=(2, 0), dilation=(1, 2))),
    ((1, 4, 9, 8), (4, 1, 3, 2), dict(dilation=2, padding=(3, 1))),  # padding beyond the kernel's reach
    ((2, 3, 17), (3, 1, 5), dict(stride=2, padding=2)),
    ((2, 2, 19), (6, 1, 3), dict(dilation=3, padding=1)),  # conv1d, multiplier 3
    ((2, 3, 5, 6, 7), (3, 1, 3, 3, 3), dict(padding=1)),
    ((1, 2, 6, 7, 5), (4, 1, 2, 3, 3), dict(stride=(2, 1, 2), padding=(0, 1, 1), dilation=(1, 2, 1))),
]

POINTWISE = [
    ((2, 7, 5, 6), (9, 7, 1, 1), {}),
    ((3, 5, 9, 8), (4, 5, 1, 1), dict(stride=2)),
    ((2, 6, 11, 7), (3, 6, 1, 1), dict(stride=(3, 2), dilation=2)),
    ((2, 4, 13), (5, 4, 1), dict(stride=3)),
    ((2, 3, 4, 5, 6), (5, 3, 1, 1, 1), dict(stride=(1, 2, 2))),
    ((2, 300, 1, 300), (6, 300, 1, 1), {}),  # 300 positions: the per-image weight gradient
]

GENERAL = [  # groups 1, kernels above 1x1: the input gradient's col2im kernel
    ((2, 5, 9, 8), (4, 5, 3, 3), dict(padding=1)),
    ((3, 12, 11, 10), (7, 12, 3, 2), dict(stride=2, padding=(1, 0), dilation=(1, 2))),
    ((2, 3, 17), (4, 3, 5), dict(stride=3, padding=2)),
    ((1, 2, 5, 6, 7), (3, 2, 2, 3, 3), dict(stride=(1, 2, 1), padding=1)),
]

ONE_CHANNEL = [  # groups 1, one output (or input) channel: the direct kernels, where the GEMMs would be GEMVs
    ((2, 9, 11, 8), (1, 9, 3, 3), dict(padding=1)),
    ((2, 1, 10, 9), (6, 1, 3, 3), dict(padding=1)),  # a first layer: its weight gradient keeps the GEMM
    ((3, 4, 12, 13), (1, 4, 3, 2), dict(stride=2, padding=(1, 0), dilation=(1, 2))),
    ((2, 5, 17), (1, 5, 5), dict(stride=3, padding=2)),
]

TRANSPOSED = [  # (x shape, w shape, kwargs) of conv_transpose
    ((2, 6, 5, 4), (6, 3, 1, 1), {}),
    ((2, 5, 4, 5), (5, 3, 1, 1), dict(stride=2, padding=1, output_padding=1)),
    ((2, 4, 7), (4, 2, 1), dict(stride=3, padding=2, output_padding=2)),
    ((2, 4, 5, 6), (4, 1, 3, 3), dict(stride=2, padding=1, output_padding=1, groups=4)),  # depthwise
    ((2, 3, 5, 4), (3, 2, 3, 2), dict(stride=(1, 2), padding=(1, 0), dilation=(2, 1), groups=3)),
    ((1, 2, 3, 4, 3), (2, 2, 2, 3, 2), dict(stride=2, padding=(0, 1, 0), groups=2)),
    ((2, 5, 4, 6), (5, 3, 3, 3), dict(stride=2, padding=1, output_padding=1)),  # col2im kernel
    ((2, 4, 7), (4, 3, 4), dict(stride=3, dilation=2)),
]


def _name(ws, transposed):
    return f"conv{'_transpose' if transposed else ''}{len(ws) - 2}d"


def _groups(xs, ws, kw, transposed):
    return kw.get("groups", 1) if transposed or ws[1] == xs[1] else xs[1]


def _run(lib, xs, ws, kw, arrays, transposed=False, layout="contiguous"):
    """Output and the gradients of input, weight and bias under the upstream ``arrays[3]``."""
    x, w, b, g = arrays
    args = dict(kw, groups=_groups(xs, ws, kw, transposed))
    xt, xv = laid_out(lib, x, layout, requires_grad=True)
    wt, bt = lib.tensor(w, requires_grad=True), lib.tensor(b, requires_grad=True)
    out = getattr(lib.nn.functional, _name(ws, transposed))(xv, wt, bt, **args)
    out.backward(lib.tensor(g))
    gx = as_input(xt.grad.numpy(), layout, x.ndim)
    return [out.detach().numpy(), gx, wt.grad.numpy(), bt.grad.numpy()]


def _arrays(xs, ws, kw, dtype, transposed=False):
    x, w = rand(*xs, dtype=dtype, seed=1), rand(*ws, dtype=dtype, seed=2)
    cout = ws[1] * kw.get("groups", 1) if transposed else ws[0]
    b = rand(cout, dtype=dtype, seed=3)
    fn = getattr(torch.nn.functional, _name(ws, transposed))
    with torch.no_grad():
        shape = fn(torch.tensor(x), torch.tensor(w), **dict(kw, groups=_groups(xs, ws, kw, transposed))).shape
    return x, w, b, rand(*shape, dtype=dtype, seed=4)


def _compare(xs, ws, kw, dtype, transposed=False, layouts=("contiguous",)):
    tol = dict(rtol=2e-5, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-11)
    arrays = _arrays(xs, ws, kw, dtype, transposed)
    want = _run(torch, xs, ws, kw, arrays, transposed)
    for layout in layouts:
        got = _run(ember, xs, ws, kw, arrays, transposed, layout)
        with compiled.disabled():
            ref = _run(ember, xs, ws, kw, arrays, transposed, layout)
        for what, a, r, t in zip(("output", "input grad", "weight grad", "bias grad"), got, ref, want):
            assert a.dtype == dtype, what
            scale = max(1.0, np.abs(t).max())
            np.testing.assert_allclose(a, t, rtol=tol["rtol"], atol=tol["atol"] * scale, err_msg=f"{what} vs torch")
            np.testing.assert_allclose(a, r, rtol=tol["rtol"], atol=tol["atol"] * scale, err_msg=f"{what} vs NumPy")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("xs,ws,kw", DEPTHWISE)
def test_depthwise_kernel_matches_numpy_and_torch(xs, ws, kw, dtype):
    _compare(xs, ws, kw, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("xs,ws,kw", POINTWISE)
def test_pointwise_matches_numpy_and_torch(xs, ws, kw, dtype):
    _compare(xs, ws, kw, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("xs,ws,kw", GENERAL)
def test_col2im_kernel_matches_numpy_and_torch(xs, ws, kw, dtype):
    _compare(xs, ws, kw, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("xs,ws,kw", ONE_CHANNEL)
def test_one_channel_matches_numpy_and_torch(xs, ws, kw, dtype):
    _compare(xs, ws, kw, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("xs,ws,kw", TRANSPOSED)
def test_transposed_special_cases_match_numpy_and_torch(xs, ws, kw, dtype):
    _compare(xs, ws, kw, dtype, transposed=True)


@pytest.mark.parametrize("xs,ws,kw", [DEPTHWISE[1], DEPTHWISE[2], POINTWISE[1], POINTWISE[2]])
def test_non_contiguous_inputs(xs, ws, kw):
    _compare(xs, ws, kw, np.float32, layouts=("transposed", "sliced"))


@pytest.mark.parametrize("xs,ws,kw", [DEPTHWISE[0], DEPTHWISE[3], DEPTHWISE[7], POINTWISE[0], POINTWISE[2],
                                      ONE_CHANNEL[0]])
def test_special_cases_take_no_columns(monkeypatch, xs, ws, kw):
    """Forward, input and weight gradients of 1x1, depthwise and one-output convolutions never build im2col
    columns."""
    if (ws[1] != xs[1] or ws[0] == 1) and not compiled.usable(np.zeros(1)):
        pytest.skip("the depthwise kernels are off: the NumPy path builds columns")
    def refuse(*args):
        raise AssertionError("im2col called")
    monkeypatch.setattr(_im2col, "im2col", refuse)
    monkeypatch.setattr(_im2col, "_col2im_per_offset", refuse)
    monkeypatch.setattr(_im2col, "_col2im_grouped", refuse)
    _run(ember, xs, ws, kw, _arrays(xs, ws, kw, np.float32))


@pytest.mark.parametrize("xs,ws,kw,checked", [
    ((5, 48, 30, 29), (96, 1, 3, 3), dict(padding=1, stride=(1, 2)), (0, 1, 2, 3)),
    # the general path: only the input gradient is ours (col2im); OpenBLAS may split a GEMM's
    # depth over its threads, which changes the weight gradient's rounding
    ((7, 24, 20, 19), (16, 24, 3, 3), dict(padding=1), (1,))])
def test_results_do_not_depend_on_the_thread_count(xs, ws, kw, checked):
    arrays = _arrays(xs, ws, kw, np.float32)
    before = ember.get_num_threads()
    runs = []
    try:
        for n in (1, 2, 3):
            ember.set_num_threads(n)
            runs.append(_run(ember, xs, ws, kw, arrays))
    finally:
        ember.set_num_threads(before)
    for other in runs[1:]:
        for i in checked:
            np.testing.assert_array_equal(runs[0][i], other[i])


@pytest.mark.parametrize("xs,ws,kw", [((1, 3, 6, 5), (6, 1, 3, 3), dict(stride=2, padding=1, groups=3)),
                                      ((2, 2, 5, 4), (2, 1, 3, 2), dict(dilation=(2, 1), padding=1, groups=2)),
                                      ((2, 3, 5, 4), (4, 3, 1, 1), dict(stride=2)),
                                      ((2, 3, 4, 3), (4, 3, 1, 1), {})])
def test_gradcheck_through_conv2d(xs, ws, kw):
    gradcheck(lambda lib, x, w, b: lib.nn.functional.conv2d(x, w, b, **kw), rand(*xs, seed=5), rand(*ws, seed=6),
              rand(ws[0], seed=7))


@pytest.mark.parametrize("kw", [dict(stride=2, padding=1, output_padding=1), dict(stride=1)])
def test_gradcheck_through_conv_transpose2d(kw):
    gradcheck(lambda lib, x, w: lib.nn.functional.conv_transpose2d(x, w, **kw), rand(2, 3, 3, 4, seed=8),
              rand(3, 2, 1, 1, seed=9))
    gradcheck(lambda lib, x, w: lib.nn.functional.conv_transpose2d(x, w, groups=3, **kw), rand(1, 3, 3, 4, seed=10),
              rand(3, 2, 3, 3, seed=11))


def test_empty_batch():
    for xs, ws, kw in (((0, 4, 5, 5), (4, 1, 3, 3), dict(padding=1, groups=4)), ((0, 4, 5, 5), (3, 4, 1, 1), {})):
        x = ember.zeros(xs, requires_grad=True)
        w = ember.ones(ws, requires_grad=True)
        out = ember.nn.functional.conv2d(x, w, **kw)
        out.sum().backward()
        assert tuple(out.shape) == (0, ws[0], 5, 5)
        assert not w.grad.numpy().any()


def test_pointwise_keeps_low_precision_dtypes():
    """ml_dtypes' bfloat16 GEMM returns float32: the 1x1 paths hand back the input's dtype."""
    for dtype in (ember.bfloat16, ember.float16):
        x = ember.randn(2, 4, 5, 5).to(dtype).requires_grad_()
        w = ember.randn(3, 4, 1, 1).to(dtype).requires_grad_()
        ember.nn.functional.conv2d(x, w, stride=2).sum().backward()
        out = ember.nn.functional.conv_transpose2d(x.detach(), w.detach().transpose(0, 1), stride=2, padding=1)
        assert (x.grad.dtype, w.grad.dtype, out.dtype) == (dtype, dtype, dtype)
