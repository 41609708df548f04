"""kl_divergence for every pair torch registers equals torch's; dispatch picks the most specific pair."""
import numpy as np
import pytest
import torch
from torch.distributions import kl as torch_kl

import ember
from ember.distributions import kl as ember_kl
from distributions.dist_specs import SPECS, Dist, build, pos, real, simplex, spd, unit

# One parameter set per family for KL (shapes (2, 3) broadcast together; extra q sets where
# the support must cover p's, e.g. a Uniform wide enough or a Pareto below p's scale).
KL_SPECS = {
    **{name: specs[0] for name, specs in SPECS.items()},
    "Uniform": ("Uniform", dict(low=real(2, 3) - 6.0, high=real(2, 3) + 6.0)),
    "Beta": ("Beta", dict(concentration1=pos(2, 3), concentration0=pos(2, 3))),
    "Binomial": ("Binomial", dict(total_count=np.full((2, 3), 10.0), probs=unit(2, 3))),
    "Pareto": ("Pareto", dict(scale=pos(2, 3, low=0.1, high=0.5), alpha=pos(2, 3, low=2.5, high=5.0))),
    "Independent": ("Independent", dict(base_distribution=Dist("Normal", loc=real(2, 3), scale=pos(2, 3)),
                                        reinterpreted_batch_ndims=1)),
    "MultivariateNormal": ("MultivariateNormal", dict(loc=real(2, 3), covariance_matrix=spd(2))),
    "Categorical": ("Categorical", dict(probs=simplex(2, 3, 4))),
    "OneHotCategorical": ("OneHotCategorical", dict(probs=simplex(2, 3, 4))),
    "Dirichlet": ("Dirichlet", dict(concentration=pos(2, 3, 4))),
    "TransformedDistribution": ("LogNormal", dict(loc=real(2, 3), scale=pos(2, 3))),
    "ExponentialFamily": ("Wishart", dict(df=np.array([4.0, 6.0]), covariance_matrix=spd(2))),
    "UniformInside": ("Uniform", dict(low=unit(2, 3) * 0.4 + 0.05, high=unit(2, 3) * 0.4 + 0.5)),
}
KL_SPECS["LowRankMultivariateNormal"] = ("LowRankMultivariateNormal", dict(
    loc=real(2, 3), cov_factor=real(2, 3, 2), cov_diag=pos(2, 3)))
PAIRS = sorted((p.__name__, q.__name__) for p, q in torch_kl._KL_REGISTRY)


def test_registry_has_torchs_pairs():
    ours = {(p.__name__, q.__name__) for p, q in ember_kl._KL_REGISTRY}
    assert ours == set(PAIRS)


def _spec_for(name, role, other):
    if name == "Uniform" and role == "p" and other in ("Beta", "ContinuousBernoulli"):
        return KL_SPECS["UniformInside"]  # a Uniform inside (0, 1), where the KL is finite
    if name == "Wishart" and role == "q":
        return ("Wishart", dict(df=np.array([5.0, 7.0]), covariance_matrix=spd(2)))
    return KL_SPECS[name]


@pytest.mark.parametrize("p_name,q_name", PAIRS, ids=[f"{p}-{q}" for p, q in PAIRS])
def test_kl_equals_torch(p_name, q_name):
    p_spec, q_spec = _spec_for(p_name, "p", q_name), _spec_for(q_name, "q", p_name)
    try:
        expected = torch_kl.kl_divergence(build(torch, p_spec), build(torch, q_spec))
    except NotImplementedError:
        with pytest.raises(NotImplementedError):
            ember.distributions.kl_divergence(build(ember, p_spec), build(ember, q_spec))
        return
    got = ember.distributions.kl_divergence(build(ember, p_spec), build(ember, q_spec))
    assert tuple(got.shape) == tuple(expected.shape)
    np.testing.assert_allclose(got.detach().numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-8)


def test_kl_between_families_without_a_rule_raises():
    with pytest.raises(NotImplementedError, match="No KL"):
        ember.distributions.kl_divergence(ember.distributions.Cauchy(0.0, 1.0), ember.distributions.Normal(0.0, 1.0))
    gamma = ember.distributions.Gamma(ember.tensor(2.0), ember.tensor(1.0))
    poisson = ember.distributions.Poisson(ember.tensor(2.0))
    with pytest.raises(NotImplementedError, match="exponential families"):
        ember.distributions.kl_divergence(gamma, poisson)


def test_register_kl_most_specific_match_wins():
    class MyNormal(ember.distributions.Normal):
        pass

    @ember.distributions.register_kl(MyNormal, ember.distributions.Normal)
    def _mine(p, q):
        return ember.tensor(42.0)

    try:
        p, q = MyNormal(0.0, 1.0), ember.distributions.Normal(1.0, 1.0)
        assert ember.distributions.kl_divergence(p, q).item() == 42.0
        assert ember.distributions.kl_divergence(q, q).item() == 0.0  # the Normal rule still applies
        with pytest.raises(TypeError, match="Distribution subclass"):
            ember.distributions.register_kl(int, MyNormal)
    finally:
        del ember_kl._KL_REGISTRY[MyNormal, ember.distributions.Normal]
        ember_kl._KL_MEMOIZE.clear()


def test_kl_gradients_match_torch():
    loc_p, scale_p, loc_q, scale_q = real(3), pos(3), real(3), pos(3)
    e = [ember.tensor(a, requires_grad=True) for a in (loc_p, scale_p, loc_q, scale_q)]
    t = [torch.tensor(a, requires_grad=True) for a in (loc_p, scale_p, loc_q, scale_q)]
    ember.distributions.kl_divergence(ember.distributions.Normal(*e[:2]), ember.distributions.Laplace(*e[2:])).sum() \
        .backward()
    torch_kl.kl_divergence(torch.distributions.Normal(*t[:2]), torch.distributions.Laplace(*t[2:])).sum().backward()
    for a, b in zip(e, t):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-6)
