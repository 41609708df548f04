"""F.one_hot against torch: values, int64 result, inferred class count, layouts and torch's errors."""
import numpy as np
import pytest
import torch

import ember
from tests.oracle import check, check_layouts, rand


def _one_hot(*args):
    return lambda lib, x: lib.nn.functional.one_hot(x, *args)


@pytest.mark.parametrize("shape, num_classes", [
    ((5,), -1), ((5,), 7), ((), -1), ((), 7), ((2, 3), -1), ((4, 1, 2), 7), ((2, 0, 3), 7),  # empty: count given
])
def test_one_hot_matches_torch(shape, num_classes):
    x = rand(*shape, dtype=np.int64, low=0, high=6, seed=1)
    out = check(_one_hot(num_classes), x, grad=False)
    assert out.dtype == ember.int64


def test_one_hot_strided_inputs():
    check_layouts(_one_hot(5), rand(3, 4, dtype=np.int64, low=0, high=4, seed=2), grad=False)


def test_one_hot_keyword_and_exact_class_count():
    x = ember.tensor([[0, 2], [1, 2]])
    t = torch.tensor([[0, 2], [1, 2]])
    assert ember.nn.functional.one_hot(x, num_classes=3).tolist() == torch.nn.functional.one_hot(t, 3).tolist()


@pytest.mark.parametrize("values, dtype, num_classes", [
    ([0, 2, 1], "int32", 3),                 # not a LongTensor
    ([0.0, 1.0], "float32", 3),
    ([True, False], "bool", 3),
    ([], "int64", -1),                      # nothing to infer the class count from
    ([], "int64", 0),
    ([0, -1], "int64", 3),                  # negative class
    ([0, -1], "int64", -1),
    ([0, 3], "int64", 3),                   # class out of range
    ([0, 1], "int64", 0),
    ([0, 1], "int64", -2),
])
def test_one_hot_errors_match_torch(values, dtype, num_classes):
    with pytest.raises(RuntimeError) as t_err:
        torch.nn.functional.one_hot(torch.tensor(values, dtype=getattr(torch, dtype)), num_classes)
    with pytest.raises(RuntimeError) as e_err:
        ember.nn.functional.one_hot(ember.tensor(values, dtype=getattr(ember, dtype)), num_classes)
    assert str(e_err.value) == str(t_err.value)


def test_one_hot_rejects_a_float_class_count():
    with pytest.raises(TypeError, match="num_classes"):
        torch.nn.functional.one_hot(torch.tensor([0, 1]), 3.0)
    with pytest.raises(TypeError, match="argument 'num_classes' must be int, not float"):
        ember.nn.functional.one_hot(ember.tensor([0, 1]), 3.0)
