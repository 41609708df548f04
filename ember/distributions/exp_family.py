"""``ExponentialFamily``: densities ``exp(<t(x), theta> - F(theta) + k(x))``; its entropy
(and the Bregman-divergence KL in ``kl``) comes from the log-normalizer ``F`` by autograd."""
from ember.autograd import grad
from ember.distributions.distribution import Distribution

__all__ = ["ExponentialFamily"]


class ExponentialFamily(Distribution):
    """Subclasses give ``_natural_params`` (a tuple of tensors), ``_log_normalizer(*params)``
    and ``_mean_carrier_measure`` (the expectation of ``k(x)``)."""

    @property
    def _natural_params(self):
        raise NotImplementedError

    def _log_normalizer(self, *natural_params):
        raise NotImplementedError

    @property
    def _mean_carrier_measure(self):
        raise NotImplementedError

    def entropy(self):
        """``F(theta) - <theta, grad F(theta)> - E[k(x)]``."""
        result = -self._mean_carrier_measure
        params = [p.detach().requires_grad_() for p in self._natural_params]
        log_norm = self._log_normalizer(*params)
        grads = grad(log_norm.sum(), params, create_graph=True)
        result = result + log_norm
        for p, g in zip(params, grads):
            result = result - (p * g).reshape(*self._batch_shape, -1).sum(-1)
        return result
