"""The backward engine: backward()/autograd.grad arguments, graph attributes and errors, against torch."""
import numpy as np
import pytest
import torch

import ember
from autograd_helpers import both, leaf, names


def test_backward_with_gradient_argument():
    def run(lib):
        x = leaf(lib, [[1.0, -2.0], [3.0, 0.5]])
        y = x.exp() * 2
        y.backward(gradient=lib.tensor([[1.0, 0.5], [-1.0, 2.0]]))
        return [x.grad]
    both(run)


def test_gradients_accumulate_across_calls():
    def run(lib):
        x = leaf(lib, [1.0, 2.0, 3.0])
        (x * x).sum().backward()
        (x.sin()).sum().backward()
        (3 * x).sum().backward()
        return [x.grad]
    both(run)


def test_shared_subexpression_and_diamond():
    def run(lib):
        x = leaf(lib, [0.3, -1.2])
        a = x.exp()
        b = a * x + a.sin() * a
        c = (b * b + a).sum()
        c.backward()
        return [c, x.grad]
    both(run)


def test_backward_twice_needs_retain_graph():
    for lib in (ember, torch):
        x = leaf(lib, [1.0, 2.0])
        y = x.exp().sum()
        y.backward(retain_graph=True)
        y.backward()
        assert x.grad.tolist() == pytest.approx((2 * np.exp([1.0, 2.0])).tolist())
        with pytest.raises(RuntimeError, match=r"Trying to backward through the graph a second time .*"
                                               r"Specify retain_graph=True"):
            y.backward()


def test_backward_twice_without_saved_tensors_is_fine():
    def run(lib):
        x = leaf(lib, [1.0, 2.0])
        y = (x + 1).sum()
        y.backward()
        y.backward()
        return [x.grad]
    both(run)


def test_implicit_grad_needs_scalar():
    for lib in (ember, torch):
        x = leaf(lib, [1.0, 2.0])
        y = x * 2
        with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
            y.backward()
        with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
            lib.autograd.grad(y, x)


def test_one_element_non_scalar_output_is_implicit():
    def run(lib):
        x = leaf(lib, [[2.0]])
        (x * 3).backward()
        return [x.grad]
    both(run)


def test_backward_of_tensor_without_grad_raises():
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad and does not have a "
                                               "grad_fn"):
            lib.ones(2).sum().backward()


def test_gradient_shape_mismatch():
    for lib in (ember, torch):
        y = leaf(lib, [1.0, 2.0]) * 2
        with pytest.raises(RuntimeError, match=r"Mismatch in shape: grad_output\[0\] has a shape of"):
            y.backward(lib.ones(3))


def test_backward_inputs_restricts_accumulation():
    def run(lib):
        x, w = leaf(lib, [1.0, 2.0]), leaf(lib, [0.5, -1.0])
        h = x * w
        h.retain_grad()
        y = (h * h).sum()
        y.backward(inputs=[w], retain_graph=True)
        assert x.grad is None
        first = h.grad.clone()  # retain_grad hooks run on the way, as in torch
        y.backward(inputs=[h, x], retain_graph=True)
        lib.autograd.grad(y, [x])
        return [first, w.grad, x.grad, h.grad]
    both(run)


def test_backward_inputs_empty_raises():
    for lib in (ember, torch):
        y = (leaf(lib, [1.0]) * 2).sum()
        with pytest.raises(RuntimeError, match="`inputs` argument to `backward\\(\\)` cannot be empty"):
            y.backward(inputs=[])
        with pytest.raises(RuntimeError, match="`inputs` argument to `grad\\(\\)` cannot be empty"):
            lib.autograd.grad(y, [])


def test_grad_with_grad_outputs_multiple_outputs():
    def run(lib):
        x, y = leaf(lib, [1.0, 2.0]), leaf(lib, [0.5, 3.0])
        a, b = x * y, x.exp()
        return list(lib.autograd.grad([a, b], [x, y], grad_outputs=[lib.tensor([1.0, -1.0]), lib.tensor([2.0, 0.5])]))
    both(run)


