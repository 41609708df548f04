"""Every distribution's densities, CDFs, moments and shapes equal torch's for the same parameters."""
import numpy as np
import pytest
import torch

import ember
from distributions.dist_specs import SPECS, build, convert, dtype_of

CASES = [(name, i, spec) for name, specs in SPECS.items() for i, spec in enumerate(specs)]
IDS = [f"{name}-{i}" for name, i, _ in CASES]


def _np(t):
    return t.detach().numpy() if isinstance(t, torch.Tensor) else t.detach().numpy()


def _same(e, t, rtol=1e-6, atol=1e-8, what=""):
    assert isinstance(e, ember.Tensor), f"{what}: {type(e)}"
    if t.dtype == torch.float32:
        rtol = max(rtol, 2e-5)
    assert tuple(e.shape) == tuple(t.shape), f"{what}: shape {tuple(e.shape)} vs {tuple(t.shape)}"
    np.testing.assert_allclose(_np(e), _np(t), rtol=rtol, atol=atol, err_msg=what)


def _both(spec, fn):
    """``fn`` applied to the ember and torch distributions: (ember result, torch result), or
    assert that both raise the same kind of error."""
    torch_d, ember_d = build(torch, spec), build(ember, spec)
    try:
        t = fn(torch, torch_d)
    except (NotImplementedError, ValueError, AttributeError) as err:
        with pytest.raises(type(err)):
            fn(ember, ember_d)
        return None, None
    return fn(ember, ember_d), t


def _values(spec, n=5):
    """Values in the support: torch samples (fixed seed), as float64 arrays."""
    torch.manual_seed(0)
    return build(torch, spec).sample((n,)).numpy()


@pytest.mark.parametrize("name,i,spec", CASES, ids=IDS)
def test_shapes_and_support(name, i, spec):
    t, e = build(torch, spec), build(ember, spec)
    assert tuple(e.batch_shape) == tuple(t.batch_shape)
    assert tuple(e.event_shape) == tuple(t.event_shape)
    assert e.has_rsample == t.has_rsample
    assert e.has_enumerate_support == t.has_enumerate_support
    assert repr(e.support).replace("ember", "torch") == repr(t.support)
    assert sorted(e.arg_constraints) == sorted(t.arg_constraints)
    sample = e.sample((4,))
    assert tuple(sample.shape) == (4, *t.batch_shape, *t.event_shape)
    assert bool(e.support.check(sample).all())


@pytest.mark.parametrize("name,i,spec", CASES, ids=IDS)
def test_log_prob(name, i, spec):
    x = _values(spec)
    e, t = _both(spec, lambda lib, d: d.log_prob(lib.tensor(x, dtype=getattr(lib, dtype_of(spec)))))
    if t is not None:
        _same(e, t, rtol=1e-5, what=f"{name}.log_prob")


@pytest.mark.parametrize("name,i,spec", CASES, ids=IDS)
def test_cdf(name, i, spec):
    x = _values(spec)
    e, t = _both(spec, lambda lib, d: d.cdf(lib.tensor(x, dtype=getattr(lib, dtype_of(spec)))))
    if t is not None:
        _same(e, t, rtol=1e-5, what=f"{name}.cdf")


@pytest.mark.parametrize("name,i,spec", CASES, ids=IDS)
def test_icdf(name, i, spec):
    shape = tuple(build(torch, spec).batch_shape)
    q = np.linspace(0.05, 0.95, 7).reshape(7, *[1] * len(shape)) * np.ones(shape)
    e, t = _both(spec, lambda lib, d: d.icdf(lib.tensor(q, dtype=getattr(lib, dtype_of(spec)))))
    if t is not None:
        _same(e, t, rtol=1e-5, what=f"{name}.icdf")


