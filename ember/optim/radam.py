"""RAdam: Adam with a rectified adaptive learning rate (L2 or decoupled weight decay, maximize)."""
import math

import numpy as np

from ember.backend import array_module, compiled
from ember.optim import _fused
from ember.optim.adam import _check_adam_args
from ember.optim.optimizer import Optimizer, _count_step, _fresh_state


@compiled.kernel
def _radam_kernel(lo, hi, param, grad, exp_avg, exp_avg_sq, sign, weight_decay, decay, beta1_weight, beta2,
                  one_minus_beta2, bias_correction1, lr, rectified, bias_correction2_sqrt, eps, rect):
    """Elements ``lo:hi`` of one RAdam step in PyTorch's order; ``rectified`` is ``rho_t > 5``."""
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
        update = m / bias_correction1 * lr
        if rectified:
            update = update * (bias_correction2_sqrt / (np.sqrt(v) + eps)) * rect
        param[i] = p * decay - update


def radam_step(xp, param, grad, exp_avg, exp_avg_sq, step, *, lr, beta1, beta2, eps, weight_decay, decoupled,
               maximize):
    """One RAdam step on backend arrays (``step`` counts from 1), in place on ``param`` and the moments.

    While the variance estimate is unreliable (rho_t <= 5) the step is plain bias-corrected momentum.
    """
    bias1 = 1 - beta1 ** step
    bias2 = 1 - beta2 ** step
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * step * beta2 ** step / bias2
    rectified = rho_t > 5.0
    rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) if rectified else 1.0
    if _fused.fusable(param, grad, exp_avg, exp_avg_sq):
        _fused.run(_radam_kernel, param, grad, (exp_avg, exp_avg_sq),
                   (-1.0 if maximize else 1.0, 0.0 if decoupled else weight_decay,
                    1.0 - lr * weight_decay if decoupled else 1.0, 1.0 - beta1, beta2, 1.0 - beta2, bias1, lr,
                    rectified, math.sqrt(bias2), eps, rect))
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
    update = exp_avg / bias1
    update *= lr
    if rectified:
        denom = xp.sqrt(exp_avg_sq)
        denom += eps
        update *= math.sqrt(bias2) / denom
        update *= rect
    param -= update


class RAdam(Optimizer):
    """RAdam (Liu et al.): Adam with the variance of the adaptive learning rate rectified.

    >>> import ember
    >>> w = ember.ones(2, requires_grad=True)
    >>> opt = ember.optim.RAdam([w], lr=0.1)
    >>> w.sum().backward(); _ = opt.step()
    >>> w
    tensor([0.9000, 0.9000], requires_grad=True)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, decoupled_weight_decay=False,
                 *, foreach=None, maximize=False, capturable=False, differentiable=False):
        _check_adam_args(lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize, foreach=foreach,
                        capturable=capturable, decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def _init_state(self, p, group):
        return _fresh_state(p, ("exp_avg", "exp_avg_sq"))

    def _update(self, p, state, group):
        step = _count_step(state)
        beta1, beta2 = group["betas"]
        radam_step(array_module(p.device), p._data, p.grad._data, state["exp_avg"]._data, state["exp_avg_sq"]._data,
                   step, lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
                   weight_decay=group["weight_decay"], decoupled=group["decoupled_weight_decay"],
                   maximize=group["maximize"])
