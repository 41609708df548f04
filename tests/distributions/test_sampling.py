"""Samples follow their distribution (moments, Kolmogorov-Smirnov, frequencies; fixed seeds),
and reparameterised samples carry torch's gradients."""
import numpy as np
import pytest
import scipy.stats
import torch

import ember
from distributions.dist_specs import SPECS, build

N = 100_000
CASES = [(name, spec) for name, specs in SPECS.items() for spec in specs[:1]]
# no finite mean (Cauchy), or a circular one (VonMises; torch's rejection sampler is also slow): the KS test checks them
HEAVY_TAILED = {"Cauchy", "HalfCauchy", "VonMises"}
SLOW_TO_SAMPLE = {"Wishart", "LKJCholesky", "InverseGamma"}  # fewer samples (torch's sampler too)


def _np(t):
    return t.detach().numpy().astype(np.float64)


@pytest.mark.parametrize("name,spec", [c for c in CASES if c[0] not in HEAVY_TAILED], ids=lambda v: v if
                         isinstance(v, str) else "")
def test_sample_mean_matches_torch_samples(name, spec):
    n = 10_000 if name in SLOW_TO_SAMPLE else N
    ember.manual_seed(0)
    torch.manual_seed(0)
    e, t = build(ember, spec).sample((n,)), build(torch, spec).sample((n,))
    assert e.dtype.name == str(t.dtype).split(".")[-1] and tuple(e.shape) == tuple(t.shape)
    e, t = _np(e), _np(t)
    tol = 6 * np.sqrt(e.var(0) / n + t.var(0) / n) + 1e-9
    assert (np.abs(e.mean(0) - t.mean(0)) <= tol).all(), (e.mean(0), t.mean(0), tol)


SCIPY_CDF = {  # distributions torch gives no cdf: scipy's, from the same parameters
    "Beta": lambda k, x: scipy.stats.beta.cdf(x, k["concentration1"], k["concentration0"]),
    "StudentT": lambda k, x: scipy.stats.t.cdf(x, k["df"], k["loc"], k["scale"]),
    "FisherSnedecor": lambda k, x: scipy.stats.f.cdf(x, k["df1"], k["df2"]),
    # the angle from loc, wrapped into [-pi, pi)
    "VonMises": lambda k, x: scipy.stats.vonmises.cdf((x - k["loc"] + np.pi) % (2 * np.pi) - np.pi, k["concentration"]),
}
KS_CASES = [c for c in CASES if c[0] in SCIPY_CDF or c[0] in {
    "Normal", "LogNormal", "HalfNormal", "Laplace", "Cauchy", "HalfCauchy", "Uniform", "Exponential", "Gamma", "Chi2",
    "InverseGamma", "Gumbel", "Weibull", "Pareto", "GeneralizedPareto", "ContinuousBernoulli", "Kumaraswamy"}]


@pytest.mark.parametrize("name,spec", KS_CASES, ids=[c[0] for c in KS_CASES])
def test_kolmogorov_smirnov(name, spec):
    """cdf(sample) is uniform on (0, 1), pooled over the batch."""
    ember.manual_seed(1)
    d = build(ember, spec)
    x = d.sample((10_000 if name in SLOW_TO_SAMPLE else 20_000,))
    if name in SCIPY_CDF:
        u = SCIPY_CDF[name](spec[1], _np(x))
    else:
        u = _np(d.cdf(x))
    assert scipy.stats.kstest(u.ravel(), "uniform").pvalue > 1e-3


DISCRETE = {"Bernoulli": 2, "Binomial": 11, "Geometric": 12, "NegativeBinomial": 12, "Poisson": 12, "Categorical": 4}


@pytest.mark.parametrize("name", sorted(DISCRETE))
def test_frequencies_match_pmf(name):
    spec = SPECS[name][0]
    ember.manual_seed(2)
    d = build(ember, spec, validate_args=False)
    x = _np(d.sample((N,)))
    for k in range(DISCRETE[name]):
        p = _np(d.log_prob(ember.tensor(float(k), dtype=ember.float64).expand(d.batch_shape)).exp())
        freq = (x == k).mean(0)
        assert (np.abs(freq - p) <= 6 * np.sqrt(p * (1 - p) / N) + 1e-4).all(), (k, freq, p)


