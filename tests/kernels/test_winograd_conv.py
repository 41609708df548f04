"""The Winograd F(2x2, 3x3) path of 3x3 stride-1 convolutions (``winograd.py``, ``winograd_kernels.py``)
against torch and the im2col NumPy path: values and gradients, odd sizes, paddings 0 to 2, bias or none,
non-contiguous inputs, the transposed convolution (the input gradient), thread counts and gradcheck."""
import numpy as np
import pytest
import torch

import ember
from ember.backend import compiled
from ember.ops import winograd
from tests.oracle import as_input, gradcheck, laid_out, rand

CASES = [  # (x shape, w shape, padding)
    ((2, 8, 13, 15), (9, 8, 3, 3), 1),  # odd output: the last tiles cropped
    ((1, 8, 1, 1), (8, 8, 3, 3), 1),  # one position, batch 1
    ((2, 12, 2, 2), (8, 12, 3, 3), 2),
    ((3, 8, 7, 6), (10, 8, 3, 3), 0),
    ((1, 16, 3, 3), (8, 16, 3, 3), 0),  # one output position
    ((2, 9, 6, 11), (12, 9, 3, 3), (0, 2)),
    ((2, 8, 5, 4), (8, 8, 3, 3), 3),  # padding beyond the kernel: the input gradient falls back
    ((2, 16, 6, 5), (3, 16, 3, 3), 1),  # 3 output channels: the input gradient (3 -> 16) falls back
]


def _tol(dtype):
    return dict(rtol=2e-5, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)


def _arrays(xs, ws, padding, dtype):
    x, w, b = rand(*xs, dtype=dtype, seed=1), rand(*ws, dtype=dtype, seed=2), rand(ws[0], dtype=dtype, seed=3)
    with torch.no_grad():
        shape = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), padding=padding).shape
    return x, w, b, rand(*shape, dtype=dtype, seed=4)


def _run(lib, arrays, padding, bias=True, layout="contiguous"):
    """Output and the gradients of input, weight (and bias) of conv2d under the upstream ``arrays[3]``."""
    x, w, b, g = arrays
    xt, xv = laid_out(lib, x, layout, requires_grad=True)
    wt = lib.tensor(w, requires_grad=True)
    bt = lib.tensor(b, requires_grad=True) if bias else None
    out = lib.nn.functional.conv2d(xv, wt, bt, padding=padding)
    out.backward(lib.tensor(g))
    gx = as_input(xt.grad.numpy(), layout, x.ndim)
    return [out.detach().numpy(), gx, wt.grad.numpy()] + ([bt.grad.numpy()] if bias else [])


@pytest.fixture
def calls(monkeypatch):
    """Counts the Winograd convolutions run."""
    seen = []
    real = winograd.conv2d

    def spy(x, w, b, padding):
        seen.append(tuple(padding))
        return real(x, w, b, padding)
    monkeypatch.setattr(winograd, "conv2d", spy)
    return seen


def _compare(xs, ws, padding, dtype, bias=True, layout="contiguous"):
    tol = _tol(dtype)
    arrays = _arrays(xs, ws, padding, dtype)
    want = _run(torch, arrays, padding, bias)
    got = _run(ember, arrays, padding, bias, layout)
    with compiled.disabled():
        ref = _run(ember, arrays, padding, bias, layout)
    for what, a, r, t in zip(("output", "input grad", "weight grad", "bias grad"), got, ref, want):
        assert a.dtype == dtype and a.shape == t.shape, what
        scale = max(1.0, np.abs(t).max())
        np.testing.assert_allclose(a, t, rtol=tol["rtol"], atol=tol["atol"] * scale, err_msg=f"{what} vs torch")
        np.testing.assert_allclose(a, r, rtol=tol["rtol"], atol=tol["atol"] * scale, err_msg=f"{what} vs NumPy")


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("xs,ws,padding", CASES)
def test_matches_torch_and_the_im2col_path(calls, xs, ws, padding, dtype, bias):
    if not compiled.usable(np.zeros(1)):
        pytest.skip("the kernels are off")
    _compare(xs, ws, padding, dtype, bias)
    pads = padding if isinstance(padding, tuple) else (padding, padding)
    want = [pads] + ([(2 - pads[0], 2 - pads[1])] if max(pads) <= 2 and ws[0] >= 8 else [])  # forward, input grad
    assert calls == want


@pytest.mark.parametrize("layout", ["transposed", "sliced"])
def test_non_contiguous_inputs(layout):
    _compare((2, 8, 9, 7), (8, 8, 3, 3), 1, np.float32, layout=layout)


