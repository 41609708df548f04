import copy
import pickle

import numpy as np
import pytest
import torch

import ember
from ember.nn import Parameter


def test_parameter_is_leaf_tensor_requiring_grad():
    p = Parameter(ember.zeros(2))
    assert isinstance(p, ember.Tensor) and p.is_leaf and p.requires_grad and p.grad_fn is None
    assert not Parameter(ember.zeros(2), requires_grad=False).requires_grad


@pytest.mark.cpu_only  # compares with output torch prints for CPU tensors
@pytest.mark.parametrize("requires_grad", [True, False])
def test_repr_matches_torch(requires_grad):
    e = Parameter(ember.tensor([1.0, 2.5]), requires_grad=requires_grad)
    t = torch.nn.Parameter(torch.tensor([1.0, 2.5]), requires_grad=requires_grad)
    assert repr(e) == repr(t)


def test_shares_memory_with_data():
    t = ember.zeros(3)
    p = Parameter(t)
    t.add_(2.0)
    np.testing.assert_array_equal(p.numpy(force=True), [2.0, 2.0, 2.0])


def test_gradient_accumulates():
    p = Parameter(ember.tensor([1.0, 2.0]))
    (p * p).sum().backward()
    np.testing.assert_allclose(p.grad.cpu().numpy(), [2.0, 4.0])


def test_default_is_empty():
    assert Parameter().shape == (0,) == tuple(torch.nn.Parameter().shape)


def test_deepcopy_and_pickle_keep_type_and_values():
    p = Parameter(ember.tensor([1.0, 2.0]), requires_grad=False)
    for q in (copy.deepcopy(p), pickle.loads(pickle.dumps(p))):
        assert type(q) is Parameter and q.requires_grad is False
        np.testing.assert_array_equal(q.cpu().numpy(), [1.0, 2.0])
    q = copy.deepcopy(p)
    q.detach().add_(1)
    np.testing.assert_array_equal(p.cpu().numpy(), [1.0, 2.0])
