"""Argument and sample validation: torch's exception types and messages."""
import math

import pytest
import torch

import ember
from ember import distributions as ember_dists
from torch import distributions as torch_dists


def _message(fn):
    with pytest.raises(Exception) as info:
        fn()
    return type(info.value), str(info.value)


def _same_error(make):
    """``make(lib, dists)`` raises the same type in both libraries with the same message (up to the library name)."""
    et, em = _message(lambda: make(ember, ember_dists))
    tt, tm = _message(lambda: make(torch, torch_dists))
    assert et is tt, (et, tt)
    assert em.replace("ember", "torch") == tm
    return em


def test_invalid_parameter_message():
    msg = _same_error(lambda lib, dists: dists.Normal(lib.tensor([0.0, math.nan]), lib.tensor([1.0, 1.0])))
    assert msg.startswith("Expected parameter loc (Tensor of shape (2,)) of distribution Normal(loc: ember.Size([2]), "
                          "scale: ember.Size([2])) to satisfy the constraint Real(), but found invalid values:")


@pytest.mark.parametrize("make", [
    lambda lib, dists: dists.Gamma(lib.tensor([1.0, -1.0]), 1.0),
    lambda lib, dists: dists.Beta(lib.tensor(0.5), lib.tensor(0.0)),
    lambda lib, dists: dists.Bernoulli(lib.tensor([1.5])),
    lambda lib, dists: dists.Categorical(lib.tensor([[0.5, -0.5]])),
    lambda lib, dists: dists.Binomial(lib.tensor(2.5), lib.tensor(0.3)),
    lambda lib, dists: dists.Dirichlet(lib.tensor([1.0, 0.0])),
    lambda lib, dists: dists.MultivariateNormal(lib.zeros(2), lib.tensor([[1.0, 2.0], [2.0, 1.0]])),
    lambda lib, dists: dists.Uniform(lib.tensor(2.0), lib.tensor(1.0)),
    lambda lib, dists: dists.Geometric(lib.tensor([0.0, 0.5])),
], ids=["gamma", "beta", "bernoulli", "categorical", "binomial", "dirichlet", "mvn", "uniform", "geometric"])
def test_parameter_errors(make):
    _same_error(make)


@pytest.mark.parametrize("make", [
    lambda lib, dists: dists.Bernoulli(lib.tensor([0.5, 0.2])).log_prob(lib.tensor([0.3, 1.0])),
    lambda lib, dists: dists.Exponential(lib.tensor(1.0)).log_prob(lib.tensor(-1.0)),
    lambda lib, dists: dists.Categorical(lib.tensor([0.5, 0.5])).log_prob(lib.tensor(2)),
    lambda lib, dists: dists.Normal(lib.zeros(3), 1.0).log_prob(lib.zeros(2)),
    lambda lib, dists: dists.Dirichlet(lib.ones(3)).log_prob(lib.ones(2)),
    lambda lib, dists: dists.Normal(0.0, 1.0).log_prob([0.0]),
    lambda lib, dists: dists.Beta(lib.tensor(2.0), lib.tensor(3.0)).log_prob(lib.tensor(1.5)),
], ids=["bernoulli", "exponential", "categorical", "broadcast", "event_shape", "not_tensor", "beta"])
def test_sample_errors(make):
    _same_error(make)


@pytest.mark.parametrize("make", [
    lambda lib, dists: dists.Bernoulli(),
    lambda lib, dists: dists.Categorical(lib.tensor(0.5)),
    lambda lib, dists: dists.Dirichlet(lib.tensor(1.0)),
    lambda lib, dists: dists.MultivariateNormal(lib.zeros(2)),
    lambda lib, dists: dists.MultivariateNormal(lib.zeros(()), lib.eye(2)),
    lambda lib, dists: dists.Multinomial(lib.tensor(3), lib.ones(2)),
    lambda lib, dists: dists.LKJCholesky(1),
    lambda lib, dists: dists.Independent(dists.Normal(lib.zeros(2), 1.0), 2),
    lambda lib, dists: dists.TransformedDistribution(dists.Normal(0.0, 1.0), "exp"),
    lambda lib, dists: dists.Binomial(lib.tensor([3.0, 4.0]), lib.tensor([0.5, 0.5])).entropy(),
    lambda lib, dists: dists.Normal(0.0, 1.0).enumerate_support(),
    lambda lib, dists: dists.Distribution.set_default_validate_args(3),
], ids=["no_params", "categorical_dim", "dirichlet_dim", "mvn_no_matrix", "mvn_loc_dim", "multinomial_count",
        "lkj_dim", "independent_ndims", "transforms_type", "binomial_inhomogeneous", "no_enumerate", "default_args"])
def test_construction_errors(make):
    _same_error(make)


def test_validation_can_be_turned_off():
    d = ember_dists.Normal(ember.tensor([0.0, math.nan]), 1.0, validate_args=False)
    assert math.isnan(d.log_prob(ember.tensor([0.0, 0.0]))[1].item())
    assert ember_dists.Exponential(ember.tensor(1.0), validate_args=False).log_prob(ember.tensor(-1.0)).item() == 1.0
    try:
        ember_dists.Distribution.set_default_validate_args(False)
        assert math.isnan(ember_dists.Normal(ember.tensor(math.nan), 1.0).mean.item())
        assert ember_dists.Exponential(ember.tensor(1.0)).log_prob(ember.tensor(-1.0)).item() == 1.0
    finally:
        ember_dists.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError, match="Expected parameter loc"):
        ember_dists.Normal(ember.tensor(math.nan), 1.0)
