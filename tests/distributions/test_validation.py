"""Argument and sample validation: torch's exception types and messages."""
import math

import pytest
import torch

import ember
from ember import distributions as ED
from torch import distributions as TD


def _message(fn):
    with pytest.raises(Exception) as info:
        fn()
    return type(info.value), str(info.value)


def _same_error(make):
    """``make(lib, D)`` raises the same type in both libraries with the same message (up to the library name)."""
    et, em = _message(lambda: make(ember, ED))
    tt, tm = _message(lambda: make(torch, TD))
    assert et is tt, (et, tt)
    assert em.replace("ember", "torch") == tm
    return em


def test_invalid_parameter_message():
    msg = _same_error(lambda lib, D: D.Normal(lib.tensor([0.0, math.nan]), lib.tensor([1.0, 1.0])))
    assert msg.startswith("Expected parameter loc (Tensor of shape (2,)) of distribution Normal(loc: ember.Size([2]), "
                          "scale: ember.Size([2])) to satisfy the constraint Real(), but found invalid values:")


@pytest.mark.parametrize("make", [
    lambda lib, D: D.Gamma(lib.tensor([1.0, -1.0]), 1.0),
    lambda lib, D: D.Beta(lib.tensor(0.5), lib.tensor(0.0)),
    lambda lib, D: D.Bernoulli(lib.tensor([1.5])),
    lambda lib, D: D.Categorical(lib.tensor([[0.5, -0.5]])),
    lambda lib, D: D.Binomial(lib.tensor(2.5), lib.tensor(0.3)),
    lambda lib, D: D.Dirichlet(lib.tensor([1.0, 0.0])),
    lambda lib, D: D.MultivariateNormal(lib.zeros(2), lib.tensor([[1.0, 2.0], [2.0, 1.0]])),
    lambda lib, D: D.Uniform(lib.tensor(2.0), lib.tensor(1.0)),
    lambda lib, D: D.Geometric(lib.tensor([0.0, 0.5])),
], ids=["gamma", "beta", "bernoulli", "categorical", "binomial", "dirichlet", "mvn", "uniform", "geometric"])
def test_parameter_errors(make):
    _same_error(make)


@pytest.mark.parametrize("make", [
    lambda lib, D: D.Bernoulli(lib.tensor([0.5, 0.2])).log_prob(lib.tensor([0.3, 1.0])),
    lambda lib, D: D.Exponential(lib.tensor(1.0)).log_prob(lib.tensor(-1.0)),
    lambda lib, D: D.Categorical(lib.tensor([0.5, 0.5])).log_prob(lib.tensor(2)),
    lambda lib, D: D.Normal(lib.zeros(3), 1.0).log_prob(lib.zeros(2)),
    lambda lib, D: D.Dirichlet(lib.ones(3)).log_prob(lib.ones(2)),
    lambda lib, D: D.Normal(0.0, 1.0).log_prob([0.0]),
    lambda lib, D: D.Beta(lib.tensor(2.0), lib.tensor(3.0)).log_prob(lib.tensor(1.5)),
], ids=["bernoulli", "exponential", "categorical", "broadcast", "event_shape", "not_tensor", "beta"])
def test_sample_errors(make):
    _same_error(make)


@pytest.mark.parametrize("make", [
    lambda lib, D: D.Bernoulli(),
    lambda lib, D: D.Categorical(lib.tensor(0.5)),
    lambda lib, D: D.Dirichlet(lib.tensor(1.0)),
    lambda lib, D: D.MultivariateNormal(lib.zeros(2)),
    lambda lib, D: D.MultivariateNormal(lib.zeros(()), lib.eye(2)),
    lambda lib, D: D.Multinomial(lib.tensor(3), lib.ones(2)),
    lambda lib, D: D.LKJCholesky(1),
    lambda lib, D: D.Independent(D.Normal(lib.zeros(2), 1.0), 2),
    lambda lib, D: D.TransformedDistribution(D.Normal(0.0, 1.0), "exp"),
    lambda lib, D: D.Binomial(lib.tensor([3.0, 4.0]), lib.tensor([0.5, 0.5])).entropy(),
    lambda lib, D: D.Normal(0.0, 1.0).enumerate_support(),
    lambda lib, D: D.Distribution.set_default_validate_args(3),
], ids=["no_params", "categorical_dim", "dirichlet_dim", "mvn_no_matrix", "mvn_loc_dim", "multinomial_count",
        "lkj_dim", "independent_ndims", "transforms_type", "binomial_inhomogeneous", "no_enumerate", "default_args"])
def test_construction_errors(make):
    _same_error(make)


def test_validation_can_be_turned_off():
    d = ED.Normal(ember.tensor([0.0, math.nan]), 1.0, validate_args=False)
    assert math.isnan(d.log_prob(ember.tensor([0.0, 0.0]))[1].item())
    assert ED.Exponential(ember.tensor(1.0), validate_args=False).log_prob(ember.tensor(-1.0)).item() == 1.0
    try:
        ED.Distribution.set_default_validate_args(False)
        assert math.isnan(ED.Normal(ember.tensor(math.nan), 1.0).mean.item())
        assert ED.Exponential(ember.tensor(1.0)).log_prob(ember.tensor(-1.0)).item() == 1.0
    finally:
        ED.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError, match="Expected parameter loc"):
        ED.Normal(ember.tensor(math.nan), 1.0)
