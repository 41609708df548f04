"""The implementation flags (foreach, fused, capturable, differentiable) every optimizer accepts, as torch does."""
import inspect

import pytest
import torch
from optim_oracle import assert_matches_torch

import ember

NAMES = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam", "LBFGS", "Rprop",
         "ASGD", "Adafactor", "SparseAdam", "Muon"]


def _params(cls):
    return [(k, v.default, v.kind) for k, v in inspect.signature(cls.__init__).parameters.items()]


@pytest.mark.parametrize("name", NAMES)
def test_constructor_signature_matches_torch(name):
    assert _params(getattr(ember.optim, name)) == _params(getattr(torch.optim, name))


@pytest.mark.parametrize("name,flags", [
    ("SGD", dict(foreach=True)), ("SGD", dict(fused=True)), ("Adam", dict(fused=True)),
    ("AdamW", dict(foreach=False)), ("Adagrad", dict(fused=True)), ("Rprop", dict(foreach=True)),
    ("ASGD", dict(foreach=False)), ("Adafactor", dict(foreach=False)), ("NAdam", dict(foreach=True)),
])
def test_flags_are_recorded_and_change_no_result(name, flags):
    assert_matches_torch(name, dict(lr=0.05, **flags))
    w = ember.zeros(2, requires_grad=True)
    group = getattr(ember.optim, name)([w], **flags).param_groups[0]
    assert all(group[k] == v for k, v in flags.items())


@pytest.mark.parametrize("name", ["SGD", "Adam", "Rprop", "ASGD"])
def test_differentiable_step_on_leaf_params_raises_torchs_error(name):
    for lib in (ember, torch):
        w = lib.ones(3, requires_grad=True)
        w.grad = lib.ones(3)
        opt = getattr(lib.optim, name)([w], differentiable=True)
        assert opt.param_groups[0]["differentiable"] is True
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
            opt.step()
