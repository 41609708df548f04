"""The transforms on small networks against torch.func: per-sample gradients of an MLP and a
CNN (vmap(grad) with functional_call), a network's Hessian, model ensembles."""
import numpy as np
import torch

import ember
import ember.nn.functional as ef
from ember.func import functional_call, grad, grad_and_value, hessian, jacrev, stack_module_state, vmap

from func.helpers import close, close_tree, cnn_pair, mlp_pair, pair

RNG = np.random.default_rng(0)


def _params(model):
    return {k: v.detach() for k, v in model.named_parameters()}


def test_per_sample_gradients_of_an_mlp():
    tm, em = mlp_pair()
    (ex, tx), (ey, ty) = pair(RNG.standard_normal((5, 6))), pair(RNG.integers(0, 3, 5))

    def e_loss(p, x, y):
        return ef.cross_entropy(functional_call(em, p, (x.unsqueeze(0),)), y.unsqueeze(0))

    def t_loss(p, x, y):
        return torch.nn.functional.cross_entropy(torch.func.functional_call(tm, p, (x.unsqueeze(0),)), y.unsqueeze(0))
    got = vmap(grad(e_loss), in_dims=(None, 0, 0))(_params(em), ex, ey)
    want = torch.func.vmap(torch.func.grad(t_loss), in_dims=(None, 0, 0))(_params(tm), tx, ty)
    close_tree(got, want, atol=1e-10, rtol=1e-9)
    # the per-sample gradients sum to the batch gradient
    total = grad(lambda p: sum(e_loss(p, ex[i], ey[i]) for i in range(5)))(_params(em))
    close_tree({k: v.sum(0) for k, v in got.items()}, {k: torch.tensor(v.numpy()) for k, v in total.items()},
               atol=1e-10, rtol=1e-9)


def test_per_sample_gradients_and_losses_of_a_cnn():
    tm, em = cnn_pair()
    (ex, tx), (ey, ty) = pair(RNG.standard_normal((4, 1, 8, 8))), pair(RNG.integers(0, 5, 4))

    def e_loss(p, x, y):
        return ef.cross_entropy(functional_call(em, p, (x.unsqueeze(0),)), y.unsqueeze(0))

    def t_loss(p, x, y):
        return torch.nn.functional.cross_entropy(torch.func.functional_call(tm, p, (x.unsqueeze(0),)), y.unsqueeze(0))
    got_g, got_v = vmap(grad_and_value(e_loss), in_dims=(None, 0, 0))(_params(em), ex, ey)
    want_g, want_v = torch.func.vmap(torch.func.grad_and_value(t_loss), in_dims=(None, 0, 0))(_params(tm), tx, ty)
    close_tree(got_g, want_g, atol=1e-10, rtol=1e-8)
    close(got_v, want_v, atol=1e-12, rtol=1e-10)


def test_hessian_of_a_small_network_wrt_its_input():
    tm, em = mlp_pair()
    ex, tx = pair(RNG.standard_normal(6))

    def e_f(x):
        return em(x).tanh().sum()

    def t_f(x):
        return tm(x).tanh().sum()
    want = torch.func.hessian(t_f)(tx)
    close(hessian(e_f)(ex), want, atol=1e-10, rtol=1e-8)
    close(jacrev(jacrev(e_f))(ex), want, atol=1e-10, rtol=1e-8)
    close(ember.autograd.functional.hessian(e_f, ex), want, atol=1e-10, rtol=1e-8)


def test_hessian_wrt_parameters_through_functional_call():
    tm, em = mlp_pair()
    ex, tx = pair(RNG.standard_normal((2, 6)))
    ep, tp = _params(em)["2.bias"], _params(tm)["2.bias"]
    got = hessian(lambda b: functional_call(em, {"2.bias": b}, (ex,)).exp().sum())(ep)
    want = torch.func.hessian(lambda b: torch.func.functional_call(tm, {"2.bias": b}, (tx,)).exp().sum())(tp)
    close(got, want, atol=1e-10, rtol=1e-8)


def test_an_ensemble_of_models_with_stack_module_state():
    pairs = [mlp_pair() for _ in range(3)]
    e_params, e_buffers = stack_module_state([e for _, e in pairs])
    t_params, t_buffers = torch.func.stack_module_state([t for t, _ in pairs])
    close_tree(e_params, t_params, atol=0, rtol=0)
    assert all(p.requires_grad and p.is_leaf for p in e_params.values())
    ex, tx = pair(RNG.standard_normal((4, 6)))
    base_e, base_t = pairs[0][1], pairs[0][0]
    got = vmap(lambda p, b: functional_call(base_e, (p, b), (ex,)))(e_params, e_buffers)
    want = torch.func.vmap(lambda p, b: torch.func.functional_call(base_t, (p, b), (tx,)))(t_params, t_buffers)
    close(got, want, atol=1e-12, rtol=1e-10)
