"""ember.library.custom_op: a user function as an op that behaves like a built-in one (namespace access,
schema inference and errors as torch's, autograd via register_autograd, meta via register_fake)."""
import numpy as np
import pytest
import torch

import ember
from ember import Tensor
from ember.library import custom_op, infer_schema


def _sigmoid_swish(x, beta):
    return x * ember.sigmoid(beta * x)


@pytest.fixture
def swish():
    @custom_op("emtest::swish", mutates_args=())
    def op(x: Tensor, beta: float = 1.0) -> Tensor:
        return _sigmoid_swish(x, beta)

    def setup(ctx, inputs, output):
        ctx.save_for_backward(inputs[0])
        ctx.beta = inputs[1]

    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        s = ember.sigmoid(ctx.beta * x)
        return g * (s + ctx.beta * x * s * (1 - s)), None

    op.register_autograd(backward, setup_context=setup)
    op.register_fake(lambda x, beta=1.0: ember.empty_like(x))
    yield op
    op.remove()


def test_namespace_access_and_values_match_torch(swish):
    assert ember.ops.emtest.swish is swish and ember.ops.emtest.swish.default is swish
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    got = ember.ops.emtest.swish(ember.tensor(x), beta=2.0)
    want = torch.tensor(x) * torch.sigmoid(2.0 * torch.tensor(x))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


def test_gradients_match_torch_and_gradcheck(swish):
    x = np.random.default_rng(1).standard_normal(5)
    ex = ember.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    y = swish(ex, 1.5)
    assert y.grad_fn.name() == "GeneratedBackwardFor_emtest_swish_defaultBackward"
    y.sum().backward()
    (tx * torch.sigmoid(1.5 * tx)).sum().backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-10)
    xd = ember.tensor(x, requires_grad=True)
    assert ember.autograd.gradcheck(lambda t: swish(t, 1.5), (xd,))
    assert ember.autograd.gradgradcheck(lambda t: swish(t, 1.5), (xd,))


def test_backward_without_autograd_registration_raises_like_torch():
    @custom_op("emtest::plain", mutates_args=())
    def plain(x: Tensor) -> Tensor:
        return x * 2

    try:
        y = plain(ember.ones(2, requires_grad=True))
        with pytest.raises(RuntimeError, match="no autograd formula was registered"):
            y.sum().backward()
        with pytest.raises(RuntimeError, match="There was no fake impl registered"):
            plain(ember.empty(2, device="meta"))
    finally:
        plain.remove()


def test_meta_device_runs_the_fake(swish):
    out = swish(ember.empty(2, 3, device="meta"))
    assert out.is_meta and out.shape == ember.Size([2, 3]) and out.dtype is ember.float32


def _hinted(x: Tensor, y: list[Tensor], n: int, s: str, o: Tensor | None = None, *,
            k: float = 2.0) -> tuple[Tensor, Tensor]:
    raise AssertionError("never called")


def _torch_hinted(x: torch.Tensor, y: list[torch.Tensor], n: int, s: str, o: torch.Tensor | None = None, *,
                  k: float = 2.0) -> tuple[torch.Tensor, torch.Tensor]:
    raise AssertionError("never called")


@pytest.mark.parametrize("mutates", [(), {"x"}, "unknown"])
def test_infer_schema_matches_torch(mutates):
    assert infer_schema(_hinted, mutates_args=mutates) == torch.library.infer_schema(_torch_hinted,
                                                                                     mutates_args=mutates)


def test_schema_errors_match_torch():
    def no_hint(x):
        return x

    def no_return(x: Tensor):
        pass

    def var_args(x: Tensor, *args) -> Tensor:
        pass

    for fn, message in [(no_hint, "Parameter x must have a type annotation"),
                        (no_return, "No return type annotation was provided"),
                        (var_args, "We do not support positional-only args, varargs, or varkwargs")]:
        with pytest.raises(ValueError, match=message):
            custom_op("emtest::bad", mutates_args=())(fn)
    with pytest.raises(ValueError, match="were not found in the custom op's signature"):
        infer_schema(_hinted, mutates_args={"zz"})
    with pytest.raises(TypeError, match="mutates_args"):
        custom_op("emtest::bad")(lambda x: x)


