"""RMSprop (with momentum, centering, L2 weight decay, maximize)."""
import numpy as np

from ember.backend import array_module, compiled
from ember.optim import _fused
from ember.optim.optimizer import Optimizer, _count_step, _fresh_state


@compiled.kernel
def _rmsprop_kernel(lo, hi, param, grad, square_avg, grad_avg, buf, sign, weight_decay, alpha, one_minus_alpha, eps,
                    momentum, neg_lr):
    """Elements ``lo:hi`` of one RMSprop step in PyTorch's order; ``grad_avg`` and ``buf`` are None when off."""
    param, grad, square_avg = param[lo:hi], grad[lo:hi], square_avg[lo:hi]
    centered, has_buf = grad_avg is not None, buf is not None
    if centered:
        grad_avg = grad_avg[lo:hi]
    if has_buf:
        buf = buf[lo:hi]
    for i in range(param.size):
        p = param[i]
        g = sign * grad[i]
        if weight_decay != 0:
            g = g + weight_decay * p
        s = square_avg[i] * alpha + one_minus_alpha * g * g
        square_avg[i] = s
        if centered:
            a = grad_avg[i]
            a = a + one_minus_alpha * (g - a)
            grad_avg[i] = a
            s = s - a * a
        avg = np.sqrt(s) + eps
        if has_buf:
            b = buf[i] * momentum + g / avg
            buf[i] = b
            param[i] = p + neg_lr * b
        else:
            param[i] = p + neg_lr * (g / avg)


def rmsprop_step(xp, param, grad, square_avg, grad_avg, buf, *, lr, alpha, eps, weight_decay, momentum, maximize):
    """One RMSprop step on backend arrays, in place on ``param`` and the buffers.

    ``grad_avg`` is None unless centered; ``buf`` (the momentum buffer) is None unless ``momentum > 0``.
    """
    if _fused.fusable(param, grad, square_avg, grad_avg, buf):
        _fused.run(_rmsprop_kernel, param, grad, (square_avg, grad_avg, buf),
                   (-1.0 if maximize else 1.0, weight_decay, alpha, 1.0 - alpha, eps, momentum, -lr))
        return
    if maximize:
        grad = -grad
    if weight_decay:
        grad = grad + weight_decay * param
    square_avg *= alpha
    square_avg += (1 - alpha) * grad * grad
    if grad_avg is not None:
        grad_avg += (1 - alpha) * (grad - grad_avg)
        avg = xp.sqrt(square_avg - grad_avg * grad_avg)
    else:
        avg = xp.sqrt(square_avg)
    avg += eps
    if buf is not None:
        buf *= momentum
        buf += grad / avg
        param -= lr * buf
    else:
        param -= lr * (grad / avg)


class RMSprop(Optimizer):
    """RMSprop: divide the gradient by a running root mean square of recent gradients.

    >>> import ember
    >>> w = ember.ones(2, requires_grad=True)
    >>> opt = ember.optim.RMSprop([w], lr=0.01)
    >>> w.sum().backward(); _ = opt.step()
    >>> w
    tensor([0.9000, 0.9000], requires_grad=True)
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if alpha < 0.0:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered, weight_decay=weight_decay,
                        capturable=capturable, foreach=foreach, maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def _init_state(self, p, group):
        names = ["square_avg"]
        if group["momentum"] > 0:
            names.append("momentum_buffer")
        if group["centered"]:
            names.append("grad_avg")
        return _fresh_state(p, names)

    def _update(self, p, state, group):
        _count_step(state)
        buf = state["momentum_buffer"] if group["momentum"] > 0 else None
        grad_avg = state["grad_avg"] if group["centered"] else None
        rmsprop_step(array_module(p.device), p._data, p.grad._data, state["square_avg"]._data,
                     None if grad_avg is None else grad_avg._data, None if buf is None else buf._data,
                     lr=group["lr"], alpha=group["alpha"], eps=group["eps"], weight_decay=group["weight_decay"],
                     momentum=group["momentum"], maximize=group["maximize"])
