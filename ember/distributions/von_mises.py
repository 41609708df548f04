"""The von Mises distribution: a normal-like law on the circle."""
import math

from ember._tensor import Size
from ember.autograd import no_grad
from ember.backend.dtype import float64
from ember.creation import zeros
from ember.distributions import constraints
from ember.distributions.distribution import Distribution
from ember.distributions.utils import broadcast_all, lazy_property
from ember.ops.pointwise import where
from ember.random import rand
from ember.ops.special import i0e, i1e

__all__ = ["VonMises"]


def _log_i0(x):
    """log I0(x), stable for large x (I0 grows like e^x)."""
    return i0e(x).log() + x


class VonMises(Distribution):
    """Von Mises with mean direction ``loc`` (radians) and ``concentration`` kappa; samples
    lie in [-pi, pi) and are drawn by Best and Fisher's (1979) rejection sampler."""

    arg_constraints = {"loc": constraints.real, "concentration": constraints.positive}
    support = constraints.real
    has_rsample = False

    def __init__(self, loc, concentration, validate_args=None):
        self.loc, self.concentration = broadcast_all(loc, concentration)
        super().__init__(self.loc.shape, Size(), validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expanded(VonMises, batch_shape, _instance, "loc", "concentration")

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        k = self.concentration
        return k * (value - self.loc).cos() - math.log(2 * math.pi) - _log_i0(k)

    @lazy_property
    def _proposal_r(self):
        kappa = self.concentration.to(float64)
        tau = 1 + (1 + 4 * kappa ** 2).sqrt()
        rho = (tau - (2 * tau).sqrt()) / (2 * kappa)
        return where(kappa < 1e-5, 1 / kappa + kappa, (1 + rho ** 2) / (2 * rho))

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        with no_grad():
            loc, kappa, r = self.loc.to(float64), self.concentration.to(float64), self._proposal_r
            x = zeros(shape, dtype=float64, device=loc.device)
            done = zeros(shape, dtype=float64, device=loc.device) > 0
            while not done.all():
                u1, u2, u3 = rand(3, *shape, dtype=float64, device=loc.device).unbind()
                f = (1 + r * (math.pi * u1).cos()) / (r + (math.pi * u1).cos())
                c = kappa * (r - f)
                accept = (c * (2 - c) - u2 > 0) | ((c / u2).log() + 1 - c >= 0)
                x = where(accept & ~done, (u3 - 0.5).sign() * f.acos(), x)
                done = done | accept
            return ((x + math.pi + loc) % (2 * math.pi) - math.pi).to(self.loc.dtype)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @lazy_property
    def variance(self):
        k = self.concentration
        return 1 - i1e(k) / i0e(k)
