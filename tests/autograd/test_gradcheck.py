"""gradcheck/gradgradcheck accept correct gradients and reject wrong ones."""
import numpy as np
import pytest

import ember
from ember.autograd import GradcheckError, gradcheck, gradgradcheck


def _inputs(*shapes, seed=0):
    rng = np.random.default_rng(seed)
    return tuple(ember.tensor(rng.uniform(0.5, 1.5, s), requires_grad=True) for s in shapes)


def _cube(backward_factor=3.0, first_order_only=False):
    class Cube(ember.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a ** 3

        @staticmethod
        def backward(ctx, g):
            (a,) = ctx.saved_tensors
            if first_order_only:  # right values, but built from a detached a: no second derivative
                a = a.detach()
            return backward_factor * a ** 2 * g

    return Cube


@pytest.mark.parametrize("fn,shapes", [
    (lambda a, b: a * b.sin() + a.exp() / b, [(2, 3), (3,)]),
    (lambda a: (a @ a.t()).tanh(), [(2, 3)]),
    (lambda a: a[0] * a[1:].sum(), [(3,)]),
    (lambda a, b: (a.sqrt(), a * b), [(4,), (4,)]),
])
def test_correct_functions_pass(fn, shapes):
    inputs = _inputs(*shapes)
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


def test_correct_custom_function_passes():
    inputs = _inputs((3,))
    assert gradcheck(_cube().apply, inputs) and gradgradcheck(_cube().apply, inputs)


def test_wrong_backward_fails():
    inputs = _inputs((3,))
    with pytest.raises(GradcheckError, match="Jacobian mismatch for output 0 with respect to input 0"):
        gradcheck(_cube(backward_factor=2.5).apply, inputs)
    assert gradcheck(_cube(backward_factor=2.5).apply, inputs, raise_exception=False) is False


def test_wrong_second_derivative_fails_gradgradcheck_only():
    inputs = _inputs((3,))
    fn = _cube(first_order_only=True).apply
    assert gradcheck(fn, inputs)
    with pytest.raises(GradcheckError):
        gradgradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs, raise_exception=False) is False


def test_gradient_for_only_some_inputs_is_checked():
    a, b = _inputs((2,), (2,))
    b.requires_grad_(False)
    assert gradcheck(lambda x, y: x * y.exp(), (a, b))


def test_needs_an_input_requiring_grad():
    with pytest.raises(ValueError, match="at least one input tensor to require gradient"):
        gradcheck(lambda x: x * 2, (ember.ones(2, dtype=ember.float64),))


def test_float32_inputs_warn():
    x = ember.ones(2, requires_grad=True)
    with pytest.warns(UserWarning, match="not a double precision"):
        gradcheck(lambda t: t * 2, (x,), atol=1e-2, rtol=1e-2, eps=1e-3)


def test_gradgradcheck_when_an_input_is_unused():
    # the first gradient with respect to b is a constant zero: its Jacobian is zero, not an error
    x = ember.randn(3, dtype=ember.float64, requires_grad=True)
    y = ember.randn(3, dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradgradcheck(lambda a, b: a * a * 2, (x, y))
