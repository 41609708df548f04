"""Adam (with AMSGrad, L2 or decoupled weight decay, maximize)."""
import math

from ember.backend import array_module, cupy_kernels
from ember.backend.cupy_kernels import fusable
from ember.optim.optimizer import Optimizer, _count_step, _fresh_state


def adam_step(xp, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, *, lr, beta1, beta2, eps,
              weight_decay, decoupled, maximize):
    """One Adam step on backend arrays (``step`` counts from 1); updates param and the moments in place.

    ``max_exp_avg_sq`` is None unless AMSGrad. One scratch array is the only allocation.
    """
    if max_exp_avg_sq is None and fusable(xp, param):  # one fused pass on a GPU
        return cupy_kernels.adam_step(param, grad, exp_avg, exp_avg_sq, step, lr=lr, beta1=beta1, beta2=beta2, eps=eps,
                                      weight_decay=weight_decay, decoupled=decoupled, maximize=maximize, xp=xp)
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

