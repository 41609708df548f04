"""Activation modules: same values as their functional form and torch's module; reprs match torch."""
import pytest
import torch

import ember
from tests.oracle import check, rand

MODULES = [
    ("ReLU", ()), ("ReLU", (True,)), ("ReLU6", ()), ("LeakyReLU", (0.2,)), ("LeakyReLU", (0.1, True)),
    ("ELU", (0.5,)), ("SELU", ()), ("CELU", (2.0,)), ("GELU", ()), ("GELU", ("tanh",)), ("SiLU", ()),
    ("Mish", ()), ("Sigmoid", ()), ("Tanh", ()), ("Hardtanh", (-2.0, 2.0)), ("Hardsigmoid", ()),
    ("Hardswish", ()), ("Softplus", (2.0, 5.0)), ("Softsign", ()), ("LogSigmoid", ()), ("Softmax", (1,)),
    ("LogSoftmax", (-1,)), ("Softmin", (0,)), ("GLU", (0,)), ("Threshold", (0.1, 20.0)),
]


@pytest.mark.parametrize("name,args", MODULES)
def test_module_matches_torch(name, args):
    check(lambda lib, x: getattr(lib.nn, name)(*args)(x * 1), rand(4, 6, low=-5.0, high=5.0, seed=1))


@pytest.mark.parametrize("name,args", MODULES)
def test_module_repr_matches_torch(name, args):
    assert repr(getattr(ember.nn, name)(*args)) == repr(getattr(torch.nn, name)(*args))


def test_keyword_arguments_and_attributes():
    m = ember.nn.LeakyReLU(negative_slope=0.3, inplace=True)
    assert m.negative_slope == 0.3 and m.inplace is True
    assert repr(m) == repr(torch.nn.LeakyReLU(negative_slope=0.3, inplace=True))
    assert ember.nn.Softplus(threshold=4).threshold == 4
    with pytest.raises(TypeError):
        ember.nn.ReLU(slope=1)
    with pytest.raises(TypeError):
        ember.nn.Sigmoid(1)


def test_inplace_module_writes_input():
    x = ember.tensor([-1.0, 2.0])
    assert ember.nn.ReLU(inplace=True)(x) is x and x.tolist() == [0.0, 2.0]


def test_modules_have_no_parameters_and_compose():
    net = ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.GELU(), ember.nn.Linear(4, 2), ember.nn.Softmax(-1))
    assert len(list(net.parameters())) == 4
    out = net(ember.ones(5, 3))
    assert out.shape == (5, 2)
    assert abs(out.sum().item() - 5.0) < 1e-5
