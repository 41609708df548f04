"""Parameter sets for every distribution, built identically in ember and torch.

``SPECS[name]`` is a list of ``(class name, kwargs)``: kwargs hold NumPy arrays (float64,
with batch shapes), Python numbers, or ``Dist(...)`` for a nested distribution. ``build(lib,
spec)`` makes the distribution in ``lib`` (``ember`` or ``torch``)."""
import numpy as np

rng = np.random.default_rng(1234)


def pos(*shape, low=0.5, high=3.0):
    return rng.uniform(low, high, size=shape)


def real(*shape):
    return rng.normal(size=shape)


def unit(*shape):
    return rng.uniform(0.1, 0.9, size=shape)


def simplex(*shape):
    p = rng.uniform(0.1, 1.0, size=shape)
    return p / p.sum(-1, keepdims=True)


def spd(*batch, n=3):
    a = rng.normal(size=(*batch, n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def tril(*batch, n=3):
    return np.linalg.cholesky(spd(*batch, n=n))


class Dist:
    """A nested distribution argument."""

    def __init__(self, name, **kwargs):
        self.name, self.kwargs = name, kwargs


class Tr:
    """A transform argument: ``Tr("AffineTransform", 1.0, 2.0)``."""

    def __init__(self, name, *args):
        self.name, self.args = name, args


class Int(int):
    """An integer argument that stays a Python int (total_count of Multinomial, dim of LKJ)."""


# torch 2.13's GeneralizedPareto compares its parameters with a float32 zero, so it only runs in float32
FLOAT32_ONLY = {"GeneralizedPareto"}


def dtype_of(spec):
    return "float32" if spec[0] in FLOAT32_ONLY else "float64"


def convert(lib, value, requires_grad=False, dtype="float64"):
    if isinstance(value, Dist):
        return getattr(lib.distributions, value.name)(**{k: convert(lib, v, requires_grad, dtype)
                                                         for k, v in value.kwargs.items()})
    if isinstance(value, Tr):
        return getattr(lib.distributions.transforms, value.name)(*[convert(lib, a) for a in value.args])
    if isinstance(value, np.ndarray):
        t = lib.tensor(value.copy(), dtype=getattr(lib, dtype))
        return t.requires_grad_() if requires_grad else t
    if isinstance(value, list):
        return [convert(lib, v, requires_grad, dtype) for v in value]
    return value


def build(lib, spec, requires_grad=False, **extra):
    name, kwargs = spec
    args = {k: convert(lib, v, requires_grad, dtype_of(spec)) for k, v in kwargs.items()}
    return getattr(lib.distributions, name)(**args, **extra)


SPECS = {
    "Normal": [("Normal", dict(loc=real(2, 3), scale=pos(2, 3))), ("Normal", dict(loc=0.5, scale=2.0)),
               ("Normal", dict(loc=real(4), scale=1.5))],
    "LogNormal": [("LogNormal", dict(loc=real(2, 3) * 0.5, scale=pos(2, 3, high=1.0)))],
    "HalfNormal": [("HalfNormal", dict(scale=pos(2, 3)))],
    "LogisticNormal": [("LogisticNormal", dict(loc=real(2, 3), scale=pos(2, 3, high=1.0)))],
    "Laplace": [("Laplace", dict(loc=real(2, 3), scale=pos(2, 3)))],
    "Cauchy": [("Cauchy", dict(loc=real(2, 3), scale=pos(2, 3)))],
    "HalfCauchy": [("HalfCauchy", dict(scale=pos(2, 3)))],
    "Uniform": [("Uniform", dict(low=real(2, 3), high=real(2, 3) + 5.0)), ("Uniform", dict(low=0.0, high=2.0))],
    "Exponential": [("Exponential", dict(rate=pos(2, 3)))],
    "Gamma": [("Gamma", dict(concentration=pos(2, 3), rate=pos(2, 3))), ("Gamma", dict(concentration=2.0, rate=1.5))],
    "Chi2": [("Chi2", dict(df=pos(2, 3, low=1.0, high=6.0)))],
    "InverseGamma": [("InverseGamma", dict(concentration=pos(2, 3, low=2.5, high=5.0), rate=pos(2, 3)))],
    "StudentT": [("StudentT", dict(df=pos(2, 3, low=2.5, high=8.0), loc=real(2, 3), scale=pos(2, 3)))],
    "FisherSnedecor": [("FisherSnedecor", dict(df1=pos(2, 3, low=3.0, high=8.0), df2=pos(2, 3, low=5.0, high=9.0)))],
    "Beta": [("Beta", dict(concentration1=pos(2, 3), concentration0=pos(2, 3))),
             ("Beta", dict(concentration1=2.0, concentration0=3.0))],
    "Dirichlet": [("Dirichlet", dict(concentration=pos(2, 4))), ("Dirichlet", dict(concentration=pos(3)))],
    "Kumaraswamy": [("Kumaraswamy", dict(concentration1=pos(2, 3, low=1.0), concentration0=pos(2, 3, low=1.0)))],
    "Gumbel": [("Gumbel", dict(loc=real(2, 3), scale=pos(2, 3)))],
    "Weibull": [("Weibull", dict(scale=pos(2, 3), concentration=pos(2, 3, low=1.0)))],
    "Pareto": [("Pareto", dict(scale=pos(2, 3), alpha=pos(2, 3, low=2.5, high=5.0)))],
    "GeneralizedPareto": [("GeneralizedPareto", dict(loc=real(2, 3), scale=pos(2, 3),
                                                     concentration=np.array([[0.2, 0.0, -0.2], [0.1, 0.3, 0.0]])))],
    "VonMises": [("VonMises", dict(loc=real(2, 3), concentration=pos(2, 3, high=8.0)))],
    "ContinuousBernoulli": [("ContinuousBernoulli", dict(probs=np.array([[0.2, 0.5, 0.7], [0.4995, 0.9, 0.1]])))],
    "Bernoulli": [("Bernoulli", dict(probs=unit(2, 3))), ("Bernoulli", dict(logits=real(4)))],
    "Binomial": [("Binomial", dict(total_count=np.full((2, 3), 10.0), probs=unit(2, 3))),
                 ("Binomial", dict(total_count=np.array([3.0, 7.0]), logits=real(2)))],
    "Geometric": [("Geometric", dict(probs=unit(2, 3)))],
    "NegativeBinomial": [("NegativeBinomial", dict(total_count=pos(2, 3, high=6.0), probs=unit(2, 3)))],
    "Poisson": [("Poisson", dict(rate=pos(2, 3, high=6.0)))],
    "Categorical": [("Categorical", dict(probs=simplex(2, 4))), ("Categorical", dict(logits=real(3, 5)))],
    "OneHotCategorical": [("OneHotCategorical", dict(probs=simplex(2, 4)))],
    "OneHotCategoricalStraightThrough": [("OneHotCategoricalStraightThrough", dict(logits=real(2, 4)))],
    "Multinomial": [("Multinomial", dict(total_count=Int(6), probs=simplex(2, 4)))],
    "RelaxedBernoulli": [("RelaxedBernoulli", dict(temperature=np.array(0.7), probs=unit(2, 3)))],
    "RelaxedOneHotCategorical": [("RelaxedOneHotCategorical", dict(temperature=np.array(0.7), probs=simplex(2, 4)))],
    "MultivariateNormal": [("MultivariateNormal", dict(loc=real(2, 3), covariance_matrix=spd(2))),
                           ("MultivariateNormal", dict(loc=real(3), scale_tril=tril())),
                           ("MultivariateNormal", dict(loc=real(2, 3), precision_matrix=spd()))],
    "LowRankMultivariateNormal": [("LowRankMultivariateNormal", dict(loc=real(2, 3), cov_factor=real(2, 3, 2),
                                                                     cov_diag=pos(2, 3)))],
    "LKJCholesky": [("LKJCholesky", dict(dim=Int(3), concentration=pos(2, low=0.5, high=3.0)))],
    "Wishart": [("Wishart", dict(df=np.array([4.0, 6.0]), covariance_matrix=spd(2))),
                ("Wishart", dict(df=5.0, scale_tril=tril()))],
    "Independent": [("Independent", dict(base_distribution=Dist("Normal", loc=real(2, 3), scale=pos(2, 3)),
                                         reinterpreted_batch_ndims=1))],
    "MixtureSameFamily": [("MixtureSameFamily", dict(
        mixture_distribution=Dist("Categorical", probs=simplex(2, 3)),
        component_distribution=Dist("Normal", loc=real(2, 3), scale=pos(2, 3))))],
    "TransformedDistribution": [("TransformedDistribution", dict(
        base_distribution=Dist("Normal", loc=real(2, 3), scale=pos(2, 3)),
        transforms=[Tr("AffineTransform", 0.5, 2.0), Tr("ExpTransform")]))],
}
