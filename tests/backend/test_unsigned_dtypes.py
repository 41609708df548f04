"""uint16/uint32/uint64: PyTorch's limited-support unsigned types. Creation, conversion,
printing, comparison and the arithmetic torch supports agree with torch; promotion with
anything but the type itself or a floating type raises torch's RuntimeError."""
import numpy as np
import pytest
import torch

import ember
from oracle import assert_same

NAMES = ("uint16", "uint32", "uint64")
VALUES = {"uint16": [0, 1, 65535], "uint32": [0, 7, 2**32 - 1], "uint64": [0, 9, 2**63 + 5]}


def _pair(name, values=None):
    values = VALUES[name] if values is None else values
    return ember.tensor(values, dtype=getattr(ember, name)), torch.tensor(values, dtype=getattr(torch, name))


@pytest.mark.parametrize("name", NAMES)
def test_dtype_attributes(name):
    e, t = getattr(ember, name), getattr(torch, name)
    assert (e.is_signed, e.itemsize, e.is_floating_point, e.is_complex) == (
        t.is_signed, t.itemsize, t.is_floating_point, t.is_complex)
    assert (ember.iinfo(e).min, ember.iinfo(e).max, ember.iinfo(e).bits) == (
        torch.iinfo(t).min, torch.iinfo(t).max, torch.iinfo(t).bits)


@pytest.mark.parametrize("name", NAMES)
def test_creation_conversion_and_printing(name):
    e, t = _pair(name)
    assert repr(e).replace("ember.", "torch.") == repr(t)
    assert e.tolist() == t.tolist()
    dt_e, dt_t = getattr(ember, name), getattr(torch, name)
    assert_same(ember.zeros(2, 3, dtype=dt_e), torch.zeros(2, 3, dtype=dt_t))
    assert_same(ember.full((2,), 5, dtype=dt_e), torch.full((2,), 5, dtype=dt_t))
    assert_same(ember.tensor([-1, 3]).to(dt_e), torch.tensor([-1, 3]).to(dt_t))  # wraps around
    assert_same(ember.tensor([2.7, 9.0]).to(dt_e), torch.tensor([2.7, 9.0]).to(dt_t))
    assert_same(e.to(ember.float64), t.to(torch.float64))
    assert_same(ember.from_numpy(np.array(VALUES[name], dtype=name)), torch.from_numpy(np.array(VALUES[name], dtype=name)))
    assert_same(e[1:], t[1:])
    assert_same(ember.cat([e, e]), torch.cat([t, t]))


@pytest.mark.parametrize("name", NAMES)
def test_comparison_and_supported_arithmetic(name):
    e, t = _pair(name)
    e2, t2 = _pair(name, [0, 2, 1])
    assert_same(e == e2, t == t2)
    assert_same(e * e2, t * t2)
    assert_same(e & e2, t & t2)
    assert_same(e / 2, t / 2)
    assert_same(e + 1.5, t + 1.5)
    assert_same(e.sum(), t.sum())
    assert_same(e.cumsum(0), t.cumsum(0))
    assert_same(e.float().mean(), t.float().mean())


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("other", ["int32", "int64", "uint8", "bool", "complex64", "uint16", "uint64"])
def test_promotion_with_other_types_raises_like_torch(name, other):
    if other == name:
        return
    e, t = _pair(name)
    with pytest.raises(RuntimeError, match="Promotion for uint16, uint32, uint64 types is not supported") as te:
        torch.promote_types(t.dtype, getattr(torch, other))
    with pytest.raises(RuntimeError) as ee:
        ember.promote_types(e.dtype, getattr(ember, other))
    assert str(ee.value) == str(te.value)
    with pytest.raises(RuntimeError, match="Promotion for uint16"):
        e + ember.ones(3, dtype=getattr(ember, other))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("other", ["float16", "bfloat16", "float32", "float64"])
def test_promotion_with_floating_types(name, other):
    assert str(ember.promote_types(getattr(ember, name), getattr(ember, other))) == \
        str(torch.promote_types(getattr(torch, name), getattr(torch, other))).replace("torch", "ember")
    assert ember.result_type(_pair(name)[0], 1) is getattr(ember, name)


@pytest.mark.parametrize("name", NAMES)
def test_safetensors_round_trip(name, tmp_path):
    e, _ = _pair(name)
    ember.save({"x": e}, tmp_path / "u.safetensors")
    back = ember.load(tmp_path / "u.safetensors")["x"]
    assert back.dtype is e.dtype and back.tolist() == e.tolist()
