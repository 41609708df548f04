"""ember.autograd.Function against torch.autograd.Function."""
import gc
import weakref

import pytest
import torch

import ember
from autograd_helpers import both, leaf, names


def _functions(lib):
    """The same custom Functions written against ``lib``."""
    F = lib.autograd.Function
    once = lib.autograd.function.once_differentiable

    class ScaledMul(F):
        @staticmethod
        def forward(ctx, a, k, b):
            ctx.k = k
            ctx.save_for_backward(a, b)
            return a * k * b

        @staticmethod
        def backward(ctx, g):
            a, b = ctx.saved_tensors
            return g * ctx.k * b, None, g * ctx.k * a

    class Exp(F):  # saves its output, setup_context style
        @staticmethod
        def forward(a):
            return a.exp()

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(output)

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return g * y

    class Cube(F):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a ** 3

        @staticmethod
        def backward(ctx, g):
            (a,) = ctx.saved_tensors
            return 3 * a ** 2 * g

    class OnceSquare(F):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a * a

        @staticmethod
        @once
        def backward(ctx, g):
            (a,) = ctx.saved_tensors
            return 2 * a * g

    class SplitMask(F):
        @staticmethod
        def forward(ctx, a):
            mask = a > 1
            ctx.mark_non_differentiable(mask)
            return a * 2, a * 3, mask

        @staticmethod
        def backward(ctx, g1, g2, gm):
            ctx.seen = (g1, g2)
            return g1 * 2 + (0 if g2 is None else g2 * 3)

    class SplitNoMaterialize(SplitMask):
        @staticmethod
        def forward(ctx, a):
            ctx.set_materialize_grads(False)
            return a * 2, a * 3, a > 1

    class DoubleInPlace(F):
        @staticmethod
        def forward(ctx, a):
            a.mul_(2)
            ctx.mark_dirty(a)
            return a

        @staticmethod
        def backward(ctx, g):
            return g * 2

    class Identity(F):
        @staticmethod
        def forward(ctx, a):
            return a

        @staticmethod
        def backward(ctx, g):
            return g * 5

    class NeedsGrad(F):
        @staticmethod
        def forward(ctx, a, b):
            ctx.seen = ctx.needs_input_grad
            return a + b

        @staticmethod
        def backward(ctx, g):
            return g, g

    return locals()


E, T = _functions(ember), _functions(torch)


def fns(lib):
    return E if lib is ember else T


def test_forward_backward_values_and_node():
    def run(lib):
        x, b = leaf(lib, [1.0, 2.0, 3.0]), leaf(lib, [2.0, -1.0, 0.5])
        o = fns(lib)["ScaledMul"].apply(x, 3, b)
        assert o.grad_fn.name() == "ScaledMulBackward"
        assert type(o.grad_fn).__name__ == "ScaledMulBackward"
        assert names(o.grad_fn) == ["AccumulateGrad", "AccumulateGrad"]
        assert o.requires_grad and not o.is_leaf
        o.sum().backward()
        return [o, x.grad, b.grad]
    both(run)


def test_constant_input_has_no_edge():
    def run(lib):
        x = leaf(lib, [1.0, 2.0])
        o = fns(lib)["ScaledMul"].apply(x, 2, lib.tensor([1.0, 1.0]))
        assert names(o.grad_fn) == ["AccumulateGrad", None]
        o.sum().backward()
        return [x.grad]
    both(run)


def test_needs_input_grad():
    for lib in (ember, torch):
        f = fns(lib)["NeedsGrad"]
        x = leaf(lib, [1.0])
        o = f.apply(x, lib.tensor([2.0]))
        assert o.grad_fn.seen == (True, False)


def test_setup_context_style_saves_output_and_double_backward():
    def run(lib):
        x = leaf(lib, [0.5, 1.0, -1.0])
        y = fns(lib)["Exp"].apply(x)
        assert y.grad_fn.name() == "ExpBackward"
        (g,) = lib.autograd.grad(y.sum(), x, create_graph=True)
        (gg,) = lib.autograd.grad(g.sum(), x)
        return [y, g, gg]
    both(run)


def test_saved_output_makes_no_reference_cycle():
    gc.collect()
    gc.disable()
    try:
        x = ember.tensor([1.0, 2.0], requires_grad=True)
        y = E["Exp"].apply(x)
        node = weakref.ref(y.grad_fn)
        out = weakref.ref(y)
        del y
        assert out() is None and node() is None
    finally:
        gc.enable()


def test_saved_tensors_freed_and_second_backward_raises():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    o = E["Cube"].apply(x).sum()
    o.backward(retain_graph=True)
    o.backward()
    assert x.grad.tolist() == [6.0, 24.0]
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        o.backward()


def test_saved_tensor_modified_in_place_raises():
    for lib in (ember, torch):
        x = leaf(lib, [1.0, 2.0])
        a = x * 1
        o = fns(lib)["Cube"].apply(a)
        a.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            o.sum().backward()


