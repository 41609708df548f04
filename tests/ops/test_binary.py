"""Elementwise binary ops and Tensor operators against torch: values, dtypes, grads, errors."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import ember
from oracle import check, check_layouts, gradcheck, rand

SHAPES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((), (3,)), ((3,), ()), ((0, 3), (3,)), ((), ())]
# name, low bound of the second operand (keeps division away from 0), node name
DIFFERENTIABLE = [("add", -2, "AddBackward0"), ("sub", -2, "SubBackward0"), ("mul", -2, "MulBackward0"),
                  ("div", 0.5, "DivBackward0"), ("atan2", 0.5, "Atan2Backward0"),
                  ("maximum", -2, "MaximumBackward0"), ("minimum", -2, "MinimumBackward0"),
                  ("fmax", -2, "FmaxBackward0"), ("fmin", -2, "FminBackward0"),
                  ("remainder", 0.5, "RemainderBackward1"), ("fmod", 0.5, "FmodBackward1")]
ALIASES = [("subtract", "sub"), ("multiply", "mul"), ("divide", "div"), ("true_divide", "div"),
           ("arctan2", "atan2"), ("not_equal", "ne"), ("less", "lt"), ("less_equal", "le"),
           ("greater", "gt"), ("greater_equal", "ge")]
COMPARISONS = ["eq", "ne", "lt", "le", "gt", "ge"]
LOGICAL = ["logical_and", "logical_or", "logical_xor"]
BITWISE = ["bitwise_and", "bitwise_or", "bitwise_xor"]
OPERATORS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": lambda a, b: a / b,
             "//": lambda a, b: a // b, "%": lambda a, b: a % b, "**": lambda a, b: a ** b}
DIFF_IDS = [d[0] for d in DIFFERENTIABLE]


@pytest.mark.parametrize("a_shape,b_shape", SHAPES)
@pytest.mark.parametrize("name,low,node", DIFFERENTIABLE, ids=DIFF_IDS)
def test_matches_torch(name, low, node, a_shape, b_shape):
    check_layouts(lambda m, a, b: getattr(m, name)(a, b), rand(*a_shape), rand(*b_shape, seed=1, low=low))


@pytest.mark.parametrize("name,low,node", DIFFERENTIABLE, ids=DIFF_IDS)
def test_node_names_and_methods(name, low, node):
    a = ember.tensor(rand(3), requires_grad=True)
    b = ember.tensor(rand(3, seed=1, low=low))
    out = getattr(ember, name)(a, b)
    assert out.grad_fn.name() == node
    assert ember.equal(getattr(a, name)(b), out)


@pytest.mark.parametrize("name,low,node", DIFFERENTIABLE, ids=DIFF_IDS)
def test_gradcheck(name, low, node):
    a = rand(2, 3, dtype=np.float64, low=0.2, high=0.9) if name in ("remainder", "fmod") else rand(2, 3)
    gradcheck(lambda m, x, y: getattr(m, name)(x, y), a, rand(3, seed=1, low=max(low, 0.3) + 0.2, high=1.7))


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "remainder", "fmod", "pow", "atan2"])
@pytest.mark.parametrize("dtype", [np.float64, np.int64, np.int32, np.uint8])
def test_dtypes_and_large(name, dtype):
    low = 1 if name in ("div", "remainder", "fmod", "pow") else 0
    a = rand(40, 50, dtype=dtype, low=0, high=5)
    b = rand(50, dtype=dtype, low=low, high=3, seed=1)
    check(lambda m, x, y: getattr(m, name)(x, y), a, b)


@pytest.mark.parametrize("name", ["add", "mul", "sub", "div", "pow", "remainder", "maximum"])
@pytest.mark.parametrize("scalar", [2, 0.5, -3])
def test_tensor_and_scalar(name, scalar):
    check(lambda m, x: getattr(m, name)(x, scalar) if name != "maximum" else m.maximum(x, m.tensor(scalar * 1.0)),
          rand(3, 4, low=0.5))
    if name == "pow" and scalar == -3:  # int ** negative int raises (tested below)
        return
    check(lambda m, x: getattr(m, name)(x, scalar) if name != "maximum" else m.maximum(x, m.tensor(scalar)),
          rand(3, 4, dtype=np.int64, low=1, high=5))


@pytest.mark.parametrize("alpha", [2, -0.5])
@pytest.mark.parametrize("name", ["add", "sub"])
def test_alpha(name, alpha):
    check(lambda m, a, b: getattr(m, name)(a, b, alpha=alpha), rand(3, 4), rand(4, seed=1))
    check(lambda m, a: getattr(m, name)(a, 3, alpha=alpha), rand(3, 4))
    gradcheck(lambda m, a, b: getattr(m, name)(a, b, alpha=alpha), rand(2, 3), rand(3, seed=1))
    with pytest.raises(RuntimeError, match="alpha must not be a floating point"):
        getattr(ember, name)(ember.tensor([1, 2]), ember.tensor([3, 4]), alpha=0.5)


def test_rsub():
    check(lambda m, a, b: m.rsub(a, b, alpha=2), rand(3, 4), rand(4, seed=1))
    out = check(lambda m, a: 2 - a, rand(3))
    assert out.grad_fn.name() == "RsubBackward1"


@pytest.mark.parametrize("mode", ["floor", "trunc"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int32, np.int8])
def test_rounding_division(mode, dtype):
    a = np.array([-7, 7, -7, 7, 0, -1, 9, -9], dtype=dtype)
    b = np.array([2, -2, -2, 2, 3, 4, 3, 3], dtype=dtype)
    out = check(lambda m, x, y: m.div(x, y, rounding_mode=mode), a, b)
    check(lambda m, x: m.div(x, -2, rounding_mode=mode), a)
    check(lambda m, x: m.floor_divide(x, 2), a, grad=False)  # torch has no derivative for floor_divide
    check(lambda m, x, y: x // y, a, b, grad=False)
    if np.issubdtype(dtype, np.floating):
        assert out.grad_fn.name() == "DivBackward2"


def test_rounding_division_errors():
    with pytest.raises(ValueError, match="rounding_mode"):
        ember.div(ember.ones(2), 2, rounding_mode="round")
    for op in (lambda m: m.tensor([3, 4]) // 0, lambda m: m.tensor([3, 4]) % m.tensor([1, 0]),
               lambda m: m.fmod(m.tensor([3]), 0), lambda m: m.div(m.tensor([1]), 0, rounding_mode="trunc")):
        for lib in (ember, torch):
            with pytest.raises(RuntimeError, match="ZeroDivisionError"):
                op(lib)
    check(lambda m: m.tensor([1, -1, 0]) / 0, grad=False)


@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_remainder_fmod_signs(dtype):
    a = np.array([-7, 7, -7, 7, -6, 5], dtype=dtype)
    b = np.array([3, -3, -3, 3, 3, 5], dtype=dtype)
    for name in ("remainder", "fmod"):
        check(lambda m, x, y: getattr(m, name)(x, y), a, b)
        check(lambda m, x: getattr(m, name)(x, -4), a)
    check(lambda m, x: x % 3, a)
    check(lambda m, x: m.remainder(x, 2.5), np.array([-7.5, 7.25, -0.5], dtype=np.float32))
    assert ember.remainder(ember.ones(2, requires_grad=True), 2).grad_fn.name() == "RemainderBackward0"


def test_pow_forms():
    a = rand(3, 4, low=0.5)
    out = check(lambda m, x: x ** 2, a)
    assert out.grad_fn.name() == "PowBackward0"
    check(lambda m, x: x ** 0.5, a)
    check(lambda m, x: x ** 0, a)
    check(lambda m, x: x ** -1.5, a)
    out = check(lambda m, x, y: x ** y, a, rand(4, seed=1))
    assert out.grad_fn.name() == "PowBackward1"
    out = check(lambda m, y: 2 ** y, rand(3, 4, seed=1))
    assert out.grad_fn.name() == "PowBackward2"
    check(lambda m, y: m.pow(2.5, y), rand(3, 4, seed=1))
    check(lambda m, x, y: x ** y, np.array([0.0, 0.0, 2.0]), np.array([0.0, 2.0, 3.0]))
    gradcheck(lambda m, x, y: x ** y, rand(2, 3, low=0.5), rand(3, seed=1))
    gradcheck(lambda m, y: 3.0 ** y, rand(2, 3, seed=1))
    gradcheck(lambda m, x: x ** 3, rand(2, 3))


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8])
def test_pow_integers(dtype):
    a = rand(3, 4, dtype=dtype, low=0, high=4)
    check(lambda m, x: x ** 2, a)
    check(lambda m, x: x ** 0.5, a)
    check(lambda m, x, y: x ** y, a, rand(4, dtype=dtype, low=0, high=3, seed=1))
    check(lambda m, y: 2 ** y, a)


def test_pow_integer_negative_exponent_errors():
    i = np.array([2, 3])
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="Integers to negative integer powers are not allowed"):
            lib.tensor(i) ** -1
    check(lambda m, x: x ** -1.0, i.astype(np.int64))
    check(lambda m, x, y: x ** y, np.array([2, 1, -1, -1, 0, 3]), np.array([-1, -5, -3, -2, 2, 2]))
    check(lambda m, y: 2 ** y, np.array([-1, 0, 3]))


@pytest.mark.parametrize("name", COMPARISONS)
@pytest.mark.parametrize("a_shape,b_shape", SHAPES[:4])
def test_comparisons(name, a_shape, b_shape):
    a = rand(*a_shape, dtype=np.int64, low=0, high=3)
    b = rand(*b_shape, dtype=np.int64, low=0, high=3, seed=1)
    check(lambda m, x, y: getattr(m, name)(x, y), a, b)
    check(lambda m, x, y: getattr(m, name)(x, y), a.astype(np.float32), b.astype(np.float64))
    check(lambda m, x: getattr(m, name)(x, 1), a)
    check(lambda m, x: getattr(m, name)(x, 1.5), a)


@pytest.mark.parametrize("op", [lambda a, b: a == b, lambda a, b: a != b, lambda a, b: a < b, lambda a, b: a <= b,
                                lambda a, b: a > b, lambda a, b: a >= b, lambda a, b: 1 < a, lambda a, b: 2.0 == a])
def test_comparison_operators(op):
    check(lambda m, x, y: op(x, y), rand(3, 4, dtype=np.int64, low=0, high=2),
          rand(4, dtype=np.int64, low=0, high=2, seed=1))
    check(lambda m, x, y: op(x, y), np.array([np.nan, 1.0, np.inf]), np.array([np.nan, 1.0, 2.0]))


def test_comparison_in_place_and_none():
    x = ember.tensor([1.0, 2.0, 3.0])
    assert x.lt_(2.5) is x and x.tolist() == [1.0, 1.0, 0.0]
    assert (ember.tensor([1]) == None) is False  # noqa: E711 - torch answers False too
    assert (ember.tensor([1]) != "a") is True
    with pytest.raises(TypeError):
        ember.tensor([1]) + None


@pytest.mark.parametrize("alias,name", ALIASES)
def test_aliases(alias, name):
    a, b = ember.tensor([1.0, -2.0, 3.0]), ember.tensor([2.0, -2.0, 0.5])
    assert ember.equal(getattr(ember, alias)(a, b), getattr(ember, name)(a, b))
    assert ember.equal(getattr(a, alias)(b), getattr(ember, name)(a, b))


@pytest.mark.parametrize("name", LOGICAL)
@pytest.mark.parametrize("dtype", [np.bool_, np.int64, np.float32])
def test_logical(name, dtype):
    a = rand(3, 4, dtype=np.int64, low=0, high=1).astype(dtype)
    b = rand(4, dtype=np.int64, low=0, high=1, seed=1).astype(dtype)
    check(lambda m, x, y: getattr(m, name)(x, y), a, b, grad=False)
    check(lambda m, x, y: getattr(x.clone(), name + "_")(y), a, b, grad=False)


@pytest.mark.parametrize("name", BITWISE + ["bitwise_left_shift", "bitwise_right_shift"])
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.bool_])
def test_bitwise(name, dtype):
    if dtype == np.bool_ and "shift" in name:
        return
    a = rand(3, 4, dtype=dtype, low=0, high=7)
    b = rand(4, dtype=dtype, low=0, high=3, seed=1)
    check(lambda m, x, y: getattr(m, name)(x, y), a, b)
    check(lambda m, x, y: getattr(x.clone(), name + "_")(y), a, b)


@pytest.mark.parametrize("op", [lambda a, b: a & b, lambda a, b: a | b, lambda a, b: a ^ b, lambda a, b: a << b,
                                lambda a, b: a >> b, lambda a, b: 6 & a, lambda a, b: 1 << b, lambda a, b: True ^ a])
def test_bitwise_operators(op):
    check(lambda m, x, y: op(x, y), rand(3, 4, dtype=np.int64, low=0, high=9),
          rand(4, dtype=np.int64, low=0, high=3, seed=1))


@pytest.mark.parametrize("name", BITWISE)
def test_bitwise_float_errors(name):
    for lib in (ember, torch):
        with pytest.raises(NotImplementedError, match=f"{name}_cpu.*not implemented for 'Float'"):
            getattr(lib, name)(lib.tensor([1.5]), lib.tensor([1.0]))
        with pytest.raises(NotImplementedError, match="not implemented for 'Float'"):
            getattr(lib, name)(lib.tensor([1]), 1.5)


@pytest.mark.parametrize("sym", list(OPERATORS))
def test_operators_and_reflected(sym):
    op = OPERATORS[sym]
    a, b = rand(3, 4, low=0.5), rand(4, seed=1, low=0.5)
    check(lambda m, x, y: op(x, y), a, b, grad=sym not in ("//",))
    check(lambda m, x: op(x, 2), a, grad=sym not in ("//",))
    check(lambda m, x: op(2, x), a, grad=sym not in ("//", "%"))
    check(lambda m, x: op(0.5, x), a, grad=sym not in ("//", "%"))
    ints = rand(3, 4, dtype=np.int64, low=1, high=5)
    check(lambda m, x: op(x, 2), ints)
    check(lambda m, x: op(3, x), ints)


def test_unary_operators():
    check(lambda m, x: -x, rand(3))
    check(lambda m, x: +x, rand(3))
    check(lambda m, x: abs(x), rand(3))


@pytest.mark.parametrize("sym", ["+=", "-=", "*=", "/=", "//=", "%=", "**="])
def test_inplace_operators_keep_identity(sym):
    op = OPERATORS[sym[:-1]]
    a, b = rand(3, 4, low=0.5), rand(4, seed=1, low=0.5)
    x = ember.tensor(a)
    ident = id(x)
    ns = {"x": x, "y": ember.tensor(b)}
    exec(f"x {sym} y", ns)
    assert id(ns["x"]) == ident
    np.testing.assert_allclose(ns["x"].numpy(), op(torch.tensor(a), torch.tensor(b)).numpy(), rtol=1e-5)


@pytest.mark.parametrize("sym", ["&=", "|=", "^=", "<<=", ">>="])
def test_inplace_bitwise_operators(sym):
    x = ember.tensor([1, 2, 6])
    t = torch.tensor([1, 2, 6])
    ident = id(x)
    ns = {"x": x, "y": ember.tensor([3, 1, 2]), "tx": t, "ty": torch.tensor([3, 1, 2])}
    exec(f"x {sym} y\ntx {sym} ty", ns)
    assert id(ns["x"]) == ident and ns["x"].tolist() == ns["tx"].tolist()


def test_inplace_gradients():
    check(lambda m, x, y: (x * 1).add_(y, alpha=2), rand(3, 4), rand(4, seed=1))
    check(lambda m, x, y: (x * 1).mul_(y), rand(3, 4), rand(4, seed=1))
    check(lambda m, x, y: (x * 1).div_(y), rand(3, 4), rand(4, seed=1, low=0.5))
    check(lambda m, x, y: (x * 1).pow_(y), rand(3, 4, low=0.5), rand(4, seed=1))


@pytest.mark.parametrize("fn", [lambda m: m.tensor([1, 2]).add_(0.5), lambda m: m.tensor([1, 2]).div_(2),
                                lambda m: m.tensor([True]).add_(1), lambda m: m.tensor([1]).mul_(m.tensor([1.5]))])
def test_inplace_cast_errors(fn):
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
            fn(lib)


def test_inplace_operator_cast_error():
    x = ember.tensor([1, 2])
    with pytest.raises(RuntimeError, match="can't be cast"):
        x += 0.5
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        y = ember.ones(3)
        y += ember.ones(2, 3)


@pytest.mark.parametrize("fn,match", [
    (lambda m: m.tensor([True]) - m.tensor([True]), "with two bool tensors is not supported"),
    (lambda m: m.tensor([1]) - m.tensor([True]), "with a bool tensor is not supported"),
    (lambda m: m.tensor([True]) - 1, "with a bool tensor is not supported"),
])
def test_bool_subtraction_errors(fn, match):
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match=match):
            fn(lib)


@pytest.mark.parametrize("a_shape,b_shape,match", [
    ((2, 3), (4,), r"size of tensor a \(3\) must match the size of tensor b \(4\) at non-singleton dimension 1"),
    ((5, 3), (2, 1, 4), r"tensor a \(3\) must match the size of tensor b \(4\) at non-singleton dimension 2"),
    ((3,), (2, 2), r"tensor a \(3\) must match the size of tensor b \(2\) at non-singleton dimension 1"),
])
@pytest.mark.parametrize("name", ["add", "mul", "pow", "eq", "atan2", "bitwise_and"])
def test_broadcast_error(name, a_shape, b_shape, match):
    for lib in (ember, torch):
        a = lib.ones(a_shape, dtype=lib.int64 if name == "bitwise_and" else lib.float32)
        with pytest.raises(RuntimeError, match=match):
            getattr(lib, name)(a, lib.ones(b_shape, dtype=a.dtype))
    with pytest.raises(RuntimeError, match=match):
        ember.mul(ember.ones(a_shape, requires_grad=True), ember.ones(b_shape))


@settings(max_examples=30, deadline=None)
@given(mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=4), st.sampled_from(["add", "mul"]))
def test_broadcasting_property(shapes, name):
    a_shape, b_shape = shapes.input_shapes
    out = check(lambda m, a, b: getattr(m, name)(a, b), rand(*a_shape), rand(*b_shape, seed=1))
    assert tuple(out.shape) == shapes.result_shape


def test_scalars_on_both_sides_error():
    with pytest.raises(TypeError, match="expected at least one Tensor"):
        ember.add(1, 2)
