"""Probability distributions, transforms between constrained spaces and KL divergences
(``torch.distributions``).

>>> from ember.distributions import Normal, kl_divergence
>>> kl_divergence(Normal(0.0, 1.0), Normal(0.0, 2.0))
tensor(0.3181)
"""
from ember.distributions import constraints, transforms
from ember.distributions.bernoulli import Bernoulli, Binomial, Geometric, NegativeBinomial, Poisson
from ember.distributions.categorical import Categorical, Multinomial, OneHotCategorical, OneHotCategoricalStraightThrough
from ember.distributions.constraint_registry import biject_to, transform_to
from ember.distributions.continuous_bernoulli import ContinuousBernoulli
from ember.distributions.dirichlet import Beta, Dirichlet, Kumaraswamy
from ember.distributions.distribution import Distribution
from ember.distributions.exp_family import ExponentialFamily
from ember.distributions.gamma import Chi2, Exponential, FisherSnedecor, Gamma, InverseGamma, StudentT
from ember.distributions.kl import kl_divergence, register_kl
from ember.distributions import kl_cross  # noqa: F401  (registers the cross-family KL pairs)
from ember.distributions.lkj_cholesky import LKJCholesky
from ember.distributions.mixture_same_family import MixtureSameFamily
from ember.distributions.multivariate_normal import LowRankMultivariateNormal, MultivariateNormal
from ember.distributions.normal import HalfNormal, LogisticNormal, LogNormal, Normal
from ember.distributions.pareto import GeneralizedPareto, Gumbel, Pareto, Weibull
from ember.distributions.relaxed import RelaxedBernoulli, RelaxedOneHotCategorical
from ember.distributions.transformed_distribution import Independent, TransformedDistribution
from ember.distributions.transforms import (
    AbsTransform, AffineTransform, CatTransform, ComposeTransform, CorrCholeskyTransform,
    CumulativeDistributionTransform, ExpTransform, IndependentTransform, LowerCholeskyTransform,
    PositiveDefiniteTransform, PowerTransform, ReshapeTransform, SigmoidTransform, SoftmaxTransform,
    SoftplusTransform, StackTransform, StickBreakingTransform, TanhTransform, Transform, identity_transform,
)
from ember.distributions.uniform import Cauchy, HalfCauchy, Laplace, Uniform
from ember.distributions.von_mises import VonMises
from ember.distributions.wishart import Wishart

__all__ = [
    "AbsTransform", "AffineTransform", "Bernoulli", "Beta", "Binomial", "CatTransform", "Categorical", "Cauchy",
    "Chi2", "ComposeTransform", "ContinuousBernoulli", "CorrCholeskyTransform", "CumulativeDistributionTransform",
    "Dirichlet", "Distribution", "ExpTransform", "Exponential", "ExponentialFamily", "FisherSnedecor", "Gamma",
    "GeneralizedPareto", "Geometric", "Gumbel", "HalfCauchy", "HalfNormal", "Independent", "IndependentTransform",
    "InverseGamma", "Kumaraswamy", "LKJCholesky", "Laplace", "LogNormal", "LogisticNormal",
    "LowRankMultivariateNormal", "LowerCholeskyTransform", "MixtureSameFamily", "Multinomial", "MultivariateNormal",
    "NegativeBinomial", "Normal", "OneHotCategorical", "OneHotCategoricalStraightThrough", "Pareto", "Poisson",
    "PositiveDefiniteTransform", "PowerTransform", "RelaxedBernoulli", "RelaxedOneHotCategorical",
    "ReshapeTransform", "SigmoidTransform", "SoftmaxTransform", "SoftplusTransform", "StackTransform",
    "StickBreakingTransform", "StudentT", "TanhTransform", "Transform", "TransformedDistribution", "Uniform",
    "VonMises", "Weibull", "Wishart", "biject_to", "constraints", "identity_transform", "kl_divergence",
    "register_kl", "transform_to", "transforms",
]
