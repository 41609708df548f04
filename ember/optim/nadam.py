"""NAdam: Adam with Nesterov momentum (momentum decay, L2 or decoupled weight decay, maximize)."""
import numpy as np

from ember.backend import array_module, compiled
from ember.optim import _fused
from ember.optim.adam import _check_adam_args
from ember.optim.optimizer import Optimizer, _count_step, _fresh_state


@compiled.kernel
def _nadam_kernel(lo, hi, param, grad, exp_avg, exp_avg_sq, sign, weight_decay, decay, beta1_weight, beta2,
                  one_minus_beta2, bias_correction2, eps, grad_coef, avg_coef):
    """Elements ``lo:hi`` of one NAdam step in PyTorch's order (``decay`` is the decoupled shrink, 1 when off)."""
    param, grad, exp_avg, exp_avg_sq = param[lo:hi], grad[lo:hi], exp_avg[lo:hi], exp_avg_sq[lo:hi]
    for i in range(param.size):
        p = param[i]
        g = sign * grad[i]
        if weight_decay != 0:
            g = g + weight_decay * p
        m = exp_avg[i]
        m = m + beta1_weight * (g - m)
        v = exp_avg_sq[i] * beta2 + one_minus_beta2 * g * g
        exp_avg[i] = m
        exp_avg_sq[i] = v
        denom = np.sqrt(v / bias_correction2) + eps
        p = p * decay + grad_coef * (g / denom)
        param[i] = p + avg_coef * (m / denom)


def nadam_step(xp, param, grad, exp_avg, exp_avg_sq, mu_product, step, *, lr, beta1, beta2, eps, weight_decay,
               momentum_decay, decoupled, maximize):
    """One NAdam step on backend arrays (``step`` counts from 1), in place on ``param`` and the moments.

    ``mu_product`` is a 0-d array (the running product of the momentum schedule), updated in place.
    """
    mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))
    mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
    mu_product *= mu
    product = float(mu_product)
    if _fused.fusable(param, grad, exp_avg, exp_avg_sq):
        _fused.run(_nadam_kernel, param, grad, (exp_avg, exp_avg_sq),
                   (-1.0 if maximize else 1.0, 0.0 if decoupled else weight_decay,
                    1.0 - lr * weight_decay if decoupled else 1.0, 1.0 - beta1, beta2, 1.0 - beta2,
                    1.0 - beta2 ** step, eps, -lr * (1.0 - mu) / (1.0 - product),
                    -lr * mu_next / (1.0 - product * mu_next)))
        return
    if maximize:
        grad = -grad
    if weight_decay:
        if decoupled:
            param *= 1 - lr * weight_decay
        else:
            grad = grad + weight_decay * param
    exp_avg += (1 - beta1) * (grad - exp_avg)
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * grad * grad
    denom = xp.sqrt(exp_avg_sq / (1 - beta2 ** step))
    denom += eps
    param += (-lr * (1.0 - mu) / (1.0 - product)) * (grad / denom)
    param += (-lr * mu_next / (1.0 - product * mu_next)) * (exp_avg / denom)


class NAdam(Optimizer):
    """NAdam (Dozat): Adam whose first moment takes a Nesterov look-ahead.

    >>> import ember
    >>> w = ember.ones(2, requires_grad=True)
    >>> opt = ember.optim.NAdam([w], lr=0.1)
    >>> w.sum().backward(); _ = opt.step()
    >>> w
    tensor([0.8944, 0.8944], requires_grad=True)
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        _check_adam_args(lr, betas, eps, weight_decay)
        if momentum_decay < 0.0:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    def _init_state(self, p, group):
        return _fresh_state(p, ("exp_avg", "exp_avg_sq"), mu_product=1.0)

    def _update(self, p, state, group):
        step, mu_product = _count_step(state), state["mu_product"]
        mu_product._bump()
        beta1, beta2 = group["betas"]
        nadam_step(array_module(p.device), p._data, p.grad._data, state["exp_avg"]._data, state["exp_avg_sq"]._data,
                   mu_product._data, step, lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
                   weight_decay=group["weight_decay"], momentum_decay=group["momentum_decay"],
                   decoupled=group["decoupled_weight_decay"], maximize=group["maximize"])