@pytest.mark.parametrize("stat", ["mean", "mode", "variance", "stddev", "entropy", "perplexity"])
@pytest.mark.parametrize("name,i,spec", CASES, ids=IDS)
def test_statistics(name, i, spec, stat):
    get = (lambda lib, d: getattr(d, stat)()) if stat in ("entropy", "perplexity") else \
        (lambda lib, d: getattr(d, stat))
    e, t = _both(spec, get)
    if t is not None:
        rtol = 1e-4 if name == "VonMises" else 1e-6  # torch's log-Bessel is a polynomial fit; ember's is exact
        _same(e, t, rtol=rtol, atol=1e-7, what=f"{name}.{stat}")


@pytest.mark.parametrize("name,i,spec", CASES, ids=IDS)
def test_expand(name, i, spec):
    t, e = build(torch, spec), build(ember, spec)
    shape = (2, *t.batch_shape)
    te, ee = t.expand(shape), e.expand(shape)
    assert type(ee) is type(e) and tuple(ee.batch_shape) == shape and tuple(ee.event_shape) == tuple(t.event_shape)
    assert tuple(ee.sample().shape) == (*shape, *t.event_shape)
    x = _values(spec, n=1)[0]
    dt = dtype_of(spec)
    _same(ee.log_prob(ember.tensor(x, dtype=getattr(ember, dt))), te.log_prob(torch.tensor(x, dtype=getattr(torch, dt))),
          rtol=1e-5, what=f"{name}.expand.log_prob")


@pytest.mark.parametrize("name,i,spec", [c for c in CASES if build(torch, c[2]).has_enumerate_support],
                         ids=[i for c, i in zip(CASES, IDS) if build(torch, c[2]).has_enumerate_support])
@pytest.mark.parametrize("expand", [True, False])
def test_enumerate_support(name, i, spec, expand):
    e, t = _both(spec, lambda lib, d: d.enumerate_support(expand=expand))
    if t is not None:
        _same(e, t, what=f"{name}.enumerate_support")


def test_sample_n_and_extended_shapes():
    d = ember.distributions.Normal(ember.zeros(3), 1.0)
    with pytest.warns(UserWarning, match="sample_n"):
        assert tuple(d.sample_n(4).shape) == (4, 3)
    assert tuple(d.rsample(ember.Size([2, 5])).shape) == (2, 5, 3)
    assert d._extended_shape((7,)) == ember.Size([7, 3])


GRADCHECK = ["Normal", "Gamma", "Beta", "Dirichlet", "StudentT", "Laplace", "Cauchy", "Binomial", "Categorical",
             "MultivariateNormal", "LowRankMultivariateNormal", "VonMises", "Weibull", "Kumaraswamy", "Poisson",
             "RelaxedOneHotCategorical", "ContinuousBernoulli", "LogNormal"]


def _with_params(lib, spec, params):
    """The distribution of ``spec`` with its top-level array parameters replaced by ``params``."""
    name, kwargs = spec
    args, it = {}, iter(params)
    for k, v in kwargs.items():
        args[k] = next(it) if isinstance(v, np.ndarray) else convert(lib, v)
    return getattr(lib.distributions, name)(**args, validate_args=False)


@pytest.mark.parametrize("name", GRADCHECK)
def test_log_prob_gradcheck(name):
    """float64 gradients of log_prob w.r.t. every parameter: equal to torch's, and to finite differences."""
    spec = SPECS[name][1 if name == "MultivariateNormal" else 0]  # a scale_tril: gradcheck perturbs entries alone
    x = _values(spec, n=2)
    arrays = [v for v in spec[1].values() if isinstance(v, np.ndarray)]
    e_params = [ember.tensor(a.copy(), requires_grad=True) for a in arrays]
    t_params = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    e_lp = _with_params(ember, spec, e_params).log_prob(ember.tensor(x)).sum()
    t_lp = _with_params(torch, spec, t_params).log_prob(torch.tensor(x)).sum()
    for eg, tg in zip(ember.autograd.grad(e_lp, e_params), torch.autograd.grad(t_lp, t_params)):
        np.testing.assert_allclose(eg.numpy(), tg.numpy(), rtol=1e-5, atol=1e-8, err_msg=name)
    assert ember.autograd.gradcheck(lambda *p: _with_params(ember, spec, p).log_prob(ember.tensor(x)), e_params)
