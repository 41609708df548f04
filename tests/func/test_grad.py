"""grad, grad_and_value, vjp, jvp, jacrev, jacfwd, hessian, linearize against torch.func, and
their nestings (vmap of grad, grad of grad, forward over reverse, jvp vs jacrev)."""
import numpy as np
import pytest
import torch

import ember
from ember.func import grad, grad_and_value, hessian, jacfwd, jacrev, jvp, linearize, vjp, vmap

from func.helpers import close, close_tree, pair

RNG = np.random.default_rng(2)


def f_pair():
    def f(x, y):
        return (x.sin() * (y.T @ (y @ x))).sum() + (x * x).sum().sqrt()
    return f


def test_grad_argnums_and_has_aux():
    (ex, tx), (ey, ty) = pair(RNG.standard_normal(4)), pair(RNG.standard_normal((3, 4)))
    f = f_pair()
    for argnums in (0, 1, (0, 1), -1):
        close_tree(grad(f, argnums=argnums)(ex, ey), torch.func.grad(f, argnums=argnums)(tx, ty), atol=1e-12)

    def aux(x, y):
        return f(x, y), {"norm": x.norm()}
    close_tree(grad(aux, has_aux=True)(ex, ey), torch.func.grad(aux, has_aux=True)(tx, ty), atol=1e-12)
    close_tree(grad_and_value(aux, argnums=(0, 1), has_aux=True)(ex, ey),
               torch.func.grad_and_value(aux, argnums=(0, 1), has_aux=True)(tx, ty), atol=1e-12)


def test_grad_of_a_dict_of_parameters():
    (ew, tw), (ex, tx) = pair(RNG.standard_normal((3, 4))), pair(RNG.standard_normal(4))

    def loss(p, x):
        return ((p["w"] @ x + p["b"]).tanh() ** 2).sum()
    close_tree(grad(loss)({"w": ew, "b": ew[:, 0]}, ex), torch.func.grad(loss)({"w": tw, "b": tw[:, 0]}, tx), atol=1e-12)


def test_grad_of_grad_and_vmap_of_grad():
    ex, tx = pair(RNG.standard_normal(5))

    def f(x):
        return x.exp().mul(x.sin()).sum()
    close(grad(lambda x: grad(f)(x).sum())(ex), torch.func.grad(lambda x: torch.func.grad(f)(x).sum())(tx), atol=1e-12)

    def g(x):
        return (x[0] ** 3 * x[1]).sin()
    ez, tz = pair(RNG.standard_normal((6, 2)))
    close(vmap(grad(lambda x: grad(g)(x).sum()))(ez),
          torch.func.vmap(torch.func.grad(lambda x: torch.func.grad(g)(x).sum()))(tz), atol=1e-12)
    # grad of a function that runs vmap inside
    close(grad(lambda x: vmap(g)(x.reshape(3, 2)).sum())(ez[:3].reshape(-1)),
          torch.func.grad(lambda x: torch.func.vmap(g)(x.reshape(3, 2)).sum())(tz[:3].reshape(-1)), atol=1e-12)


def test_vmap_of_grad_with_a_closed_over_batched_tensor():
    (ew, tw), (ex, tx) = pair(RNG.standard_normal(3)), pair(RNG.standard_normal((4, 3)))
    got = vmap(lambda xi: grad(lambda w: (w * xi).sum().sin())(ew))(ex)
    close(got, torch.func.vmap(lambda xi: torch.func.grad(lambda w: (w * xi).sum().sin())(tw))(tx), atol=1e-12)


def test_vjp_with_pytree_outputs_and_batched_cotangents():
    ex, tx = pair(RNG.standard_normal(4))

    def f(x):
        return {"a": x.sin(), "b": (x[:2] * x[2:]).cumsum(0)}
    (eo, efn), (to, tfn) = vjp(f, ex), torch.func.vjp(f, tx)
    close_tree(eo, to)
    (ca, ta), (cb, tb) = pair(RNG.standard_normal(4)), pair(RNG.standard_normal(2))
    close_tree(efn({"a": ca, "b": cb}), tfn({"a": ta, "b": tb}), atol=1e-12)
    (cas, tas), (cbs, tbs) = pair(RNG.standard_normal((3, 4))), pair(RNG.standard_normal((3, 2)))
    close_tree(vmap(lambda a, b: efn({"a": a, "b": b}))(cas, cbs),
               torch.func.vmap(lambda a, b: tfn({"a": a, "b": b}))(tas, tbs), atol=1e-12)
    with pytest.raises(RuntimeError, match="same as pytree structure of outputs"):
        efn(ca)