def test_higher_order_through_custom_function():
    def run(lib):
        x = leaf(lib, [1.5, -2.0], dtype="float64")
        y = fns(lib)["Cube"].apply(x).sum()
        (g,) = lib.autograd.grad(y, x, create_graph=True)
        (g2,) = lib.autograd.grad(g.sum(), x, create_graph=True)
        (g3,) = lib.autograd.grad(g2.sum(), x)
        return [g, g2, g3]
    both(run)


def test_once_differentiable():
    def run(lib):
        x = leaf(lib, [1.0, 2.0])
        (g,) = lib.autograd.grad(fns(lib)["OnceSquare"].apply(x).sum(), x, create_graph=True)
        assert not g.requires_grad  # the upstream ones do not require grad
        up = lib.ones(2, requires_grad=True)
        (g2,) = lib.autograd.grad(fns(lib)["OnceSquare"].apply(x), x, up, create_graph=True)
        assert g2.requires_grad
        with pytest.raises(RuntimeError, match="marked with @once_differentiable"):
            g2.sum().backward()
        return [g, g2]
    both(run)


@pytest.mark.parametrize("name", ["SplitMask", "SplitNoMaterialize"])
def test_multiple_outputs_non_differentiable_and_materialize(name):
    def run(lib):
        x = leaf(lib, [0.5, 2.0])
        a, b, mask = fns(lib)[name].apply(x)
        assert not mask.requires_grad and mask.grad_fn is None
        assert a.grad_fn is b.grad_fn and (a.output_nr, b.output_nr) == (0, 1)
        a.sum().backward()
        g1, g2 = a.grad_fn.seen
        return [a, b, mask, x.grad, g1, g2]
    both(run)


def test_mark_dirty():
    def run(lib):
        x = leaf(lib, [1.0, 2.0])
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            fns(lib)["DoubleInPlace"].apply(x)
        z = x * 1
        w = fns(lib)["DoubleInPlace"].apply(z)
        assert w is z and z.grad_fn.name() == "DoubleInPlaceBackward"
        (w * w).sum().backward()
        return [w, x.grad]
    both(run)


def test_returned_input_becomes_new_output():
    def run(lib):
        x = leaf(lib, [1.0, 2.0])
        o = fns(lib)["Identity"].apply(x)
        assert o is not x and x.is_leaf and o.grad_fn.name() == "IdentityBackward"
        o.sum().backward()
        return [o, x.grad]
    both(run)


def test_no_grad_and_no_inputs_requiring_grad_record_nothing():
    for lib in (ember, torch):
        x = leaf(lib, [1.0])
        with lib.no_grad():
            assert not fns(lib)["Cube"].apply(x).requires_grad
        assert fns(lib)["Cube"].apply(lib.tensor([1.0])).grad_fn is None


def _bad(lib, backward):
    class Bad(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a, k, b):
            return a * b * k

    Bad.backward = staticmethod(backward)
    return Bad


@pytest.mark.parametrize("backward,match", [
    (lambda ctx, g: g, r"function BadBackward returned an incorrect number of gradients \(expected 3, got 1\)"),
    (lambda ctx, g: (g, None, g, g), r"incorrect number of gradients \(expected 3, got 4\)"),
    (lambda ctx, g: (g, g, g), "returned a gradient different than None at position 2, but the corresponding "
                               "forward input was not a Variable"),
    (lambda ctx, g: (g[:1], None, g), r"Function BadBackward returned an invalid gradient at index 0 - got \[1\] "
                                      r"but expected shape compatible with \[3\]"),
])
def test_wrong_backward_errors(backward, match):
    for lib in (ember, torch):
        x, b = leaf(lib, [1.0, 2.0, 3.0]), leaf(lib, [1.0, 1.0, 1.0])
        out = _bad(lib, backward).apply(x, 2, b)
        with pytest.raises(RuntimeError, match=match):
            out.sum().backward()


def test_extra_none_gradients_are_allowed():
    def run(lib):
        x, b = leaf(lib, [1.0, 2.0]), leaf(lib, [3.0, 4.0])
        _bad(lib, lambda ctx, g: (g * 2, None, g, None)).apply(x, 2, b).sum().backward()
        return [x.grad, b.grad]
    both(run)


def test_legacy_call_raises():
    with pytest.raises(RuntimeError, match="Legacy autograd function"):
        E["Cube"]()(ember.ones(1))


def test_variable_is_a_thin_alias():
    t = ember.ones(2)
    v = ember.autograd.Variable(t, requires_grad=True)
    assert isinstance(v, ember.Tensor) and isinstance(t, ember.autograd.Variable)
    assert not isinstance(3.0, ember.autograd.Variable)
    assert v.requires_grad and v.is_leaf and not t.requires_grad
    assert v.data_ptr() == t.data_ptr()
    assert not ember.autograd.Variable(t).requires_grad


def test_node_hooks_on_custom_function():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    o = E["Cube"].apply(x)
    seen = []
    o.grad_fn.register_hook(lambda gi, go: seen.append((gi[0].tolist(), go[0].tolist())))
    o.sum().backward()
    assert seen == [([3.0, 12.0], [1.0, 1.0])]
