"""Muon: momentum SGD whose update for a matrix is orthogonalised by a Newton-Schulz iteration."""
import math

import ml_dtypes
import numpy as np

from ember.backend.arrays import array_module_of
from ember.optim.optimizer import Optimizer, _fresh_state

_BF16 = ml_dtypes.bfloat16


def _bf16(x):
    """Rounded to bfloat16 and held as float32: each Newton-Schulz product is rounded as PyTorch's bf16 one."""
    return x.astype(np.float32).astype(_BF16).astype(np.float32)


def orthogonalize(g, coefficients, steps, eps):
    """The Newton-Schulz approximation of ``U V^T`` for ``g = U S V^T``, computed in bfloat16 (as float32 arrays)."""
    if steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if g.ndim != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    if len(coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    a, b, c = coefficients
    x = _bf16(g)
    tall = g.shape[0] > g.shape[1]
    if tall:
        x = x.T
    xp = array_module_of(x)
    x = _bf16(x / xp.maximum(_bf16(xp.linalg.norm(x)), eps))
    for _ in range(steps):
        gram = _bf16(x @ x.T)
        update = _bf16(b * gram + c * (gram @ gram))
        x = _bf16(a * x + update @ x)
    return x.T if tall else x


def _adjusted_lr(lr, adjust_lr_fn, shape):
    rows, cols = shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        return lr * math.sqrt(max(1, rows / cols))
    if adjust_lr_fn == "match_rms_adamw":
        return lr * 0.2 * math.sqrt(max(rows, cols))
    return lr


def muon_step(param, grad, buf, *, lr, weight_decay, momentum, nesterov, ns_coefficients, ns_steps, eps,
              adjust_lr_fn):
    """One Muon step on arrays, in place on ``param`` and the momentum ``buf``."""
    buf += (1 - momentum) * (grad - buf)
    update = grad + momentum * (buf - grad) if nesterov else buf
    update = orthogonalize(update, ns_coefficients, ns_steps, eps)
    param *= 1 - lr * weight_decay
    param -= _adjusted_lr(lr, adjust_lr_fn, param.shape) * update.astype(param.dtype)


class Muon(Optimizer):
    """Muon (Jordan et al.): for 2-D parameters, Nesterov momentum orthogonalised by 5 Newton-Schulz steps.

    >>> import ember
    >>> w = ember.ones(2, 2, requires_grad=True)
    >>> opt = ember.optim.Muon([w], lr=0.1)
    >>> (w * ember.eye(2)).sum().backward(); _ = opt.step()
    >>> w.shape
    ember.Size([2, 2])
    """

    def __init__(self, params, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
                 ns_coefficients=(3.4445, -4.775, 2.0315), eps=1e-7, ns_steps=5, adjust_lr_fn=None):
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 <= momentum:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn is not None and adjust_lr_fn not in ("original", "match_rms_adamw"):
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        defaults = dict(lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov,
                        ns_coefficients=ns_coefficients, eps=eps, ns_steps=ns_steps, adjust_lr_fn=adjust_lr_fn)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError(f"Muon only supports 2D parameters whereas we found a parameter with size: "
                                     f"{p.size()}")

    def _init_state(self, p, group):
        if p.is_complex():
            raise RuntimeError("Muon does not support complex parameters")
        return {"momentum_buffer": _fresh_state(p, ("buf",))["buf"]}

    def _update(self, p, state, group):
        muon_step(p._data, p.grad._data, state["momentum_buffer"]._data, lr=group["lr"],
                  weight_decay=group["weight_decay"], momentum=group["momentum"], nesterov=group["nesterov"],
                  ns_coefficients=group["ns_coefficients"], ns_steps=group["ns_steps"], eps=group["eps"],
                  adjust_lr_fn=group["adjust_lr_fn"])