@pytest.mark.parametrize("name", ["swish", "my lib::x", "mylib::", "::x", "a::b::c", "aten::foo", "linalg::foo"])
def test_bad_or_reserved_names_raise(name):
    def f(x: Tensor) -> Tensor:
        return x.clone()
    with pytest.raises(ValueError):
        custom_op(name, mutates_args=())(f)


def test_undeclared_mutation_and_aliasing_outputs_raise():
    @custom_op("emtest::sneaky", mutates_args=())
    def sneaky(x: Tensor) -> Tensor:
        x.add_(1)
        return x.clone()

    @custom_op("emtest::same", mutates_args=())
    def same(x: Tensor) -> Tensor:
        return x.view(-1)

    try:
        x = ember.zeros(3)
        with pytest.raises(RuntimeError, match="not declared in mutates_args"):
            sneaky(x)
        assert x.tolist() == [0.0, 0.0, 0.0]
        with pytest.raises(RuntimeError, match="must not also be an input"):
            same(ember.zeros(3))
    finally:
        sneaky.remove()
        same.remove()


def test_declared_mutation_writes_and_bumps_version():
    @custom_op("emtest::fill_one", mutates_args={"x"})
    def fill_one(x: Tensor) -> None:
        x.fill_(1.0)

    try:
        x = ember.zeros(3)
        version = x._version[0]
        assert fill_one(x) is None
        assert x.tolist() == [1.0, 1.0, 1.0] and x._version[0] > version
        with pytest.raises(RuntimeError, match="non-functional operator"):
            fill_one.register_autograd(lambda ctx, g: g)
    finally:
        fill_one.remove()


def test_list_optional_and_multiple_outputs():
    @custom_op("emtest::split_sum", mutates_args=())
    def split_sum(xs: list[Tensor], bias: Tensor | None = None, *, scale: float = 1.0) -> tuple[Tensor, Tensor]:
        total = xs[0] * 0
        for t in xs:
            total = total + t
        if bias is not None:
            total = total + bias
        return total * scale, total * 0 + len(xs)

    split_sum.register_autograd(
        lambda ctx, g1, g2: ([g1 * ctx.scale] * ctx.n, g1 if ctx.has_bias else None, None),
        setup_context=lambda ctx, inputs, output: ctx.__dict__.update(
            scale=inputs[2], n=len(inputs[0]), has_bias=inputs[1] is not None))
    try:
        a, b = ember.ones(2, requires_grad=True), ember.full((2,), 2.0, requires_grad=True)
        s, n = split_sum([a, b], scale=3.0)
        assert s.tolist() == [9.0, 9.0] and n.tolist() == [2.0, 2.0]
        s.sum().backward()
        assert a.grad.tolist() == [3.0, 3.0] and b.grad.tolist() == [3.0, 3.0]
        c = ember.ones(2, requires_grad=True)
        split_sum([a], c)[0].sum().backward()
        assert c.grad.tolist() == [1.0, 1.0]
    finally:
        split_sum.remove()


def test_wrong_argument_type_and_missing_argument():
    @custom_op("emtest::scale", mutates_args=())
    def scale(x: Tensor, k: float) -> Tensor:
        return x * k

    try:
        with pytest.raises(TypeError, match="missing a required argument: 'k'"):
            scale(ember.ones(2))
        with pytest.raises(TypeError, match="argument 'x' must be Tensor"):
            scale([1.0], 2.0)
    finally:
        scale.remove()


def test_register_kernel_per_device_and_missing_device():
    @custom_op("emtest::cpu_only", mutates_args=(), device_types="cpu")
    def cpu_only(x: Tensor) -> Tensor:
        return x + 1

    try:
        assert cpu_only(ember.zeros(1)).tolist() == [1.0]
        cpu_only.register_kernel("cpu", lambda x: x + 2)
        assert cpu_only(ember.zeros(1)).tolist() == [2.0]
        assert ember.library.get_kernel("emtest::cpu_only", "CPU")(ember.zeros(1)).tolist() == [2.0]
    finally:
        cpu_only.remove()
