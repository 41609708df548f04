"""Pooling, upsampling and pixel-shuffle modules against torch: outputs, gradients, reprs, attributes."""
import pytest
import torch

import ember
from tests.oracle import check, rand

MODULES = [
    ("MaxPool1d", (3,), {}, (2, 3, 10)),
    ("MaxPool1d", (3, 2, 1), dict(dilation=1, ceil_mode=True), (3, 10)),
    ("MaxPool2d", (2,), {}, (2, 3, 8, 8)),
    ("MaxPool2d", ((2, 3),), dict(stride=1, padding=1, return_indices=True), (2, 3, 7, 6)),
    ("MaxPool3d", (2,), dict(ceil_mode=True), (1, 2, 5, 5, 5)),
    ("AvgPool1d", (3,), dict(ceil_mode=True, count_include_pad=False, padding=1), (2, 3, 10)),
    ("AvgPool2d", (3, 2, 1, True, False, 2), {}, (2, 3, 9, 8)),
    ("AvgPool2d", (2,), {}, (3, 8, 8)),
    ("AvgPool3d", (2,), dict(stride=1), (1, 2, 4, 4, 4)),
    ("AdaptiveAvgPool1d", (3,), {}, (2, 3, 10)),
    ("AdaptiveAvgPool2d", ((None, 2),), {}, (2, 3, 7, 5)),
    ("AdaptiveAvgPool2d", ((1, 1),), {}, (2, 3, 7, 5)),
    ("AdaptiveAvgPool3d", (2,), {}, (1, 2, 5, 4, 3)),
    ("AdaptiveMaxPool1d", (4,), dict(return_indices=True), (2, 3, 10)),
    ("AdaptiveMaxPool2d", (3, True), {}, (2, 3, 7, 5)),
    ("AdaptiveMaxPool3d", (2,), {}, (1, 2, 5, 4, 3)),
    ("LPPool1d", (2, 3), {}, (2, 3, 10)),
    ("LPPool2d", (2, 3, 2), {}, (2, 3, 9, 8)),
    ("Upsample", (), dict(scale_factor=2), (2, 3, 4, 5)),
    ("Upsample", (), dict(size=(3, 7), mode="bilinear", align_corners=True), (2, 3, 4, 5)),
    ("Upsample", (), dict(scale_factor=1.5, mode="bicubic"), (2, 3, 4, 5)),
    ("Upsample", (), dict(scale_factor=(2, 1), mode="nearest-exact"), (2, 3, 4, 5)),
    ("UpsamplingNearest2d", (), dict(scale_factor=2), (2, 3, 4, 5)),
    ("UpsamplingBilinear2d", (), dict(size=(3, 7)), (2, 3, 4, 5)),
    ("PixelShuffle", (2,), {}, (2, 8, 3, 3)),
    ("PixelUnshuffle", (2,), {}, (2, 2, 4, 6)),
]


@pytest.mark.parametrize("name,args,kwargs,shape", MODULES)
def test_module_matches_torch(name, args, kwargs, shape):
    e, t = getattr(ember.nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert repr(e) == repr(t)
    assert list(e.state_dict()) == list(t.state_dict()) == []
    for attr in ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices", "count_include_pad",
                 "divisor_override", "output_size", "norm_type", "scale_factor", "size", "mode", "align_corners",
                 "upscale_factor", "downscale_factor"):
        assert getattr(e, attr, None) == getattr(t, attr, None), attr
    check(lambda lib, x: (e if lib is ember else t)(x), rand(*shape, low=0.1, high=2.0, seed=1))


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_max_unpool_modules(nd):
    shape = (2, 3) + (4, 6, 4)[:nd]

    def fn(lib, x):
        pool = getattr(lib.nn, f"MaxPool{nd}d")(2, return_indices=True)
        unpool = getattr(lib.nn, f"MaxUnpool{nd}d")(2)
        return unpool(*pool(x), output_size=x.shape)
    out = check(fn, rand(*shape, seed=2))
    assert tuple(out.shape) == shape
    assert repr(getattr(ember.nn, f"MaxUnpool{nd}d")(2, 1)) == repr(getattr(torch.nn, f"MaxUnpool{nd}d")(2, 1))


def test_small_cnn_against_torch():
    def fn(lib, x):
        net = lib.nn.Sequential(lib.nn.MaxPool2d(2), lib.nn.AvgPool2d(3, 1, 1), lib.nn.Upsample(scale_factor=2,
                                mode="bilinear"), lib.nn.PixelUnshuffle(2), lib.nn.AdaptiveAvgPool2d(1),
                                lib.nn.Flatten())
        return net(x)
    out = check(fn, rand(2, 3, 8, 8, seed=3))
    assert tuple(out.shape) == (2, 12)
