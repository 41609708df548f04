"""SparseAdam: Adam's moments and step applied only at the rows a sparse gradient names."""
import math

from ember.optim.adam import _check_adam_args
from ember.optim.optimizer import Optimizer, _fresh_state


def sparse_adam_step(param, grad, exp_avg, exp_avg_sq, step, *, lr, beta1, beta2, eps, maximize):
    """One SparseAdam step on arrays with a sparse COO ``grad`` (a CooArray): the moments and the
    parameter change only at its (coalesced) positions."""
    grad = (-grad if maximize else grad).coalesce()
    values = grad.values
    if values.size == 0:
        return
    old_avg = grad.mask_dense(exp_avg).values
    avg_update = (values - old_avg) * (1 - beta1)
    grad.add_into(exp_avg, avg_update)
    old_sq = grad.mask_dense(exp_avg_sq).values
    sq_update = (values * values - old_sq) * (1 - beta2)
    grad.add_into(exp_avg_sq, sq_update)
    numer = avg_update + old_avg
    denom = values.dtype.type(eps) + (sq_update + old_sq) ** 0.5
    step_size = lr * math.sqrt(1 - beta2 ** step) / (1 - beta1 ** step)
    grad.add_into(param, -step_size * (numer / denom))


class SparseAdam(Optimizer):
    """Adam for sparse gradients (``nn.Embedding(sparse=True)``): rows absent from a step's gradient keep
    their moments and values, unlike Adam's. Dense gradients raise PyTorch's error.

    >>> import ember
    >>> emb = ember.nn.Embedding(4, 2, sparse=True)
    >>> opt = ember.optim.SparseAdam(emb.parameters(), lr=0.1)
    >>> before = emb.weight.detach().clone()
    >>> emb(ember.tensor([1])).sum().backward(); _ = opt.step()
    >>> bool((emb.weight[0] == before[0]).all()), bool((emb.weight[1] != before[1]).all())
    (True, True)
    """

    _sparse_grads = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, maximize=False):
        if not 0.0 < lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        _check_adam_args(lr, betas, eps, 0)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, maximize=maximize))
        sparse = [[i, j] for i, g in enumerate(self.param_groups) for j, p in enumerate(g["params"]) if p.is_sparse]
        if sparse:
            raise ValueError(f"Sparse params at indices {sparse}: SparseAdam requires dense parameter tensors")
        complex_ = [[i, j] for i, g in enumerate(self.param_groups) for j, p in enumerate(g["params"])
                    if p.is_complex()]
        if complex_:
            raise ValueError(f"Complex params at indices {complex_}: SparseAdam does not support complex parameters")

    def _check_grad(self, p, group):
        if not p.grad.is_sparse:
            raise RuntimeError("SparseAdam does not support dense gradients, please consider Adam instead")

    def _init_state(self, p, group):
        state = _fresh_state(p, ("exp_avg", "exp_avg_sq"))
        state["step"] = 0  # a Python int, as PyTorch keeps it here
        return state

    def _update(self, p, state, group):
        state["step"] += 1
        beta1, beta2 = group["betas"]
        sparse_adam_step(p._data, p.grad._data, state["exp_avg"]._data, state["exp_avg_sq"]._data, state["step"],
                         lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"], maximize=group["maximize"])
