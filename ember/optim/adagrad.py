"""Adagrad (with learning-rate decay, L2 weight decay, maximize)."""
import functools

import numpy as np

from ember.backend import array_module, compiled
from ember.optim import _fused
from ember.optim.optimizer import Optimizer, _count_step, _fresh_state, _state_tensor


@compiled.kernel
def _adagrad_kernel(lo, hi, param, grad, state_sum, sign, weight_decay, eps, neg_clr):
    """Elements ``lo:hi`` of one dense Adagrad step in PyTorch's order."""
    param, grad, state_sum = param[lo:hi], grad[lo:hi], state_sum[lo:hi]
    for i in range(param.size):
        p = param[i]
        g = sign * grad[i]
        if weight_decay != 0:
            g = g + weight_decay * p
        s = state_sum[i] + g * g
        state_sum[i] = s
        param[i] = p + neg_clr * (g / (np.sqrt(s) + eps))


def adagrad_step(xp, param, grad, state_sum, step, *, lr, lr_decay, weight_decay, eps, maximize):
    """One Adagrad step on backend arrays (``step`` counts from 1), in place on ``param`` and ``state_sum``."""
    if _fused.fusable(param, grad, state_sum):
        _fused.run(_adagrad_kernel, param, grad, (state_sum,),
                   (-1.0 if maximize else 1.0, weight_decay, eps, -lr / (1 + (step - 1) * lr_decay)))
        return
    if maximize:
        grad = -grad
    if weight_decay:
        grad = grad + weight_decay * param
    clr = lr / (1 + (step - 1) * lr_decay)
    state_sum += grad * grad
    std = xp.sqrt(state_sum)
    std += eps
    param -= clr * (grad / std)


def adagrad_sparse_step(param, grad, state_sum, step, *, lr, lr_decay, weight_decay, eps, maximize):
    """Adagrad with a sparse COO ``grad`` (a CooArray): only the rows it names move."""
    if weight_decay:
        raise RuntimeError("weight_decay option is not compatible with sparse gradients")
    grad = (-grad if maximize else grad).coalesce()
    clr = lr / (1 + (step - 1) * lr_decay)
    grad.add_into(state_sum, grad.values * grad.values)
    std = grad.mask_dense(state_sum).values
    std = np.sqrt(std) + grad.values.dtype.type(eps)
    grad.add_into(param, -clr * (grad.values / std))


class Adagrad(Optimizer):
    """Adagrad: per-element step sizes shrinking with the sum of squared gradients.

    Like PyTorch, the state of the constructor's parameters is created at once, and the
    accumulator starts at the optimizer-wide ``initial_accumulator_value``.

    >>> import ember
    >>> w = ember.ones(2, requires_grad=True)
    >>> opt = ember.optim.Adagrad([w], lr=0.1)
    >>> w.sum().backward(); _ = opt.step()
    >>> w
    tensor([0.9000, 0.9000], requires_grad=True)
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 foreach=None, *, maximize=False, differentiable=False, fused=None):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if lr_decay < 0.0:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if initial_accumulator_value < 0.0:
            raise ValueError(f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p] = self._init_state(p, group)

    def _init_state(self, p, group):
        state = _fresh_state(p, ())
        state["sum"] = _state_tensor(array_module(p.device).full_like(p._data, self.defaults["initial_accumulator_value"]), p)
        return state

    _sparse_grads = True

    def _update(self, p, state, group):
        step = _count_step(state)
        step_fn = adagrad_sparse_step if p.grad.is_sparse else functools.partial(adagrad_step, array_module(p.device))
        step_fn(p._data, p.grad._data, state["sum"]._data, step, lr=group["lr"], lr_decay=group["lr_decay"],
                weight_decay=group["weight_decay"], eps=group["eps"], maximize=group["maximize"])
