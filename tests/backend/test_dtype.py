"""dtype objects and PyTorch's promotion table."""
import pickle

import numpy as np
import pytest
import torch

import ember
from ember.backend import PROMOTE, to_dtype

NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64"]


@pytest.mark.parametrize("name", NAMES)
def test_dtype_properties_like_torch(name):
    e, t = getattr(ember, name), getattr(torch, name)
    assert repr(e) == str(e) == repr(t).replace("torch.", "ember.")
    assert e.is_floating_point == t.is_floating_point
    assert e.is_signed == t.is_signed
    assert e.itemsize == t.itemsize
    assert not e.is_complex
    assert pickle.loads(pickle.dumps(e)) is e


@pytest.mark.parametrize("a", NAMES)
@pytest.mark.parametrize("b", NAMES)
def test_promotion_table_matches_torch(a, b):
    expected = torch.promote_types(getattr(torch, a), getattr(torch, b))
    assert repr(PROMOTE[getattr(ember, a), getattr(ember, b)]) == repr(expected).replace("torch.", "ember.")


@pytest.mark.parametrize("value,expected", [
    (float, "float64"), (int, "int64"), (bool, "bool"), (np.float64, "float64"), (np.dtype("int32"), "int32"),
    ("float16", "float16"), (np.uint8, "uint8"),
])
def test_to_dtype(value, expected):
    assert to_dtype(value) is getattr(ember, expected)


def test_unsupported_numpy_dtype():
    with pytest.raises(TypeError, match="can't convert np.ndarray of type"):
        ember.from_numpy(np.zeros(2, dtype=np.longdouble))


def test_dtype_equality_and_hash():
    assert ember.float32 == ember.float and ember.float32 != ember.float64
    assert len({ember.float32, ember.float, ember.int64, ember.long}) == 2
