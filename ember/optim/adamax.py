"""Adamax: Adam with an infinity-norm second moment (L2 weight decay, maximize)."""
import numpy as np

from ember.backend import array_module, compiled
from ember.optim import _fused
from ember.optim.adam import _check_adam_args
from ember.optim.optimizer import Optimizer, _count_step, _fresh_state


@compiled.kernel
def _adamax_kernel(lo, hi, param, grad, exp_avg, exp_inf, sign, weight_decay, beta1_weight, beta2, eps, neg_clr):
    """Elements ``lo:hi`` of one Adamax step in PyTorch's order."""
    param, grad, exp_avg, exp_inf = param[lo:hi], grad[lo:hi], exp_avg[lo:hi], exp_inf[lo:hi]
    for i in range(param.size):
        p = param[i]
        g = sign * grad[i]
        if weight_decay != 0:
            g = g + weight_decay * p
        m = exp_avg[i]
        m = m + beta1_weight * (g - m)
        exp_avg[i] = m
        u = np.maximum(exp_inf[i] * beta2, np.abs(g) + eps)
        exp_inf[i] = u
        param[i] = p + neg_clr * (m / u)


def adamax_step(xp, param, grad, exp_avg, exp_inf, step, *, lr, beta1, beta2, eps, weight_decay, maximize):
    """One Adamax step on backend arrays (``step`` counts from 1), in place on ``param`` and the moments."""
    if _fused.fusable(param, grad, exp_avg, exp_inf):
        _fused.run(_adamax_kernel, param, grad, (exp_avg, exp_inf),
                   (-1.0 if maximize else 1.0, weight_decay, 1.0 - beta1, beta2, eps, -lr / (1 - beta1 ** step)))
        return
    if maximize:
        grad = -grad
    if weight_decay:
        grad = grad + weight_decay * param
    exp_avg += (1 - beta1) * (grad - exp_avg)
    exp_inf *= beta2
    norm = xp.abs(grad)
    norm += eps
    xp.maximum(exp_inf, norm, out=exp_inf)
    param -= lr / (1 - beta1 ** step) * (exp_avg / exp_inf)


class Adamax(Optimizer):
    """Adamax (Kingma & Ba): Adam's variant based on the infinity norm.

    >>> import ember
    >>> w = ember.ones(2, requires_grad=True)
    >>> opt = ember.optim.Adamax([w], lr=0.1)
    >>> w.sum().backward(); _ = opt.step()
    >>> w
    tensor([0.9000, 0.9000], requires_grad=True)
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None, *,
                 maximize=False, differentiable=False, capturable=False):
        _check_adam_args(lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def _init_state(self, p, group):
        return _fresh_state(p, ("exp_avg", "exp_inf"))

    def _update(self, p, state, group):
        step = _count_step(state)
        beta1, beta2 = group["betas"]
        adamax_step(array_module(p.device), p._data, p.grad._data, state["exp_avg"]._data, state["exp_inf"]._data,
                    step, lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
                    weight_decay=group["weight_decay"], maximize=group["maximize"])
