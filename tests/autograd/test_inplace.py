"""In-place ops under autograd: version counters, saved-tensor checks, leaves,
non-leaf updates and in-place updates of views (CopySlices), against torch."""
import numpy as np
import pytest
import torch

import ember
from autograd_helpers import both, leaf


def _version(t):
    return t._version if isinstance(t, torch.Tensor) else t._version_value


def test_version_counter_shared_with_views():
    for lib in (ember, torch):
        x = lib.zeros(3, 4)
        v, d = x[1], x.detach()
        w = x.view(12)
        v.add_(1)
        assert _version(x) == _version(v) == _version(d) == _version(w) == 1
        w.mul_(2)
        assert _version(x) == 2
        assert x.clone()._version_value == 0 if lib is ember else x.clone()._version == 0


def test_modified_saved_tensor_raises_at_backward():
    for lib in (ember, torch):
        x = leaf(lib, [1.0, 2.0])
        y = x * 1
        z = y.exp()  # saves its output
        z.add_(1)
        with pytest.raises(RuntimeError, match="one of the variables needed for gradient computation has been "
                                               "modified by an inplace operation"):
            z.sum().backward()


def test_modified_saved_input_raises_at_backward():
    for lib in (ember, torch):
        x = leaf(lib, [1.0, 2.0])
        y = x * 1
        z = y.sin()  # saves its input
        y.mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            z.sum().backward()


def test_modified_view_of_saved_tensor_raises():
    for lib in (ember, torch):
        x = leaf(lib, [1.0, 2.0])
        y = x * 1
        z = y.sin()
        with lib.no_grad():
            y[0] = 5.0
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            z.sum().backward()


def test_in_place_on_leaf_requiring_grad():
    for lib in (ember, torch):
        x = leaf(lib, [1.0, 2.0])
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place "
                                               "operation"):
            x.add_(1)
        with lib.no_grad():
            x.add_(1)
            x.mul_(2)
        assert x.tolist() == [4.0, 6.0] and x.is_leaf and x.requires_grad
        (x * x).sum().backward()
        assert x.grad.tolist() == [8.0, 12.0]


@pytest.mark.parametrize("steps", [
    lambda lib, y, z: [y.add_(1), y.exp_()],
    lambda lib, y, z: [y.mul_(z), y.sin_()],
    lambda lib, y, z: [y.div_(z), y.sub_(z, alpha=2), y.pow_(2)],
    lambda lib, y, z: [y.mul_(z), y.tanh_()],
    lambda lib, y, z: [y.add_(z.exp()), y.sigmoid_()],
])
def test_in_place_on_non_leaf_gradients(steps):
    def run(lib):
        x, z = leaf(lib, [0.5, -1.0, 2.0]), leaf(lib, [1.5, 2.0, -0.5])
        y = x * 2
        steps(lib, y, z)
        (y * y).sum().backward()
        return [y, x.grad, z.grad]
    both(run)


def test_mul_in_place_needing_old_value():
    def run(lib):
        x, w = leaf(lib, [0.5, -1.0, 2.0]), leaf(lib, [3.0, 0.25, -1.0])
        y = x + 0
        y.mul_(w)  # the derivative w.r.t. w needs y's old value
        y.mul_(3)
        y.sum().backward()
        return [y, x.grad, w.grad]
    both(run)


def test_in_place_with_itself_as_saved_operand_raises():
    for lib in (ember, torch):
        y = leaf(lib, [0.5, 2.0]) * 1
        y.mul_(y)  # torch saves the operand, which the write then changes
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


def test_in_place_result_of_no_grad_tensor_with_grad_operand():
    def run(lib):
        a = lib.tensor([1.0, 2.0, 3.0])
        w = leaf(lib, [2.0, 0.5, -1.0])
        a.mul_(w)
        assert a.requires_grad and not a.is_leaf
        (a * a).sum().backward()
        return [a, w.grad]
    both(run)


def test_setitem_on_non_leaf():
    def run(lib):
        x, v = leaf(lib, np.arange(6.0).reshape(2, 3)), leaf(lib, [10.0, 20.0, 30.0])
        y = x * 2
        y[0] = v
        y[1, 1:] = v[:2] * 3
        (y * y).sum().backward()
        return [y, x.grad, v.grad]
    both(run)


def test_in_place_node_names():
    for lib in (ember, torch):
        y = leaf(lib, [1.0]) * 2
        y.add_(1)
        assert y.grad_fn.name() == "AddBackward0"
        y.exp_()
        assert y.grad_fn.name() == "ExpBackward0"


# in-place ops on views of tensors with history (CopySlices) -----------------------------

