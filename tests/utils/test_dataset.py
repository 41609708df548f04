"""Datasets and random_split against torch.utils.data."""
import numpy as np
import pytest
import torch
import torch.utils.data as tdata

import ember
import ember.utils.data as edata
from tests.utils.data_common import Squares, assert_same_batch


class Stream:
    """An IterableDataset for either library: yields start .. stop-1."""

    def __init__(self, lib, start, stop):
        base = lib.utils.data.IterableDataset
        self.ds = type("S", (base,), {"__iter__": lambda s: iter(range(start, stop)), "__len__": lambda s: stop - start})()


def _tensors(lib):
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    return lib.tensor(x), lib.tensor(np.arange(6))


def test_tensor_dataset():
    e, t = edata.TensorDataset(*_tensors(ember)), tdata.TensorDataset(*_tensors(torch))
    assert len(e) == len(t) == 6
    for i in (0, 3, -1, slice(1, 4)):
        assert_same_batch(e[i], t[i])
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        edata.TensorDataset(ember.ones(3), ember.ones(4))


def test_concat_dataset():
    parts = [Squares(3), Squares(0), Squares(4)]
    e, t = edata.ConcatDataset(parts), tdata.ConcatDataset(parts)
    assert len(e) == len(t) == 7 and e.cumulative_sizes == t.cumulative_sizes
    assert [e[i] for i in range(-7, 7)] == [t[i] for i in range(-7, 7)]
    with pytest.raises(ValueError, match="absolute value of index should not exceed dataset length"):
        e[-8]
    with pytest.raises(AssertionError, match="datasets should not be an empty iterable"):
        edata.ConcatDataset([])
    with pytest.raises(AssertionError, match="ConcatDataset does not support IterableDataset"):
        edata.ConcatDataset([Stream(ember, 0, 2).ds])
    added = edata.TensorDataset(ember.arange(2)) + edata.TensorDataset(ember.arange(3))
    assert isinstance(added, edata.ConcatDataset) and len(added) == 5


def test_chain_dataset():
    e = edata.ChainDataset([Stream(ember, 0, 3).ds, Stream(ember, 10, 12).ds])
    t = tdata.ChainDataset([Stream(torch, 0, 3).ds, Stream(torch, 10, 12).ds])
    assert list(e) == list(t) == [0, 1, 2, 10, 11] and len(e) == len(t)
    assert list(Stream(ember, 0, 2).ds + Stream(ember, 5, 6).ds) == [0, 1, 5]


def test_subset_and_stack_dataset():
    assert [edata.Subset(Squares(6), [4, 1])[i] for i in range(2)] == [16, 1]
    assert len(edata.Subset(Squares(6), [4, 1])) == 2
    e, t = edata.StackDataset(Squares(3), Squares(3)), tdata.StackDataset(Squares(3), Squares(3))
    assert e[2] == t[2] == (4, 4) and len(e) == 3
    assert edata.StackDataset(a=Squares(3), b=Squares(3))[1] == tdata.StackDataset(a=Squares(3), b=Squares(3))[1]
    with pytest.raises(ValueError, match="Size mismatch between datasets"):
        edata.StackDataset(Squares(3), Squares(4))
    with pytest.raises(ValueError, match="both types are given"):
        edata.StackDataset(Squares(3), b=Squares(3))


@pytest.mark.parametrize("lengths", [[3, 7], [0.3, 0.7], [0.5, 0.25, 0.25], [0.34, 0.33, 0.33], [10]])
def test_random_split_sizes_and_cover(lengths):
    e = edata.random_split(Squares(10), lengths, generator=ember.Generator().manual_seed(0))
    t = tdata.random_split(Squares(10), lengths, generator=torch.Generator().manual_seed(0))
    assert [len(s) for s in e] == [len(s) for s in t]
    flat = sorted(i for s in e for i in s.indices)
    assert flat == list(range(10))
    again = edata.random_split(Squares(10), lengths, generator=ember.Generator().manual_seed(0))
    assert [s.indices for s in again] == [s.indices for s in e]


def test_random_split_errors():
    with pytest.raises(ValueError, match="Sum of input lengths does not equal the length of the input dataset!"):
        edata.random_split(Squares(10), [3, 3])
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        edata.random_split(Squares(1), [0.5, 0.5])


def test_dataset_base_raises():
    with pytest.raises(NotImplementedError):
        edata.Dataset()[0]
    with pytest.raises(NotImplementedError):
        iter(edata.IterableDataset())
