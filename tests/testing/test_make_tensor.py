"""ember.testing.make_tensor: shapes, ranges, layouts and argument errors as torch.testing.make_tensor's."""
import numpy as np
import pytest
import torch

import ember
from ember.testing import make_tensor


@pytest.mark.parametrize("name", ["float32", "float64", "float16", "bfloat16", "int64", "int32", "uint8", "int8",
                                  "bool", "complex64"])
def test_dtype_shape_and_default_range(name):
    t = make_tensor(64, 8, dtype=getattr(ember, name), device="cpu")
    assert t.shape == ember.Size([64, 8]) and t.dtype is getattr(ember, name) and t.device.type == "cpu"
    values = t.numpy().astype(np.complex128 if name == "complex64" else np.float64)
    if name == "bool":
        assert set(np.unique(values)) == {0.0, 1.0}
    elif name == "uint8":
        assert values.min() >= 0 and values.max() < 10
    else:
        parts = [values.real, values.imag] if name == "complex64" else [values]
        for p in parts:
            assert p.min() >= -9 and p.max() <= 9
            assert p.min() < 0 < p.max()  # 512 draws cover both signs


def test_low_high_and_exclude_zero():
    t = make_tensor((1000,), dtype=ember.int64, device="cpu", low=0, high=3)
    assert set(np.unique(t.numpy())) == {0, 1, 2}  # high is exclusive, like torch
    t = make_tensor((1000,), dtype=ember.int64, device="cpu", low=-1, high=1, exclude_zero=True)
    assert 0 not in t.numpy()
    f = make_tensor((1000,), dtype=ember.float32, device="cpu", low=0.5, high=0.75)
    assert f.numpy().min() >= 0.5 and f.numpy().max() <= 0.75


def test_noncontiguous_and_channels_last_strides_match_torch():
    for shape, extra in [((2, 3), {"noncontiguous": True}), ((4, 5, 6), {"noncontiguous": True})]:
        e = make_tensor(shape, dtype=ember.float32, device="cpu", **extra)
        t = torch.testing.make_tensor(shape, dtype=torch.float32, device="cpu", **extra)
        assert e.stride() == t.stride() and not e.is_contiguous()
    e = make_tensor((2, 3, 4, 5), dtype=ember.float32, device="cpu", memory_format="ember.channels_last")
    t = torch.testing.make_tensor((2, 3, 4, 5), dtype=torch.float32, device="cpu", memory_format=torch.channels_last)
    assert e.stride() == t.stride()


def test_requires_grad_and_meta_device():
    t = make_tensor(3, dtype=ember.float64, device="cpu", requires_grad=True)
    assert t.requires_grad and t.is_leaf
    m = make_tensor(2, 2, dtype=ember.float32, device="meta")
    assert m.is_meta and m.shape == ember.Size([2, 2])


@pytest.mark.parametrize("kwargs", [
    dict(dtype="int64", requires_grad=True),
    dict(dtype="float32", low=5, high=1),
    dict(dtype="float32", low=float("nan")),
    dict(dtype="float32", noncontiguous=True, memory_format="channels_last"),
])
def test_argument_errors_match_torch(kwargs):
    def call(lib):
        k = dict(kwargs, dtype=getattr(lib, kwargs["dtype"]))
        if "memory_format" in k:
            k["memory_format"] = getattr(lib, "channels_last", "ember.channels_last")
        with pytest.raises(ValueError) as info:
            lib.testing.make_tensor((2, 3, 4, 5), device="cpu", **k)
        return str(info.value).replace("torch.", "ember.")
    assert call(ember) == call(torch)
