"""Rprop: resilient backpropagation, a per-element step size driven by gradient signs."""
from ember.backend import array_module
from ember.optim.optimizer import Optimizer, _count_step, _fresh_state, _state_tensor


def rprop_step(xp, param, grad, prev, step_size, *, etaminus, etaplus, step_size_min, step_size_max, maximize):
    """One Rprop step on backend arrays, in place on ``param``, ``prev`` and ``step_size``.

    Where the gradient kept its sign the step grows by ``etaplus``, where it flipped it
    shrinks by ``etaminus`` and that element is not moved (its stored gradient becomes 0).
    """
    if maximize:
        grad = -grad
    sign = xp.sign(grad * prev)
    factor = xp.where(sign > 0, etaplus, xp.where(sign < 0, etaminus, 1)).astype(param.dtype)
    step_size *= factor
    xp.clip(step_size, step_size_min, step_size_max, out=step_size)
    grad = xp.where(factor == param.dtype.type(etaminus), 0, grad).astype(param.dtype)
    param -= xp.sign(grad) * step_size
    prev[...] = grad


class Rprop(Optimizer):
    """Rprop (Riedmiller & Braun): sign-based updates with per-element adaptive step sizes.

    >>> import ember
    >>> w = ember.ones(2, requires_grad=True)
    >>> opt = ember.optim.Rprop([w], lr=0.1)
    >>> w.sum().backward(); _ = opt.step()
    >>> w
    tensor([0.9000, 0.9000], requires_grad=True)
    """

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *, capturable=False,
                 foreach=None, maximize=False, differentiable=False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def _init_state(self, p, group):
        state = _fresh_state(p, ("prev",))
        xp = array_module(p.device)
        state["step_size"] = _state_tensor(xp.full_like(p._data, group["lr"]), p)
        return state

    def _update(self, p, state, group):
        _count_step(state)
        etaminus, etaplus = group["etas"]
        lo, hi = group["step_sizes"]
        rprop_step(array_module(p.device), p._data, p.grad._data, state["prev"]._data, state["step_size"]._data,
                   etaminus=etaminus, etaplus=etaplus, step_size_min=lo, step_size_max=hi,
                   maximize=group["maximize"])
