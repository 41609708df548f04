"""LKJCholesky: Cholesky factors of random correlation matrices (Lewandowski, Kurowicka &
Joe, 2009), sampled by the onion method."""
import math

from ember._tensor import Size
from ember.autograd import no_grad
from ember.backend.typeinfo import finfo
from ember.creation import arange, zeros
from ember.distributions import constraints
from ember.distributions.dirichlet import Beta
from ember.distributions.distribution import Distribution
from ember.distributions.utils import broadcast_all
from ember.ops.join import cat
from ember.random import randn
from ember.ops.special import multigammaln

__all__ = ["LKJCholesky"]


class LKJCholesky(Distribution):
    """The lower Cholesky factor ``L`` of a ``dim x dim`` correlation matrix ``L L^T`` with
    density proportional to ``det(L L^T)^(concentration - 1)``."""

    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dim, concentration=1.0, validate_args=None):
        if dim < 2:
            raise ValueError(f"Expected dim to be an integer greater than or equal to 2. Found dim={dim}.")
        self.dim = dim
        (self.concentration,) = broadcast_all(concentration)
        c = self.concentration
        marginal = c + 0.5 * (dim - 2)
        offset = arange(dim - 1, dtype=c.dtype, device=c.device)
        offset = cat([zeros(1, dtype=c.dtype, device=c.device), offset])
        # row i's squared off-diagonal norm ~ Beta(i / 2, marginal - (i - 1) / 2)
        self._beta = Beta(offset + 0.5, marginal.unsqueeze(-1) - 0.5 * offset)
        super().__init__(c.shape, Size((dim, dim)), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._expanded(LKJCholesky, batch_shape, _instance, "concentration")
        new.dim = self.dim
        new._beta = self._beta.expand(Size(tuple(batch_shape) + (self.dim,)))
        return new

    def sample(self, sample_shape=()):
        with no_grad():
            y = self._beta.sample(sample_shape).unsqueeze(-1)
            u = randn(self._extended_shape(sample_shape), dtype=y.dtype, device=y.device).tril(-1)
            u = u / u.norm(dim=-1, keepdim=True)
            first_row = arange(self.dim, device=u.device).reshape(-1, 1) > 0
            w = y.sqrt() * (u * first_row).nan_to_num(0.0)  # row 0 has no off-diagonal part
            diag = (1 - (w ** 2).sum(-1)).clamp(min=finfo(w.dtype).tiny).sqrt()
            return w + diag.diag_embed()

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        diag = value.diagonal(dim1=-1, dim2=-2)[..., 1:]
        order = arange(2, self.dim + 1, device=self.concentration.device)
        order = 2 * (self.concentration - 1).unsqueeze(-1) + self.dim - order
        unnormalized = (order * diag.log()).sum(-1)
        dm1 = self.dim - 1
        alpha = self.concentration + 0.5 * dm1
        normalizer = 0.5 * dm1 * math.log(math.pi) + multigammaln(alpha - 0.5, dm1) - alpha.lgamma() * dm1
        return unnormalized - normalizer