def test_multinomial_and_onehot_counts():
    ember.manual_seed(3)
    probs = ember.tensor([0.2, 0.5, 0.3], dtype=ember.float64)
    counts = ember.distributions.Multinomial(10, probs).sample((20_000,))
    assert bool((counts.sum(-1) == 10).all())
    np.testing.assert_allclose(_np(counts.mean(0)), [2.0, 5.0, 3.0], atol=0.05)
    onehot = ember.distributions.OneHotCategorical(probs).sample((20_000,))
    assert bool((onehot.sum(-1) == 1).all())
    np.testing.assert_allclose(_np(onehot.mean(0)), [0.2, 0.5, 0.3], atol=0.015)


def test_seeded_sampling_repeats():
    d = ember.distributions.Gamma(ember.tensor([0.5, 3.0]), 2.0)
    ember.manual_seed(7)
    a = d.rsample((5,))
    ember.manual_seed(7)
    assert bool((d.rsample((5,)) == a).all())


# reparameterised gradients through the same noise ------------------------------------------

def _grads(lib, make, noise_from, weights):
    """Gradients of sum(weights * x) w.r.t. the parameters, x built by ``make`` (ember: rsample)."""
    params = [p.requires_grad_() for p in noise_from]
    x = make(*params)
    (x * weights).sum().backward()
    return [p.grad for p in params]


LOCATION_SCALE = {  # name: (ember params, torch sample from noise eps, noise from an ember sample)
    "Normal": (lambda loc, s: loc + s * ember.randn(()), lambda loc, s, eps: loc + s * eps,
               lambda x, loc, s: (x - loc) / s),
    "Laplace": (None, lambda loc, s, eps: loc + s * eps, lambda x, loc, s: (x - loc) / s),
    "Cauchy": (None, lambda loc, s, eps: loc + s * eps, lambda x, loc, s: (x - loc) / s),
    "Uniform": (None, lambda lo, hi, eps: lo + eps * (hi - lo), lambda x, lo, hi: (x - lo) / (hi - lo)),
    "LogNormal": (None, lambda loc, s, eps: (loc + s * eps).exp(), lambda x, loc, s: (x.log() - loc) / s),
}


@pytest.mark.parametrize("name", sorted(LOCATION_SCALE))
def test_rsample_gradients_match_torch(name):
    """d/dparams of sum(w * rsample) equals torch's for x = f(params, eps) with ember's own eps."""
    _, torch_from_noise, noise = LOCATION_SCALE[name]
    spec = SPECS[name][0]
    arrays = list(spec[1].values())
    e_params = [ember.tensor(a, requires_grad=True) for a in arrays]
    d = getattr(ember.distributions, name)(*e_params)
    ember.manual_seed(4)
    x = d.rsample((3,))
    w = np.random.default_rng(0).normal(size=tuple(x.shape))
    (x * ember.tensor(w)).sum().backward()
    eps = torch.tensor(_np(noise(x.detach(), *[p.detach() for p in e_params])))
    t_params = [torch.tensor(a, requires_grad=True) for a in arrays]
    (torch_from_noise(*t_params, eps) * torch.tensor(w)).sum().backward()
    for ep, tp in zip(e_params, t_params):
        np.testing.assert_allclose(ep.grad.numpy(), tp.grad.numpy(), rtol=1e-6, atol=1e-9)


