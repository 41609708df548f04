"""default_collate / default_convert against torch.utils.data."""
import collections

import numpy as np
import pytest
import torch
import torch.utils.data as tdata

import ember
import ember.utils.data as edata
from tests.utils.data_common import Mixed, Point, assert_same_batch

Named = collections.namedtuple("Named", "a b")

SAMPLE_LISTS = {
    "floats": [1.0, 2.5],
    "ints": [1, 2, 3],
    "bools": [True, False],
    "strings": ["a", "bc"],
    "bytes": [b"a", b"b"],
    "arrays": [np.ones((2, 3), np.float32), np.zeros((2, 3), np.float32)],
    "int_arrays": [np.arange(3), np.arange(3) * 2],
    "0d_arrays": [np.array(1.5), np.array(2.5)],
    "np_scalars": [np.float32(1), np.float32(2)],
    "np_int_scalars": [np.int16(1), np.int16(2)],
    "empty_arrays": [np.zeros((0, 2)), np.zeros((0, 2))],
    "dicts": [{"x": 1, "y": [1.0, 2.0]}, {"x": 2, "y": [3.0, 4.0]}],
    "tuples": [(1, "a", 2.0), (2, "b", 3.0)],
    "lists": [[1, 2], [3, 4]],
    "namedtuples": [Point(1, 2.0), Point(3, 4.0)],
    "nested": [Named({"k": (1, 2)}, [np.ones(2)]), Named({"k": (3, 4)}, [np.zeros(2)])],
    "mixed": [Mixed()[i] for i in range(3)],
}


@pytest.mark.parametrize("name", SAMPLE_LISTS)
def test_default_collate_matches_torch(name):
    batch = SAMPLE_LISTS[name]
    assert_same_batch(edata.default_collate(batch), tdata.default_collate(batch))


@pytest.mark.parametrize("name", SAMPLE_LISTS)
def test_default_convert_matches_torch(name):
    for sample in SAMPLE_LISTS[name]:
        assert_same_batch(edata.default_convert(sample), tdata.default_convert(sample))


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool", "uint8"])
def test_collate_tensors_stack(dtype):
    arrays = [np.arange(6).reshape(2, 3).astype(dtype) + i for i in range(3)]
    e = edata.default_collate([ember.tensor(a) for a in arrays])
    t = tdata.default_collate([torch.tensor(a) for a in arrays])
    assert_same_batch(e, t)


def test_collate_tensor_layouts():
    base = np.arange(24, dtype=np.float32).reshape(4, 6)
    e = edata.default_collate([ember.tensor(base).t()[:3], ember.tensor(base)[:, ::2].t()])
    t = tdata.default_collate([torch.tensor(base).t()[:3], torch.tensor(base)[:, ::2].t()])
    assert_same_batch(e, t)


def test_ragged_lists_error():
    for lib in (edata, tdata):
        with pytest.raises(RuntimeError, match="each element in list of batch should be of equal size"):
            lib.default_collate([[1, 2], [3]])


def test_unequal_tensors_error():
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        edata.default_collate([ember.ones(2), ember.ones(3)])


@pytest.mark.parametrize("bad", [[object(), object()], [np.array(["a", "b"]), np.array(["c", "d"])]])
def test_unsupported_types_error(bad):
    with pytest.raises(TypeError, match="default_collate: batch must contain tensors, numpy arrays"):
        edata.default_collate(bad)


def test_default_convert_keeps_string_arrays_and_tensors():
    arr = np.array(["a", "b"])
    assert edata.default_convert(arr) is arr
    x = ember.ones(2)
    assert edata.default_convert(x) is x