def test_grad_does_not_touch_dot_grad():
    for lib in (ember, torch):
        x = leaf(lib, [1.0, 2.0])
        (g,) = lib.autograd.grad((x * x).sum(), x)
        assert x.grad is None and not g.requires_grad and g.grad_fn is None


def test_grad_allow_unused_and_materialize():
    def run(lib):
        x, z = leaf(lib, [1.0, 2.0]), leaf(lib, [3.0])
        y = (x * 2).sum()
        with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
            lib.autograd.grad(y, [x, z], retain_graph=True)
        gx, gz = lib.autograd.grad(y, [x, z], allow_unused=True, retain_graph=True)
        assert gz is None
        mx, mz = lib.autograd.grad(y, [x, z], materialize_grads=True)
        return [gx, mx, mz]
    both(run)


def test_grad_input_without_requires_grad():
    for lib in (ember, torch):
        x = leaf(lib, [1.0])
        with pytest.raises(RuntimeError, match="One of the differentiated Tensors does not require grad"):
            lib.autograd.grad((x * 2).sum(), lib.ones(1))


def test_grad_with_respect_to_intermediate():
    def run(lib):
        x = leaf(lib, [0.5, 1.5])
        h = x.sin()
        y = (h * h * x).sum()
        return list(lib.autograd.grad(y, [h, x]))
    both(run)


@pytest.mark.parametrize("fn", [lambda x: x ** 3, lambda x: x.sin(), lambda x: x.exp() * x.cos()])
def test_second_and_third_derivatives(fn):
    def run(lib):
        x = leaf(lib, [0.3, -1.1, 2.0], dtype=np.float64)
        (g1,) = lib.autograd.grad(fn(x).sum(), x, create_graph=True)
        (g2,) = lib.autograd.grad(g1.sum(), x, create_graph=True)
        (g3,) = lib.autograd.grad(g2.sum(), x)
        return [g1, g2, g3]
    both(run)


def test_hessian_vector_product():
    def run(lib):
        x = leaf(lib, [0.5, -1.0, 2.0], dtype=np.float64)
        v = lib.tensor([1.0, 0.5, -2.0], dtype=lib.float64)
        f = (x[0] * x[1] * x[2] + (x * x).sum() * x.sin().sum())
        (g,) = lib.autograd.grad(f, x, create_graph=True)
        (hv,) = lib.autograd.grad((g * v).sum(), x)
        return [g, hv]
    both(run)


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
def test_backward_create_graph_then_backward_of_grad():
    def run(lib):
        x = leaf(lib, [1.0, 2.0], dtype=np.float64)
        (x ** 3).sum().backward(create_graph=True)
        g = x.grad
        assert g.requires_grad
        x.grad = None
        g.sum().backward()
        return [g, x.grad]
    both(run)


def test_graph_attributes():
    for lib in (ember, torch):
        x = leaf(lib, [1.0, 2.0])
        c = lib.tensor([3.0, 4.0])
        assert x.is_leaf and x.requires_grad and x.grad_fn is None
        assert c.is_leaf and not c.requires_grad
        y = x * c
        assert not y.is_leaf and y.requires_grad and y.grad_fn.name() == "MulBackward0"
        assert names(y.grad_fn) == ["AccumulateGrad", None]
        assert y.grad_fn.next_functions[1] == (None, 0)
        acc = y.grad_fn.next_functions[0][0]
        assert acc.variable is x and acc.next_functions == ()
        z = (y + x).sum()
        assert names(z.grad_fn) == ["AddBackward0"]
        assert names(z.grad_fn.next_functions[0][0]) == ["MulBackward0", "AccumulateGrad"]
        assert z.grad_fn.next_functions[0][0].next_functions[1][0] is acc  # one accumulator per leaf
        assert not (c * 2).requires_grad and (c * 2).grad_fn is None