def test_exponential_and_mvn_rsample_gradients_match_torch():
    rate = np.array([0.5, 2.0, 3.0])
    er = ember.tensor(rate, requires_grad=True)
    x = ember.distributions.Exponential(er).rsample((4,))
    x.sum().backward()
    tr = torch.tensor(rate, requires_grad=True)
    (torch.tensor(_np(x) * rate) / tr).sum().backward()  # x = E / rate with E = x * rate
    np.testing.assert_allclose(er.grad.numpy(), tr.grad.numpy(), rtol=1e-6)

    spec = SPECS["MultivariateNormal"][1]
    loc, L = spec[1]["loc"], spec[1]["scale_tril"]
    el, eL = ember.tensor(loc, requires_grad=True), ember.tensor(L, requires_grad=True)
    x = ember.distributions.MultivariateNormal(el, scale_tril=eL).rsample((5,))
    w = np.random.default_rng(1).normal(size=tuple(x.shape))
    (x * ember.tensor(w)).sum().backward()
    eps = np.linalg.solve(L, (_np(x) - loc).T).T
    tl, tL = torch.tensor(loc, requires_grad=True), torch.tensor(L, requires_grad=True)
    ((tl + (tL @ torch.tensor(eps).unsqueeze(-1)).squeeze(-1)) * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(el.grad.numpy(), tl.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(eL.grad.numpy(), tL.grad.numpy(), rtol=1e-6, atol=1e-9)


def test_standard_gamma_grad_matches_torch():
    """The implicit reparameterisation d x / d alpha of a Gamma(alpha, 1) sample x, against
    torch._standard_gamma_grad (torch's is a fitted approximation: agreement to ~1e-3)."""
    from ember.ops.random import _standard_gamma_grad
    alpha = np.array([0.05, 0.3, 1.0, 2.5, 10.0, 100.0, 0.7, 4.0])
    x = np.array([0.001, 0.2, 0.7, 3.0, 8.0, 110.0, 2.0, 1.0])
    ours = _standard_gamma_grad(ember.tensor(alpha), ember.tensor(x)).numpy()
    theirs = torch._standard_gamma_grad(torch.tensor(alpha), torch.tensor(x)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=2e-3)


def _mean_gradient_check(make, analytic_mean, params, n=100_000):
    """The average gradient of rsample (one sample per copy of the parameters) estimates the
    gradient of the mean; it must agree with torch's autograd of the analytic mean within 6 sigma."""
    ember.manual_seed(5)
    leaves = [ember.tensor(np.full(n, p), requires_grad=True) for p in params]
    x = make(*leaves)
    x.sum().backward()
    tp = [torch.tensor(p, requires_grad=True) for p in params]
    expected = torch.autograd.grad(analytic_mean(*tp), tp)
    for leaf, g in zip(leaves, expected):
        per_sample = leaf.grad.numpy()
        assert abs(per_sample.mean() - g.item()) <= 6 * per_sample.std() / np.sqrt(n) + 1e-6


def test_gamma_rsample_gradient_is_unbiased():
    _mean_gradient_check(lambda a, r: ember.distributions.Gamma(a, r).rsample(), lambda a, r: a / r, [0.7, 2.0])
    _mean_gradient_check(lambda a, r: ember.distributions.Gamma(a, r).rsample(), lambda a, r: a / r, [5.0, 0.5])


def test_beta_and_dirichlet_rsample_gradients_are_unbiased():
    _mean_gradient_check(lambda a, b: ember.distributions.Beta(a, b).rsample(), lambda a, b: a / (a + b), [0.8, 2.5])
    _mean_gradient_check(
        lambda a, b, c: ember.distributions.Dirichlet(ember.stack([a, b, c], -1)).rsample()[..., 0],
        lambda a, b, c: a / (a + b + c), [0.5, 1.5, 3.0])


def test_straight_through_gradient_is_the_probabilities():
    logits = np.array([[0.3, -1.0, 2.0], [0.0, 0.5, 0.1]])
    el = ember.tensor(logits, requires_grad=True)
    w = np.random.default_rng(2).normal(size=logits.shape)
    ember.distributions.OneHotCategoricalStraightThrough(logits=el).rsample().mul(ember.tensor(w)).sum().backward()
    tl = torch.tensor(logits, requires_grad=True)
    (torch.softmax(tl, -1) * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(el.grad.numpy(), tl.grad.numpy(), rtol=1e-6)


def test_standard_gamma_forward_mode_tangent_is_the_implicit_gradient():
    import ember.autograd.forward_ad as fwad
    from ember.ops.random import _standard_gamma_grad, standard_gamma
    alpha = ember.tensor([0.5, 2.0, 7.0], dtype=ember.float64)
    direction = ember.tensor([1.0, -2.0, 0.5], dtype=ember.float64)
    with fwad.dual_level():
        out = standard_gamma(fwad.make_dual(alpha, direction))
        primal, tangent = fwad.unpack_dual(out)
    np.testing.assert_allclose(tangent.numpy(), (direction * _standard_gamma_grad(alpha, primal)).numpy())
