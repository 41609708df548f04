"""ASGD: SGD with an averaged copy of the parameters (Polyak-Ruppert averaging)."""
import numpy as np

from ember.backend import array_module
from ember.creation import tensor
from ember.optim.optimizer import Optimizer, _count_step, _fresh_state


def asgd_step(xp, param, grad, ax, eta, mu, *, lambd, weight_decay, maximize):
    """One ASGD step on backend arrays with this step's ``eta`` and ``mu`` (floats), in place on ``param`` and ``ax``."""
    if maximize:
        grad = -grad
    if weight_decay:
        grad = grad + weight_decay * param
    param *= 1 - lambd * eta
    param -= eta * grad
    if mu != 1:
        ax += (param - ax) * param.dtype.type(mu)
    else:
        ax[...] = param


class ASGD(Optimizer):
    """Averaged SGD (Polyak & Juditsky): ``state['ax']`` holds the running average of the iterates.

    >>> import ember
    >>> w = ember.ones(2, requires_grad=True)
    >>> opt = ember.optim.ASGD([w], lr=0.1)
    >>> w.sum().backward(); _ = opt.step()
    >>> w
    tensor([0.9000, 0.9000], requires_grad=True)
    """

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0, foreach=None,
                 maximize=False, differentiable=False, capturable=False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def _init_state(self, p, group):
        state = _fresh_state(p, ("ax",))
        state = {"step": state["step"], "eta": tensor(float(group["lr"]), device=p.device),
                 "mu": tensor(1.0, device=p.device), "ax": state["ax"]}
        return state

    def _update(self, p, state, group):
        step = _count_step(state)
        eta, mu = state["eta"], state["mu"]
        # eta and mu are float32 scalars, as PyTorch keeps them: the step reads their rounded values
        asgd_step(array_module(p.device), p._data, p.grad._data, state["ax"]._data, float(eta._data),
                  float(mu._data), lambd=group["lambd"], weight_decay=group["weight_decay"],
                  maximize=group["maximize"])
        lr = group["lr"]
        eta._data[...] = np.float32(lr / ((1 + group["lambd"] * lr * step) ** group["alpha"]))
        mu._data[...] = np.float32(1 / max(1, step - group["t0"]))
        eta._bump()
        mu._bump()