def test_int_outputs_do_not_require_grad():
    for lib in (ember, torch):
        x = leaf(lib, [1.5, -2.0])
        assert not (x > 0).requires_grad
        assert not x.argmax().requires_grad if hasattr(lib.Tensor, "argmax") else True


def test_non_leaf_grad_is_none_unless_retained():
    def run(lib):
        x = leaf(lib, [1.0, 2.0])
        h = x * 3
        k = x * 4
        k.retain_grad()
        assert k.retains_grad and not h.retains_grad
        (h * k).sum().backward()
        with pytest.warns(UserWarning) if lib is torch else _nothing():
            assert h.grad is None
        return [k.grad, x.grad]
    both(run)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_retain_grad_accumulates():
    def run(lib):
        x = leaf(lib, [1.0, 2.0])
        h = x * 3
        h.retain_grad()
        y = (h * h).sum()
        y.backward(retain_graph=True)
        y.backward()
        return [h.grad, x.grad]
    both(run)


def test_requires_grad_errors():
    for lib in (ember, torch):
        y = leaf(lib, [1.0]) * 2
        with pytest.raises(RuntimeError, match="you can only change requires_grad flags of leaf variables"):
            y.requires_grad_(False)
        y.requires_grad_(True)  # allowed: already requires grad
        with pytest.raises(RuntimeError, match="[oO]nly Tensors of floating point .*can require gradients"):
            lib.tensor([1, 2]).requires_grad_()
        with pytest.raises(RuntimeError, match="[oO]nly Tensors of floating point .*can require gradients"):
            lib.tensor([1, 2], requires_grad=True)


def test_detach_and_detach_():
    def run(lib):
        x = leaf(lib, [1.0, 2.0])
        y = x * 2
        d = y.detach()
        assert d.is_leaf and not d.requires_grad and d.grad_fn is None
        d[0] = 10.0  # shares memory (and version) with y
        assert y._version > 0 if lib is torch else y._version_value > 0
        z = x * 3
        z.detach_()
        assert z.is_leaf and not z.requires_grad
        w = (x * y.detach()).sum()
        w.backward()
        return [y, d, z, x.grad]
    both(run)


def test_data_attribute_bypasses_autograd():
    def run(lib):
        x = leaf(lib, [1.0, 2.0])
        x.data.mul_(3)
        (x * x).sum().backward()
        return [x, x.grad]
    both(run)


def test_leaf_grad_assignment_and_zeroing():
    def run(lib):
        x = leaf(lib, [1.0, 2.0])
        x.grad = lib.tensor([10.0, 10.0])
        (x * 2).sum().backward()
        first = x.grad.clone()
        x.grad.mul_(0)
        (x * 5).sum().backward()
        return [first, x.grad]
    both(run)


def test_large_chain_does_not_hit_recursion_limit():
    def run(lib):
        x = leaf(lib, [1.0])
        y = x
        for _ in range(5000):
            y = y * 1.0001
        y.backward()
        return [x.grad]
    both(run, rtol=1e-3)


def test_broadcast_gradients_are_reduced():
    def run(lib):
        a, b = leaf(lib, np.ones((3, 1)) * 2), leaf(lib, [1.0, 2.0, 3.0, 4.0])
        c = leaf(lib, 1.5)
        ((a * b + c) ** 2).sum().backward()
        return [a.grad, b.grad, c.grad]
    both(run)


def test_float64_and_mixed_dtype_gradients():
    def run(lib):
        a = leaf(lib, [1.0, 2.0], dtype=np.float64)
        b = leaf(lib, [3.0, 4.0])
        (a * b).sum().backward()
        assert a.grad.dtype == lib.float64 and b.grad.dtype == lib.float32
        return [a.grad, b.grad]
    both(run)


def test_empty_tensor_backward():
    def run(lib):
        x = leaf(lib, np.zeros((0, 3)))
        (x * 2).sum().backward()
        return [x.grad]
    both(run)