def test_shallow_and_other_convolutions_keep_the_im2col_path(calls):
    for xs, ws, kw in (((2, 3, 8, 8), (16, 3, 3, 3), dict(padding=1)),  # 3 input channels
                       ((2, 8, 8, 8), (8, 8, 3, 3), dict(stride=2, padding=1)),
                       ((2, 8, 8, 8), (8, 8, 3, 3), dict(dilation=2, padding=2)),
                       ((2, 8, 8, 8), (8, 4, 3, 3), dict(groups=2, padding=1)),
                       ((2, 8, 8, 8), (8, 8, 3, 2), dict(padding=1))):
        w = ember.tensor(rand(*ws, seed=6), requires_grad=True)  # no input gradient: 16 -> 3 would take it
        ember.nn.functional.conv2d(ember.tensor(rand(*xs, seed=5)), w, **kw).sum().backward()
    x = ember.tensor(rand(2, 8, 9, seed=7), requires_grad=True)  # conv1d
    ember.nn.functional.conv1d(x, ember.tensor(rand(8, 8, 3, seed=8)), padding=1).sum().backward()
    with compiled.disabled():  # EMBER_KERNELS=0
        x = ember.tensor(rand(2, 8, 8, 8, seed=5), requires_grad=True)
        ember.nn.functional.conv2d(x, ember.tensor(rand(8, 8, 3, 3, seed=6)), padding=1).sum().backward()
    assert calls == []


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("padding,output_padding,stride", [(0, 0, 1), (1, 0, 1), (2, 0, 1), (3, 0, 1), (1, 1, 2)])
def test_conv_transpose2d(dtype, padding, output_padding, stride):
    """Stride-1 transposed convolutions with padding 2 at most run as a Winograd convolution; the rest fall back."""
    x, w, b = rand(2, 8, 7, 6, dtype=dtype, seed=9), rand(8, 10, 3, 3, dtype=dtype, seed=10), rand(10, dtype=dtype)
    kw = dict(padding=padding, output_padding=output_padding, stride=stride)
    got = ember.nn.functional.conv_transpose2d(ember.tensor(x), ember.tensor(w), ember.tensor(b), **kw).numpy()
    want = torch.nn.functional.conv_transpose2d(torch.tensor(x), torch.tensor(w), torch.tensor(b), **kw).numpy()
    tol = _tol(dtype)
    np.testing.assert_allclose(got, want, rtol=tol["rtol"], atol=tol["atol"] * max(1.0, np.abs(want).max()))


def test_results_do_not_depend_on_the_thread_count():
    arrays = _arrays((7, 24, 20, 19), (16, 24, 3, 3), 1, np.float32)
    before = ember.get_num_threads()
    runs = []
    try:
        for n in (1, 2, 3):
            ember.set_num_threads(n)
            runs.append(_run(ember, arrays, 1))
    finally:
        ember.set_num_threads(before)
    for other in runs[1:]:
        for i in (0, 1):  # output and input gradient; the weight gradient is the im2col GEMM's
            np.testing.assert_array_equal(runs[0][i], other[i])


def test_float32_error_on_realistic_data():
    """randn activations, Kaiming-scaled weights, 64 channels: within the im2col path's float32 tolerance
    of a float64 reference."""
    if not compiled.usable(np.zeros(1)):
        pytest.skip("the kernels are off")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 64, 14, 14))
    w = rng.standard_normal((64, 64, 3, 3)) * np.sqrt(2.0 / (64 * 9))
    want = winograd.conv2d(x, w, None, (1, 1))
    ref = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), padding=1).numpy()
    np.testing.assert_allclose(want, ref, rtol=1e-12, atol=1e-12)
    got = ember.nn.functional.conv2d(ember.tensor(x.astype(np.float32)), ember.tensor(w.astype(np.float32)),
                                     padding=1).numpy()
    assert np.abs(got - ref).max() <= 2e-5 * np.abs(ref).max()


def test_gradcheck_through_conv2d(calls):
    gradcheck(lambda lib, x, w, b: lib.nn.functional.conv2d(x, w, b, padding=1), rand(1, 8, 3, 4, seed=11),
              rand(8, 8, 3, 3, seed=12), rand(8, seed=13))
    assert calls or not compiled.usable(np.zeros(1))


def test_images_in_chunks(monkeypatch):
    """Several chunks of images (one image, then two at a time) give what one chunk gives, to float32
    rounding: BLAS may block a GEMM with fewer rows differently (it does on AMD EPYC's OpenBLAS kernels)."""
    if not compiled.usable(np.zeros(1)):
        pytest.skip("the kernels are off")
    x, w, b = rand(5, 8, 9, 7, seed=14), rand(10, 8, 3, 3, seed=15), rand(10, seed=16)
    whole = winograd.conv2d(x, w, b, (1, 1))
    for images in (1, 2):
        monkeypatch.setattr(winograd, "_CHUNK_BYTES", images * 16 * 5 * 4 * 18 * 4)
        np.testing.assert_allclose(winograd.conv2d(x, w, b, (1, 1)), whole, rtol=0, atol=1e-6 * np.abs(whole).max())
