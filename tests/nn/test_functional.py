"""nn.functional activations against torch: values, gradients, layouts, gradcheck."""
import numpy as np
import pytest
import torch

import ember
from tests.oracle import check, check_layouts, gradcheck, rand

ACTIVATIONS = {
    "relu": {}, "relu6": {}, "leaky_relu": {"negative_slope": 0.2}, "elu": {"alpha": 0.7}, "selu": {},
    "celu": {"alpha": 1.5}, "gelu": {}, "gelu_tanh": {"approximate": "tanh"}, "silu": {}, "mish": {},
    "sigmoid": {}, "tanh": {}, "hardtanh": {"min_val": -0.5, "max_val": 1.5}, "hardsigmoid": {},
    "hardswish": {}, "softplus": {"beta": 2.0, "threshold": 3.0}, "softsign": {}, "logsigmoid": {},
    "threshold": {"threshold": 0.3, "value": -2.0},
}


def _fn(name, kwargs):
    fname = name.split("_tanh")[0]
    return lambda lib, x: getattr(lib.nn.functional, fname)(x, **kwargs)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
@pytest.mark.parametrize("shape", [(3, 4), (), (0, 3), (2, 3, 5)])
def test_activation_matches_torch(name, shape):
    # range chosen so that kinks (0, +-3, +-1, 6) are hit by no sample exactly
    check(_fn(name, ACTIVATIONS[name]), rand(*shape, low=-7.0, high=7.0, seed=1))


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_layouts_and_float64(name):
    check_layouts(_fn(name, ACTIVATIONS[name]), rand(4, 6, low=-4.0, high=4.0, seed=2))
    check(_fn(name, ACTIVATIONS[name]), rand(5, dtype=np.float64, low=-4.0, high=4.0, seed=3))


@pytest.mark.parametrize("name", ["gelu", "gelu_tanh", "elu", "selu", "celu", "silu", "mish", "softplus",
                                  "softsign", "logsigmoid", "sigmoid", "tanh"])
def test_activation_gradcheck(name):
    gradcheck(_fn(name, ACTIVATIONS[name]), rand(2, 3, low=-2.0, high=2.0, seed=4))


def test_large_inputs_stay_finite():
    x = np.array([-200.0, -30.0, 0.0, 0.5, 30.0, 200.0], dtype=np.float32)
    for name in ["softplus", "mish", "logsigmoid", "silu"]:
        check(_fn(name, {}), x)


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_family(name, dim):
    check_layouts(lambda lib, x: getattr(lib.nn.functional, name)(x, dim=dim), rand(3, 4, seed=5))


@pytest.mark.parametrize("shape", [(4,), (2, 3), (2, 3, 4)])
def test_softmax_implicit_dim(shape):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(lambda lib, x: lib.nn.functional.softmax(x), rand(*shape, seed=6))


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_glu(dim):
    check(lambda lib, x: lib.nn.functional.glu(x, dim), rand(4, 6, seed=7))
    gradcheck(lambda lib, x: lib.nn.functional.glu(x, dim), rand(2, 4, seed=8))


def test_glu_odd_dim_error():
    with pytest.raises(RuntimeError, match="Halving dimension must be even, but dimension 1 is size 3"):
        ember.nn.functional.glu(ember.ones(2, 3))


def test_gelu_bad_approximate():
    with pytest.raises(RuntimeError, match="approximate"):
        ember.nn.functional.gelu(ember.ones(2), approximate="fast")


@pytest.mark.parametrize("name", ["relu", "relu6", "leaky_relu", "elu", "selu", "celu", "silu", "mish",
                                  "hardtanh", "hardsigmoid", "hardswish"])
def test_inplace_forms_modify_input(name):
    x = rand(3, 4, low=-5.0, high=5.0, seed=9)
    e, t = ember.tensor(x.copy()), torch.tensor(x.copy())
    e_out = getattr(ember.nn.functional, name)(e, inplace=True)
    t_out = getattr(torch.nn.functional, name)(t, inplace=True)
    assert e_out is e
    np.testing.assert_allclose(e.cpu().numpy(), t_out.cpu().numpy(), rtol=1e-5, atol=1e-6)


def test_threshold_inplace():
    e = ember.tensor([0.1, 0.5, 2.0])
    ember.nn.functional.threshold(e, 0.4, 9.0, inplace=True)
    assert e.tolist() == pytest.approx([9.0, 0.5, 2.0])


def test_relu_inplace_backward_through_non_leaf():
    x = rand(3, 4, seed=10)
    check(lambda lib, a: lib.nn.functional.relu(a * 2, inplace=True), x)
