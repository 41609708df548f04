"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""
from ember.backend import array_module, compiled, cupy_kernels
from ember.optim import _fused
from ember.backend.cupy_kernels import fusable
from ember.optim.optimizer import Optimizer, _state_tensor


@compiled.kernel
def _sgd_kernel(lo, hi, param, grad, buf, sign, weight_decay, momentum, one_minus_dampening, first, nesterov, neg_lr):
    """Elements ``lo:hi`` of one SGD step in PyTorch's order; ``buf`` is None without momentum, ``first`` is
    True on the step that starts the buffer."""
    param, grad = param[lo:hi], grad[lo:hi]
    has_buf = buf is not None
    if has_buf:
        buf = buf[lo:hi]
    for i in range(param.size):
        p = param[i]
        d = sign * grad[i]
        if weight_decay != 0:
            d = d + weight_decay * p
        if has_buf:
            b = d if first else buf[i] * momentum + one_minus_dampening * d
            buf[i] = b
            d = d + momentum * b if nesterov else b
        param[i] = p + neg_lr * d


def sgd_step(xp, param, grad, buf, *, lr, momentum, dampening, weight_decay, nesterov, maximize):
    """One SGD step on backend arrays, in place on ``param`` (and ``buf``); returns the momentum buffer.

    ``buf`` is None on the first step with momentum: the buffer starts as that step's direction.
    """
    if momentum and buf is not None and fusable(xp, param):  # one fused pass on a GPU
        return cupy_kernels.sgd_momentum_step(param, grad, buf, lr=lr, momentum=momentum, dampening=dampening,
                                              weight_decay=weight_decay, nesterov=nesterov, maximize=maximize, xp=xp)
    if _fused.fusable(param, grad, buf):
        first = bool(momentum) and buf is None
        if first:
            buf = xp.empty_like(param)
        _fused.run(_sgd_kernel, param, grad, (buf if momentum else None,),
                   (-1.0 if maximize else 1.0, weight_decay, momentum, 1.0 - dampening, first, nesterov, -lr))
        return buf
    d = grad
    if maximize or weight_decay:
        d = -grad if maximize else grad.copy()
        if weight_decay:
            d += weight_decay * param
    if momentum:
        if buf is None:
            buf = xp.empty_like(param)
            buf[...] = d
        else:
            buf *= momentum
            buf += d if dampening == 0 else (1 - dampening) * d
        d = d + momentum * buf if nesterov else buf
    param -= lr * d
    return buf


def sgd_sparse_step(param, grad, buf, *, lr, momentum, dampening, weight_decay, nesterov, maximize):
    """SGD with a sparse COO ``grad`` (a CooArray): the momentum buffer stays sparse (coalesced), as
    PyTorch keeps it; returns it."""
    if weight_decay:
        raise RuntimeError("add(sparse, dense) is not supported. Use add(dense, sparse) instead.")
    d = -grad if maximize else grad
    if momentum:
        buf = d.copy() if buf is None else (buf * momentum + d * (1 - dampening)).coalesce()
        d = d + buf * momentum if nesterov else buf
    d.add_into(param, -lr * d.values)
    return buf


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum.

    >>> import ember
    >>> w = ember.ones(2, requires_grad=True)
    >>> opt = ember.optim.SGD([w], lr=0.1, momentum=0.9)
    >>> w.sum().backward(); _ = opt.step()
    >>> w
    tensor([0.9000, 0.9000], requires_grad=True)
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, foreach=None, differentiable=False, fused=None):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov,
                        maximize=maximize, foreach=foreach, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    _sparse_grads = True

    def _update(self, p, state, group):
        buf = state.get("momentum_buffer")
        if p.grad.is_sparse:
            new = sgd_sparse_step(p._data, p.grad._data, None if buf is None else buf._data, lr=group["lr"],
                                  momentum=group["momentum"], dampening=group["dampening"],
                                  weight_decay=group["weight_decay"], nesterov=group["nesterov"],
                                  maximize=group["maximize"])
            if group["momentum"]:
                state["momentum_buffer"] = _state_tensor(new, p)
                self.state[p] = state
            return
        new = sgd_step(array_module(p.device), p._data, p.grad._data, None if buf is None else buf._data, lr=group["lr"],
                       momentum=group["momentum"], dampening=group["dampening"],
                       weight_decay=group["weight_decay"], nesterov=group["nesterov"], maximize=group["maximize"])
        if group["momentum"] and buf is None:
            state["momentum_buffer"] = _state_tensor(new, p)
            self.state[p] = state
