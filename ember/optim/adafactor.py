"""Adafactor: Adam-like steps with a factored (row x column) second moment for matrices."""
import math

import numpy as np

from ember.backend import array_module
from ember.creation import tensor
from ember.optim.optimizer import Optimizer, _count_step, _state_tensor


def _lerp(xp, start, end, weight):
    """``start += weight * (end - start)`` in place, rounded as PyTorch's lerp_ rounds."""
    if abs(weight) < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (1 - weight)


def adafactor_step(xp, param, grad, row_var, col_var, variance, step, *, lr, beta2_decay, eps1, eps2, d,
                   weight_decay, maximize):
    """One Adafactor step on backend arrays (``step`` counts from 1), in place on ``param`` and the moments.

    ``row_var``/``col_var`` hold a matrix (or batch of matrices) gradient's factored second
    moment, ``variance`` a vector's full one (the other two are None).
    """
    if maximize:
        grad = -grad
    if eps1 is None:
        eps1 = float(np.finfo(param.dtype).eps)
    one_minus_beta2 = step ** beta2_decay
    rho = min(lr, 1 / math.sqrt(step))
    alpha = max(eps2, float(xp.linalg.norm(param.ravel())) / math.sqrt(max(param.size, 1))) * rho
    if weight_decay:
        param *= 1 - lr * weight_decay
    if grad.ndim > 1:
        sq = grad * grad
        _lerp(xp, row_var, sq.mean(axis=-1, keepdims=True), one_minus_beta2)
        _lerp(xp, col_var, sq.mean(axis=-2, keepdims=True), one_minus_beta2)
        estimate = row_var @ col_var
        estimate /= xp.maximum(row_var.mean(axis=-2, keepdims=True), eps1)
    else:
        _lerp(xp, variance, grad * grad, one_minus_beta2)
        estimate = variance.copy()
    update = 1 / xp.sqrt(xp.maximum(estimate, eps1 * eps1))
    update *= grad
    denom = max(1.0, float(xp.linalg.norm(update.ravel())) / (math.sqrt(max(update.size, 1)) * d))
    param -= (alpha / denom) * update


class Adafactor(Optimizer):
    """Adafactor (Shazeer & Stern): sublinear-memory adaptive steps, relative to the parameter's scale.

    >>> import ember
    >>> w = ember.ones(2, requires_grad=True)
    >>> opt = ember.optim.Adafactor([w], lr=0.1)
    >>> w.sum().backward(); _ = opt.step()
    >>> w
    tensor([0.9000, 0.9000], requires_grad=True)
    """

    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0, *,
                 foreach=None, maximize=False):
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _init_state(self, p, group):
        if p.is_complex():
            raise RuntimeError("Adafactor does not support complex parameters")
        xp = array_module(p.device)
        state = {"step": tensor(0.0, device=p.device)}
        if p.dim() > 1:
            state["row_var"] = _state_tensor(xp.zeros(p.shape[:-1] + (1,), dtype=p._data.dtype), p)
            state["col_var"] = _state_tensor(xp.zeros(p.shape[:-2] + (1, p.shape[-1]), dtype=p._data.dtype), p)
        else:
            state["variance"] = _state_tensor(xp.zeros_like(p._data), p)
        return state

    def _update(self, p, state, group):
        step = _count_step(state)
        eps1, eps2 = group["eps"]
        arrays = [None if state.get(k) is None else state[k]._data for k in ("row_var", "col_var", "variance")]
        adafactor_step(array_module(p.device), p._data, p.grad._data, *arrays, step, lr=group["lr"],
                       beta2_decay=group["beta2_decay"], eps1=eps1, eps2=eps2, d=group["d"],
                       weight_decay=group["weight_decay"], maximize=group["maximize"])
