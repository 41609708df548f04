"""interpolate (every mode), pixel_shuffle and pixel_unshuffle against torch."""
import numpy as np
import pytest
import torch

import ember
from tests.oracle import check, check_layouts, gradcheck, rand

SIZES = [dict(scale_factor=2), dict(size=(5, 11)), dict(scale_factor=(0.7, 1.6)), dict(size=1),
         dict(scale_factor=1.3, recompute_scale_factor=True), dict(scale_factor=0.5)]
MODES = [("nearest", None), ("nearest-exact", None), ("bilinear", False), ("bilinear", True), ("bicubic", False),
         ("bicubic", True), ("area", None)]
NODE = {"nearest": "UpsampleNearest2DBackward0", "nearest-exact": "UpsampleNearestExact2DBackward0",
        "bilinear": "UpsampleBilinear2DBackward0", "bicubic": "UpsampleBicubic2DBackward0",
        "area": "AdaptiveAvgPool2DBackward0"}


def _interp(**kw):
    return lambda lib, x: lib.nn.functional.interpolate(x, **kw)


@pytest.mark.parametrize("mode,align", MODES)
@pytest.mark.parametrize("kw", SIZES)
def test_interpolate_2d(mode, align, kw):
    out = check(_interp(mode=mode, align_corners=align, **kw), rand(2, 3, 9, 7, seed=1), atol=1e-5)
    if tuple(out.shape[2:]) != (1, 1) or mode != "area":
        assert out.grad_fn.name() == NODE[mode]


@pytest.mark.parametrize("mode,align", MODES[:4])
def test_interpolate_layouts(mode, align):
    check_layouts(_interp(mode=mode, align_corners=align, scale_factor=(1.5, 0.8)), rand(2, 3, 6, 8, seed=2))


@pytest.mark.parametrize("mode,align", [("nearest", None), ("nearest-exact", None), ("linear", False),
                                        ("linear", True), ("area", None)])
@pytest.mark.parametrize("kw", [dict(scale_factor=2.5), dict(size=4), dict(size=13)])
def test_interpolate_1d(mode, align, kw):
    check(_interp(mode=mode, align_corners=align, **kw), rand(2, 3, 7, seed=3))


@pytest.mark.parametrize("mode,align", [("nearest", None), ("trilinear", False), ("trilinear", True),
                                        ("area", None), ("nearest-exact", None)])
def test_interpolate_3d(mode, align):
    out = check(_interp(mode=mode, align_corners=align, scale_factor=(1.5, 0.6, 2)), rand(1, 2, 4, 5, 3, seed=4))
    assert out.shape == (1, 2, 6, 3, 6)


def test_interpolate_large_and_float64():
    check(_interp(mode="bilinear", scale_factor=2), rand(2, 8, 32, 32, seed=5))
    check(_interp(mode="nearest", scale_factor=2), rand(2, 8, 32, 32, seed=6))
    check(_interp(mode="bicubic", size=(5, 6)), rand(1, 2, 8, 9, dtype=np.float64, seed=7))


@pytest.mark.parametrize("mode,align", [("nearest", None), ("bilinear", False), ("bilinear", True),
                                        ("bicubic", False), ("area", None)])
def test_interpolate_gradcheck(mode, align):
    gradcheck(_interp(mode=mode, align_corners=align, size=(4, 5)), rand(1, 2, 3, 6, seed=8))


def test_interpolate_double_backward_matches_torch():
    def fn(lib, x):
        y = lib.nn.functional.interpolate(x, scale_factor=2, mode="bilinear")
        (g,) = lib.autograd.grad((y * y).sum(), x, create_graph=True)
        return g
    check(fn, rand(1, 2, 3, 4, seed=9))