VIEW_CASES = {
    "row_mul": lambda lib, y, z: y[0].mul_(2),
    "column_add": lambda lib, y, z: y[:, 1].add_(z[:, 0]),
    "column_iadd": lambda lib, y, z: y[:, 1].__iadd__(z[:, 0]),
    "both": lambda lib, y, z: [y[0].mul_(2), y[:, 1].add_(z[:, 0])],
    "exp_of_slice": lambda lib, y, z: y[1:, ::2].exp_(),
    "view_then_reshape": lambda lib, y, z: y.view(-1)[2:5].mul_(z.view(-1)[:3]),
    "transposed": lambda lib, y, z: y.t()[1].sin_(),
    "setitem_of_view": lambda lib, y, z: y[1].__setitem__(slice(0, 2), z[0, :2] * 5),
    "nested_views": lambda lib, y, z: y[1:][0][1:].mul_(z[0, :3]),
}


@pytest.mark.parametrize("case", VIEW_CASES)
def test_in_place_on_view_of_non_leaf(case):
    def run(lib):
        x = leaf(lib, np.linspace(-1, 1, 12).reshape(3, 4))
        z = leaf(lib, np.linspace(0.5, 2, 12).reshape(3, 4))
        y = x.clone()
        VIEW_CASES[case](lib, y, z)
        (y * y * 1.5).sum().backward()
        return [y, x.grad, z.grad]
    both(run)


def test_view_of_leaf_requiring_grad_cannot_change_in_place():
    for lib in (ember, torch):
        x = leaf(lib, [1.0, 2.0])
        with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad is being used in an "
                                               "in-place operation"):
            x[0].mul_(2)


def test_view_used_after_base_changed_in_place():
    def run(lib):
        x = leaf(lib, [1.0, 2.0, 3.0, 4.0])
        y = x * 1
        v = y[1:3]
        y.mul_(3)  # v now sees the new values and must backprop through the multiplication
        (v * v).sum().backward()
        return [v, x.grad]
    both(run)


def test_base_used_after_view_changed_in_place():
    def run(lib):
        x, w = leaf(lib, [1.0, 2.0, 3.0, 4.0]), leaf(lib, [5.0])
        y = x * 2
        v = y[::2]
        v.mul_(w)
        out = (y * y).sum() + v.sum()
        out.backward()
        return [y, x.grad, w.grad]
    both(run)


def test_view_of_no_grad_tensor_gets_history():
    def run(lib):
        base = lib.zeros(2, 3)
        w = leaf(lib, [1.0, 2.0, 3.0])
        base[1].add_(w)
        assert base.requires_grad
        (base * base).sum().backward()
        return [base, w.grad]
    both(run)


def test_view_node_name_after_in_place():
    for lib in (ember, torch):
        y = leaf(lib, [[1.0, 2.0], [3.0, 4.0]]) * 1
        v = y[0]
        v.mul_(2)
        assert y.grad_fn.name().split("::")[-1] == "CopySlices"
        assert v.grad_fn.name() in ("AsStridedBackward0", "SelectBackward0", "MulBackward0")


def test_copy_slices_gradcheck_and_gradgradcheck():
    def f(x, z):
        y = x.clone()
        y[0].mul_(z[0])
        y[:, 1].add_(z[:, 0].sin())
        y.t()[2].exp_()
        return y * y

    x = ember.tensor(np.linspace(-1, 1, 12).reshape(3, 4), requires_grad=True)
    z = ember.tensor(np.linspace(0.5, 2, 12).reshape(3, 4), requires_grad=True)
    assert ember.autograd.gradcheck(f, (x, z))
    assert ember.autograd.gradgradcheck(f, (x, z))


def test_in_place_on_view_of_non_contiguous_base():
    def run(lib):
        x = leaf(lib, np.linspace(-1, 1, 12).reshape(3, 4))
        y = (x * 2).t()  # the view's base is the transposed result's base
        y[1:3, ::2].mul_(3)
        (y * y).sum().backward()
        return [y, x.grad]
    both(run)


@pytest.mark.parametrize("make_base", [
    lambda a: a, lambda a: a.T, lambda a: a[::-1, 1::2], lambda a: a.T[::2, ::-1],
])
@pytest.mark.parametrize("make_view", [
    lambda b: b[1], lambda b: b[:, 1:], lambda b: b.T[::-1], lambda b: b[1:, ::2].T,
])
def test_flat_index_locates_any_view(make_base, make_view):
    from ember.ops.inplace import flat_index
    base = make_base(np.arange(48.0).reshape(6, 8))
    view = make_view(base)
    logical = np.arange(base.size).reshape(base.shape)
    np.testing.assert_array_equal(flat_index(np, base, view), make_view(logical))
