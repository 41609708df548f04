"""Half distributions: ``|X|`` for ``X`` symmetric around zero (HalfNormal, HalfCauchy).

Folding doubles the density on ``[0, inf)``: ``log p(y) = log p_X(y) + log 2``, ``F(y) = 2 F_X(y) - 1``,
and the entropy drops by ``log 2``.
"""
import math

from ember.distributions import constraints
from ember.distributions.transformed_distribution import TransformedDistribution
from ember.distributions.transforms import AbsTransform
from ember.ops.pointwise import where


class HalfDistribution(TransformedDistribution):
    """``|X|`` for ``X ~ base(0, scale)``; a subclass names its ``base`` class and adds its moments."""

    base = None
    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, scale, validate_args=None):
        super().__init__(self.base(0, scale, validate_args=False), AbsTransform(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return super().expand(batch_shape, _instance=self._get_checked_instance(type(self), _instance))

    @property
    def scale(self):
        return self.base_dist.scale

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return where(value >= 0, self.base_dist.log_prob(value) + math.log(2), -math.inf)

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 2 * self.base_dist.cdf(value) - 1

    def icdf(self, prob):
        return self.base_dist.icdf((prob + 1) / 2)

    def entropy(self):
        return self.base_dist.entropy() - math.log(2)
