"""Adadelta (with L2 weight decay, maximize)."""
import numpy as np

from ember.backend import array_module, compiled
from ember.optim import _fused
from ember.optim.optimizer import Optimizer, _count_step, _fresh_state


@compiled.kernel
def _adadelta_kernel(lo, hi, param, grad, square_avg, acc_delta, sign, weight_decay, rho, one_minus_rho, eps, neg_lr):
    """Elements ``lo:hi`` of one Adadelta step in PyTorch's order."""
    param, grad, square_avg, acc_delta = param[lo:hi], grad[lo:hi], square_avg[lo:hi], acc_delta[lo:hi]
    for i in range(param.size):
        p = param[i]
        g = sign * grad[i]
        if weight_decay != 0:
            g = g + weight_decay * p
        s = square_avg[i] * rho + one_minus_rho * g * g
        square_avg[i] = s
        a = acc_delta[i]
        delta = np.sqrt(a + eps) / np.sqrt(s + eps) * g
        acc_delta[i] = a * rho + one_minus_rho * delta * delta
        param[i] = p + neg_lr * delta


def adadelta_step(xp, param, grad, square_avg, acc_delta, *, lr, rho, eps, weight_decay, maximize):
    """One Adadelta step on backend arrays, in place on ``param``, ``square_avg`` and ``acc_delta``."""
    if _fused.fusable(param, grad, square_avg, acc_delta):
        _fused.run(_adadelta_kernel, param, grad, (square_avg, acc_delta),
                   (-1.0 if maximize else 1.0, weight_decay, rho, 1.0 - rho, eps, -lr))
        return
    if maximize:
        grad = -grad
    if weight_decay:
        grad = grad + weight_decay * param
    square_avg *= rho
    square_avg += (1 - rho) * grad * grad
    delta = xp.sqrt(acc_delta + eps)
    delta /= xp.sqrt(square_avg + eps)
    delta *= grad
    acc_delta *= rho
    acc_delta += (1 - rho) * delta * delta
    param -= lr * delta


class Adadelta(Optimizer):
    """Adadelta: step sizes from running averages of squared gradients and squared updates.

    >>> import ember
    >>> w = ember.ones(2, requires_grad=True)
    >>> opt = ember.optim.Adadelta([w], lr=1.0)
    >>> w.sum().backward(); _ = opt.step()
    >>> w
    tensor([0.9968, 0.9968], requires_grad=True)
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *, capturable=False,
                 maximize=False, differentiable=False):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize, capturable=capturable,
                        foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    def _init_state(self, p, group):
        return _fresh_state(p, ("square_avg", "acc_delta"))

    def _update(self, p, state, group):
        _count_step(state)
        adadelta_step(array_module(p.device), p._data, p.grad._data, state["square_avg"]._data,
                      state["acc_delta"]._data, lr=group["lr"], rho=group["rho"], eps=group["eps"],
                      weight_decay=group["weight_decay"], maximize=group["maximize"])
