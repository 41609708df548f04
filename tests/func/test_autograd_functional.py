"""ember.autograd.functional against torch.autograd.functional: every function, tuple inputs and
outputs, vectorize and strategy, create_graph, strict and the errors."""
import numpy as np
import pytest
import torch
import torch.autograd.functional as tf

import ember
import ember.autograd.functional as ef

from func.helpers import close_tree, pair

RNG = np.random.default_rng(3)
(EX, TX), (EY, TY), (EV, TV) = (pair(RNG.standard_normal(3)), pair(RNG.standard_normal((3, 2))),
                                pair(RNG.standard_normal(3)))


def one(x):
    return x.sin() * x.sum()


def two(x, y):
    return (x[:, None] * y).tanh(), x.exp()


def scalar(x):
    return (x.sin() * x.sum()).sum()


def scalar2(x, y):
    return (x[:, None] * y).tanh().sum() * x.sum()


@pytest.mark.parametrize("vectorize, strategy", [(False, "reverse-mode"), (True, "reverse-mode"), (True, "forward-mode")])
def test_jacobian_and_hessian(vectorize, strategy):
    close_tree(ef.jacobian(one, EX, vectorize=vectorize, strategy=strategy),
               tf.jacobian(one, TX, vectorize=vectorize, strategy=strategy), atol=1e-12)
    close_tree(ef.jacobian(two, (EX, EY), vectorize=vectorize, strategy=strategy),
               tf.jacobian(two, (TX, TY), vectorize=vectorize, strategy=strategy), atol=1e-12)
    close_tree(ef.hessian(scalar, EX, vectorize=vectorize, outer_jacobian_strategy=strategy),
               tf.hessian(scalar, TX, vectorize=vectorize, outer_jacobian_strategy=strategy), atol=1e-12)
    close_tree(ef.hessian(scalar2, (EX, EY), vectorize=vectorize, outer_jacobian_strategy=strategy),
               tf.hessian(scalar2, (TX, TY), vectorize=vectorize, outer_jacobian_strategy=strategy), atol=1e-12)


def test_vector_products():
    close_tree(ef.vjp(one, EX, EV), tf.vjp(one, TX, TV), atol=1e-12)
    close_tree(ef.jvp(one, EX, EV), tf.jvp(one, TX, TV), atol=1e-12)
    close_tree(ef.hvp(scalar, EX, EV), tf.hvp(scalar, TX, TV), atol=1e-12)
    close_tree(ef.vhp(scalar, EX, EV), tf.vhp(scalar, TX, TV), atol=1e-12)
    close_tree(ef.vjp(two, (EX, EY), (EY, EV)), tf.vjp(two, (TX, TY), (TY, TV)), atol=1e-12)
    close_tree(ef.vjp(scalar, EX), tf.vjp(scalar, TX), atol=1e-12)  # v may be None for a scalar output


def test_create_graph_gives_differentiable_results():
    x = EX.clone().requires_grad_()
    _, j = ef.jvp(one, x, EV, create_graph=True)
    assert j.requires_grad
    _, j_plain = ef.jvp(one, x, EV)
    assert not j_plain.requires_grad
    (g,) = ember.autograd.grad(j.sum(), x)
    tx = TX.clone().requires_grad_()
    (tg,) = torch.autograd.grad(tf.jvp(one, tx, TV, create_graph=True)[1].sum(), tx)
    close_tree(g, tg, atol=1e-12)


@pytest.mark.parametrize("call, error, message", [
    (lambda: ef.jacobian(one, EX, strategy="forward-mode"), NotImplementedError, "only implemented for `vectorize=True`"),
    (lambda: ef.jacobian(one, EX, strategy="foo"), AssertionError, "Expected strategy to be either"),
    (lambda: ef.jacobian(lambda a: ember.ones(3), EX, strict=True), RuntimeError, "does not require gradients"),
    (lambda: ef.jacobian(one, EX, strict=True, vectorize=True), RuntimeError, "are not supported together"),
    (lambda: ef.vjp(one, EX), RuntimeError, "The vector v can only be None if the user-provided function returns"),
    (lambda: ef.vjp(one, EX, ember.ones(2, dtype=ember.float64)), RuntimeError, "v has invalid size"),
    (lambda: ef.jacobian(lambda a: 5, EX), TypeError, "must be either a Tensor or a tuple of Tensors"),
    (lambda: ef.jacobian(one, 3), TypeError, "The inputs given to jacobian must be either a Tensor or a tuple"),
    (lambda: ef.hessian(lambda a: a, EX), RuntimeError, "should contain a single element"),
    (lambda: ef.hvp(lambda a: a.sum(), EX, EV, strict=True), RuntimeError, "independent of input 0"),
])
def test_errors_as_torch(call, error, message):
    with pytest.raises(error, match=message):
        call()