@pytest.mark.parametrize("call,exc,msg", [
    (lambda lib, x: lib.nn.functional.interpolate(x), ValueError, "either size or scale_factor should be defined"),
    (lambda lib, x: lib.nn.functional.interpolate(x, size=3, scale_factor=2), ValueError,
     "only one of size or scale_factor should be defined"),
    (lambda lib, x: lib.nn.functional.interpolate(x, scale_factor=2, mode="linear"), NotImplementedError,
     "Got 4D input, but linear mode needs 3D input"),
    (lambda lib, x: lib.nn.functional.interpolate(x, scale_factor=2, align_corners=True), ValueError,
     "align_corners option can only be set with the interpolating modes"),
    (lambda lib, x: lib.nn.functional.interpolate(x, scale_factor=2, mode="foo"), NotImplementedError,
     r"\(got foo\)"),
    (lambda lib, x: lib.nn.functional.interpolate(x, size=(2, 3, 4)), ValueError,
     "Input and output must have the same number of spatial dimensions"),
    (lambda lib, x: lib.nn.functional.interpolate(x, scale_factor=0.1), RuntimeError,
     r"Input and output sizes should be greater than 0, but got input \(H: 8, W: 8\) output \(H: 0, W: 0\)"),
    (lambda lib, x: lib.nn.functional.interpolate(x[0], scale_factor=0.1), RuntimeError,
     r"but got input \(W: 8\) and output \(W: 0\)"),
    (lambda lib, x: lib.pixel_shuffle(x, 2), RuntimeError,
     r"divisible by the square of upscale_factor, but input.size\(-3\)=3 is not divisible by 4"),
    (lambda lib, x: lib.pixel_unshuffle(x, 3), RuntimeError,
     r"pixel_unshuffle expects height to be divisible by downscale_factor, but input.size\(-2\)=8"),
    (lambda lib, x: lib.pixel_shuffle(x[0, 0], 2), RuntimeError, "at least 3 dimensions"),
])
def test_errors(call, exc, msg):
    x = rand(2, 3, 8, 8, seed=10)
    for lib, t in ((torch, torch.tensor(x)), (ember, ember.tensor(x))):
        with pytest.raises(exc, match=msg):
            call(lib, t)


# pixel shuffle -----------------------------------------------------------------------------------


@pytest.mark.parametrize("shape,r", [((2, 8, 3, 4), 2), ((9, 2, 2), 3), ((2, 1, 4, 4, 3), 2), ((1, 4, 1, 1), 1)])
def test_pixel_shuffle(shape, r):
    out = check(lambda lib, x: lib.nn.functional.pixel_shuffle(x, r), rand(*shape, seed=11))
    assert out.grad_fn.name() == "PixelShuffleBackward0"
    check_layouts(lambda lib, x: lib.pixel_shuffle(x, r), rand(*shape, seed=12))
    back = check(lambda lib, x: lib.pixel_unshuffle(lib.pixel_shuffle(x, r), r), rand(*shape, seed=13))
    assert back.shape == shape


@pytest.mark.parametrize("shape,r", [((2, 2, 6, 4), 2), ((1, 9, 9), 3), ((3, 1, 2, 4, 6), 2)])
def test_pixel_unshuffle(shape, r):
    check_layouts(lambda lib, x: lib.nn.functional.pixel_unshuffle(x, r), rand(*shape, seed=14))
    assert ember.pixel_unshuffle(ember.ones(*shape, requires_grad=True), r).grad_fn.name() == "PixelUnshuffleBackward0"
    gradcheck(lambda lib, x: lib.pixel_unshuffle(x, r), rand(*shape, seed=15))


@pytest.mark.parametrize("mode,align", MODES)
def test_long_dims_use_gathers_and_cumsums(monkeypatch, mode, align):
    import ember.ops.resample as resample
    monkeypatch.setattr(resample, "_DENSE_MAX", 0)
    check(_interp(mode=mode, align_corners=align, scale_factor=(1.7, 0.6)), rand(2, 3, 9, 7, seed=16))
    gradcheck(_interp(mode=mode, align_corners=align, size=(4, 5)), rand(1, 1, 3, 6, seed=17))


@pytest.mark.parametrize("mode,align", [("nearest", None), ("nearest-exact", None), ("bilinear", False),
                                        ("bilinear", True), ("bicubic", False)])
@pytest.mark.parametrize("kw", [dict(scale_factor=1.7), dict(size=(9, 4))])
def test_interpolate_uint8_images(mode, align, kw):
    # torch weighs uint8 pixels in fixed point: ember (float weights, rounded per dim) is within one level
    check(_interp(mode=mode, align_corners=align, **kw), rand(1, 3, 5, 6, dtype=np.uint8, low=0, high=255, seed=18),
          atol=1.0 if mode.startswith("bi") else 0.0, rtol=0.0, grad=False)
    with pytest.raises(NotImplementedError, match="adaptive_avg_pool2d\" not implemented for 'Byte'"):
        ember.nn.functional.interpolate(ember.ones(1, 1, 4, 4, dtype=ember.uint8), size=2, mode="area")