def test_jvp_agrees_with_jacrev_and_torch():
    (ex, tx), (ev, tv) = pair(RNG.standard_normal(5)), pair(RNG.standard_normal(5))
    ew, tw = pair(RNG.standard_normal((4, 5)))

    def f(x):
        return (x.softmax(0) * x).cumsum(0)[1:] @ x[:4].tanh() + x.norm()
    out, tangent = jvp(f, (ex,), (ev,))
    close_tree((out, tangent), torch.func.jvp(f, (tx,), (tv,)), atol=1e-12)
    close(tangent, jacrev(f)(ex) @ ev, atol=1e-12)
    close(jacfwd(lambda x: (ew @ x).sigmoid())(ex), jacrev(lambda x: (ew @ x).sigmoid())(ex), atol=1e-12)
    close(vmap(lambda x, v: jvp(f, (x,), (v,))[1])(ex.reshape(1, 5), ev.reshape(1, 5))[0], tangent, atol=1e-12)


def test_jacobians_with_argnums_has_aux_and_chunks():
    (ex, tx), (ey, ty) = pair(RNG.standard_normal(3)), pair(RNG.standard_normal((2, 3)))

    def f(x, y):
        return (y @ x).exp(), (x * y).sum(0)
    for tr, ttr in ((jacrev, torch.func.jacrev), (jacfwd, torch.func.jacfwd)):
        close_tree(tr(f, argnums=(0, 1))(ex, ey), ttr(f, argnums=(0, 1))(tx, ty), atol=1e-12)
        close_tree(tr(lambda x, y: (f(x, y)[0], x), argnums=1, has_aux=True)(ex, ey),
                   ttr(lambda x, y: (f(x, y)[0], x), argnums=1, has_aux=True)(tx, ty), atol=1e-12)
    close_tree(jacrev(f, chunk_size=2)(ex, ey), torch.func.jacrev(f)(tx, ty), atol=1e-12)


def test_hessian_and_linearize():
    ex, tx = pair(RNG.standard_normal(4))

    def f(x):
        return (x.sin() * x.sum()).sum() * x.exp().mean()
    close(hessian(f)(ex), torch.func.hessian(f)(tx), atol=1e-10)
    close(vmap(hessian(f))(ex.reshape(2, 2).repeat(1, 2)), torch.func.vmap(torch.func.hessian(f))(tx.reshape(2, 2).repeat(1, 2)),
          atol=1e-10)
    out, fn = linearize(lambda x: x.sin() * x, ex)
    ev, tv = pair(RNG.standard_normal(4))
    close(fn(ev), torch.func.linearize(lambda x: x.sin() * x, tx)[1](tv), atol=1e-12)


@pytest.mark.parametrize("call, error, message", [
    (lambda: grad(lambda x: x)(ember.ones(3)), RuntimeError,
     "Expected f\\(\\*args\\) to return a scalar Tensor, got tensor with 1 dims"),
    (lambda: grad(lambda x: x.sum())(ember.tensor([1, 2])), RuntimeError,
     "only Tensors of floating point dtype can require gradients"),
    (lambda: grad(lambda x: x.sum(), argnums=3)(ember.ones(3)), RuntimeError, "Got argnum=3, but only 1 positional inputs"),
    (lambda: grad(lambda x: x.sum(), has_aux=True)(ember.ones(3)), RuntimeError, "output of function f should be a tuple"),
    (lambda: jvp(ember.sin, ember.ones(3), (ember.ones(3),)), RuntimeError, "Expected primals and tangents to be tuples"),
    (lambda: jvp(ember.sin, (ember.ones(3),), (ember.ones(2),)), RuntimeError, "same shape"),
])
def test_errors_as_torch(call, error, message):
    with pytest.raises(error, match=message):
        call()
