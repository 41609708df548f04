"""Adam (with AMSGrad, L2 or decoupled weight decay, maximize)."""
import math

import numpy as np

from ember.backend import array_module, compiled, cupy_kernels
from ember.optim import _fused
from ember.backend.cupy_kernels import fusable
from ember.optim.optimizer import Optimizer, _count_step, _fresh_state


@compiled.kernel
def _adam_kernel(lo, hi, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, sign, weight_decay, decay, beta1_weight,
                 beta2, one_minus_beta2, bias_correction2_sqrt, eps, neg_step_size):
    """Elements ``lo:hi`` of one Adam step, in PyTorch's order: ``sign`` is -1 to maximize, ``weight_decay``
    the L2 term (0 when off or decoupled), ``decay`` the decoupled shrink factor (1 when off)."""
    param, grad, exp_avg, exp_avg_sq = param[lo:hi], grad[lo:hi], exp_avg[lo:hi], exp_avg_sq[lo:hi]
    amsgrad = max_exp_avg_sq is not None
    if amsgrad:
        max_exp_avg_sq = max_exp_avg_sq[lo:hi]
    for i in range(param.size):
        g = sign * grad[i]
        p = param[i]
        if weight_decay != 0:
            g = g + weight_decay * p
        m = exp_avg[i]
        m = m + beta1_weight * (g - m)
        v = exp_avg_sq[i] * beta2 + one_minus_beta2 * g * g
        exp_avg[i] = m
        exp_avg_sq[i] = v
        if amsgrad:
            v = np.maximum(max_exp_avg_sq[i], v)
            max_exp_avg_sq[i] = v
        param[i] = p * decay + neg_step_size * (m / (np.sqrt(v) / bias_correction2_sqrt + eps))


def adam_step(xp, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, *, lr, beta1, beta2, eps,
              weight_decay, decoupled, maximize):
    """One Adam step on backend arrays (``step`` counts from 1); updates param and the moments in place.

    ``max_exp_avg_sq`` is None unless AMSGrad. The NumPy path (the reference) allocates one scratch array;
    host float32/float64 arrays take one compiled pass instead.
    """
    if max_exp_avg_sq is None and fusable(xp, param):  # one fused pass on a GPU
        return cupy_kernels.adam_step(param, grad, exp_avg, exp_avg_sq, step, lr=lr, beta1=beta1, beta2=beta2, eps=eps,
                                      weight_decay=weight_decay, decoupled=decoupled, maximize=maximize, xp=xp)
    if _fused.fusable(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq):
        _fused.run(_adam_kernel, param, grad, (exp_avg, exp_avg_sq, max_exp_avg_sq),
                   (-1.0 if maximize else 1.0, 0.0 if decoupled else float(weight_decay),
                    1.0 - lr * weight_decay if decoupled else 1.0, 1.0 - beta1, beta2, 1.0 - beta2,
                    math.sqrt(1 - beta2 ** step), eps, -lr / (1 - beta1 ** step)))
        return
    if maximize:
        grad = -grad
    if weight_decay:
        if decoupled:
            param *= 1 - lr * weight_decay
        else:
            grad = grad + weight_decay * param
    tmp = xp.empty_like(param)
    xp.subtract(grad, exp_avg, out=tmp)
    tmp *= 1 - beta1
    exp_avg += tmp
    xp.multiply(grad, grad, out=tmp)
    tmp *= 1 - beta2
    exp_avg_sq *= beta2
    exp_avg_sq += tmp
    second = exp_avg_sq
    if max_exp_avg_sq is not None:
        second = xp.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
    xp.sqrt(second, out=tmp)
    tmp /= math.sqrt(1 - beta2 ** step)
    tmp += eps
    xp.divide(exp_avg, tmp, out=tmp)
    tmp *= -lr / (1 - beta1 ** step)
    param += tmp


def _check_adam_args(lr, betas, eps, weight_decay):
    if lr < 0.0:
        raise ValueError(f"Invalid learning rate: {lr}")
    if eps < 0.0:
        raise ValueError(f"Invalid epsilon value: {eps}")
    for i, beta in enumerate(betas):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
    if weight_decay < 0.0:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")


class Adam(Optimizer):
    """Adam: adaptive moment estimation (Kingma & Ba), optionally AMSGrad.

    >>> import ember
    >>> w = ember.ones(2, requires_grad=True)
    >>> opt = ember.optim.Adam([w], lr=0.1)
    >>> w.sum().backward(); _ = opt.step()
    >>> w
    tensor([0.9000, 0.9000], requires_grad=True)
    """

    _sparse_error = "Adam does not support sparse gradients, please consider SparseAdam instead"

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False, fused=None,
                 decoupled_weight_decay=False):
        _check_adam_args(lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _init_state(self, p, group):
        names = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq") if group["amsgrad"] else ("exp_avg", "exp_avg_sq")
        return _fresh_state(p, names)

    def _update(self, p, state, group):
        step = _count_step(state)
        beta1, beta2 = group["betas"]
        amsgrad = state.get("max_exp_avg_sq") if group["amsgrad"] else None
        adam_step(array_module(p.device), p._data, p.grad._data, state["exp_avg"]._data, state["exp_avg_sq"]._data,
                  None if amsgrad is None else amsgrad._data, step, lr=group["lr"], beta1=beta1,
                  beta2=beta2, eps=group["eps"], weight_decay=group["weight_decay"],
                  decoupled=group["decoupled_weight_decay"], maximize=group["maximize"])