# antialiasing --------------------------------------------------------------------------------------

AA_MODES = [("bilinear", False), ("bilinear", True), ("bicubic", False), ("bicubic", True), ("lanczos", False)]
AA_NODE = {"bilinear": "UpsampleBilinear2DAaBackward0", "bicubic": "UpsampleBicubic2DAaBackward0",
           "lanczos": "UpsampleLanczos2DAaBackward0"}


@pytest.mark.parametrize("mode,align", AA_MODES)
@pytest.mark.parametrize("kw", [dict(size=(4, 3)), dict(scale_factor=(0.3, 0.45)), dict(size=(13, 5)),
                                dict(scale_factor=1.6), dict(size=1), dict(size=(37, 2))])
def test_interpolate_antialias_matches_torch(mode, align, kw):
    """Pillow-style antialiased resampling (values and gradients), shrinking, growing and both at once."""
    out = check(_interp(mode=mode, align_corners=align, antialias=True, **kw), rand(2, 3, 23, 11, seed=30),
                atol=1e-5)
    assert out.grad_fn.name() == AA_NODE[mode]


@pytest.mark.parametrize("mode,align", AA_MODES)
def test_interpolate_antialias_gradcheck_layouts_and_long_dims(monkeypatch, mode, align):
    fn = _interp(mode=mode, align_corners=align, antialias=True, size=(3, 5))
    check_layouts(fn, rand(2, 2, 9, 8, seed=31), atol=1e-5)
    gradcheck(fn, rand(1, 2, 7, 9, seed=32))
    import ember.ops.resample as resample
    monkeypatch.setattr(resample, "_DENSE_MAX", 0)  # the gather and cumulative-sum route
    check(fn, rand(1, 2, 9, 8, seed=33), atol=1e-5)
    gradcheck(fn, rand(1, 1, 7, 9, seed=34))


@pytest.mark.parametrize("mode", ["bilinear", "bicubic", "lanczos"])
def test_interpolate_antialias_uint8_images(mode):
    # torch weighs uint8 pixels in fixed point: ember (float weights, rounded per dim) is within one level
    check(_interp(mode=mode, antialias=True, size=(4, 7)), rand(1, 3, 17, 12, dtype=np.uint8, low=0, high=255, seed=35),
          atol=1.0, rtol=0.0, grad=False)


@pytest.mark.parametrize("call,exc,msg", [
    (lambda lib, x: lib.nn.functional.interpolate(x, size=3, mode="nearest", antialias=True), ValueError,
     "Anti-alias option is restricted to bilinear, bicubic, and lanczos modes and requires a 4-D tensor"),
    (lambda lib, x: lib.nn.functional.interpolate(x[0], size=3, mode="linear", antialias=True), ValueError,
     "Anti-alias option is restricted"),
    (lambda lib, x: lib.nn.functional.interpolate(x[None], size=3, mode="bilinear", antialias=True), ValueError,
     "Anti-alias option is restricted"),
    (lambda lib, x: lib.nn.functional.interpolate(x, size=3, mode="lanczos"), ValueError,
     "Lanczos mode requires antialias=True"),
    (lambda lib, x: lib.nn.functional.interpolate(x, size=3, mode="lanczos", align_corners=True, antialias=True),
     ValueError, "Lanczos mode does not support align_corners=True"),
    (lambda lib, x: lib.nn.functional.interpolate(x[0], size=3, mode="lanczos"), NotImplementedError,
     r"trilinear \| lanczos \| area \| nearest-exact \(got lanczos\)"),
    (lambda lib, x: lib.nn.functional.interpolate(x, size=(2, 3, 4), mode="bilinear", antialias=True), ValueError,
     "Input and output must have the same number of spatial dimensions"),
])
def test_antialias_errors(call, exc, msg):
    x = rand(2, 3, 8, 8, seed=36)
    for lib, t in ((torch, torch.tensor(x)), (ember, ember.tensor(x))):
        with pytest.raises(exc, match=msg):
            call(lib, t)
