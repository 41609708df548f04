"""Elementwise unary ops against torch: values, dtypes, gradients, layouts, in-place forms, node names."""
import numpy as np
import pytest
import torch

import ember
from oracle import check, check_layouts, gradcheck, rand

# name, input range (low, high), node name, differentiable twice in torch
UNARY = [
    ("neg", (-2, 2), "NegBackward0"), ("abs", (-2, 2), "AbsBackward0"), ("sqrt", (0.2, 3), "SqrtBackward0"),
    ("rsqrt", (0.2, 3), "RsqrtBackward0"), ("exp", (-2, 2), "ExpBackward0"), ("exp2", (-2, 2), "Exp2Backward0"),
    ("expm1", (-2, 2), "Expm1Backward0"), ("log", (0.2, 3), "LogBackward0"), ("log2", (0.2, 3), "Log2Backward0"),
    ("log10", (0.2, 3), "Log10Backward0"), ("log1p", (-0.5, 2), "Log1PBackward0"), ("sin", (-3, 3), "SinBackward0"),
    ("cos", (-3, 3), "CosBackward0"), ("tan", (-1.2, 1.2), "TanBackward0"), ("asin", (-0.9, 0.9), "AsinBackward0"),
    ("acos", (-0.9, 0.9), "AcosBackward0"), ("atan", (-3, 3), "AtanBackward0"), ("sinh", (-2, 2), "SinhBackward0"),
    ("cosh", (-2, 2), "CoshBackward0"), ("tanh", (-2, 2), "TanhBackward0"), ("asinh", (-2, 2), "AsinhBackward0"),
    ("acosh", (1.2, 3), "AcoshBackward0"), ("atanh", (-0.9, 0.9), "AtanhBackward0"),
    ("sigmoid", (-3, 3), "SigmoidBackward0"), ("erf", (-2, 2), "ErfBackward0"), ("erfc", (-2, 2), "ErfcBackward0"),
    ("erfinv", (-0.9, 0.9), "ErfinvBackward0"), ("reciprocal", (0.3, 3), "ReciprocalBackward0"),
    ("relu", (-2, 2), "ReluBackward0"), ("square", (-2, 2), "PowBackward0"), ("logit", (0.1, 0.9), "LogitBackward0"),
    ("lgamma", (0.3, 4), "LgammaBackward0"), ("digamma", (0.3, 4), "DigammaBackward0"),
    ("deg2rad", (-90, 90), "Deg2RadBackward0"), ("rad2deg", (-2, 2), "Rad2DegBackward0"),
    ("sign", (-2, 2), "SignBackward0"), ("sgn", (-2, 2), "SgnBackward0"), ("floor", (-3, 3), "FloorBackward0"),
    ("ceil", (-3, 3), "CeilBackward0"), ("trunc", (-3, 3), "TruncBackward0"), ("frac", (-3, 3), "FracBackward0"),
    ("round", (-3, 3), "RoundBackward0"),
]
SMOOTH = [u for u in UNARY if u[0] not in ("sign", "sgn", "floor", "ceil", "trunc", "frac", "round", "abs", "relu")]
ALIASES = [("negative", "neg"), ("absolute", "abs"), ("arcsin", "asin"), ("arccos", "acos"), ("arctan", "atan"),
           ("arcsinh", "asinh"), ("arccosh", "acosh"), ("arctanh", "atanh"), ("fix", "trunc")]
INT_OK = ["neg", "abs", "sqrt", "exp", "log1p", "sin", "tanh", "sigmoid", "erf", "reciprocal", "relu", "square",
          "sign", "sgn", "floor", "ceil", "trunc", "round", "logit", "deg2rad"]
PREDICATES = ["isnan", "isinf", "isfinite", "signbit", "logical_not"]
IDS = [u[0] for u in UNARY]


def _input(low, high, *shape, dtype=np.float32, seed=0):
    return rand(*shape, dtype=dtype, low=low, high=high, seed=seed)


@pytest.mark.parametrize("name,domain,node", UNARY, ids=IDS)
def test_matches_torch_on_layouts(name, domain, node):
    check_layouts(lambda m, x: getattr(m, name)(x), _input(*domain, 3, 4), atol=1e-4)


@pytest.mark.parametrize("name,domain,node", UNARY, ids=IDS)
def test_node_name_and_method(name, domain, node):
    x = ember.tensor(_input(*domain, 5), requires_grad=True)
    out = getattr(ember, name)(x)
    assert out.grad_fn.name() == node
    assert ember.equal(getattr(x, name)(), out)


@pytest.mark.parametrize("name,domain,node", UNARY, ids=IDS)
@pytest.mark.parametrize("shape", [(), (0,), (2, 0, 3)], ids=["0d", "empty", "empty3d"])
def test_zero_dim_and_empty(name, domain, node, shape):
    check(lambda m, x: getattr(m, name)(x), _input(*domain, *shape))


@pytest.mark.parametrize("name,domain,node", UNARY, ids=IDS)
def test_float64_and_large(name, domain, node):
    check(lambda m, x: getattr(m, name)(x), _input(*domain, 3, 4, dtype=np.float64))
    check(lambda m, x: getattr(m, name)(x), _input(*domain, 64, 300), grad=False, atol=1e-4)


@pytest.mark.parametrize("name", INT_OK)
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8])
def test_integer_inputs(name, dtype):
    """Float functions of int tensors compute in the default float dtype; rounding ones keep the ints."""
    check(lambda m, x: getattr(m, name)(x), rand(3, 4, dtype=dtype, low=1, high=5))


@pytest.mark.parametrize("name", ["exp", "sqrt", "sin", "sign", "square", "logical_not", "isnan"])
def test_bool_inputs(name):
    check(lambda m, x: getattr(m, name)(x), rand(5, dtype=np.bool_))


@pytest.mark.parametrize("name,domain,node", UNARY, ids=IDS)
def test_inplace_matches_function(name, domain, node):
    x = ember.tensor(_input(*domain, 3, 4))
    expected = getattr(ember, name)(x)
    y = x.clone()
    assert getattr(y, name + "_")() is y
    np.testing.assert_allclose(y.numpy(), expected.numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name,domain,node", UNARY, ids=IDS)
def test_inplace_gradient(name, domain, node):
    if name in ("asinh", "acosh", "atanh"):  # torch has no derivative for these in-place forms
        check(lambda m, x: getattr(x * 1, name)() if m is torch else getattr(x * 1, name + "_")(),
              _input(*domain, 2, 3))
        return
    check(lambda m, x: getattr(x * 1, name + "_")(), _input(*domain, 2, 3))


def test_inplace_float_op_on_int_tensor_errors():
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
        ember.tensor([1, 2]).sin_()
    assert ember.equal(ember.tensor([-1, 2]).relu_(), ember.tensor([0, 2]))


@pytest.mark.parametrize("name,domain,node", SMOOTH, ids=[u[0] for u in SMOOTH])
def test_gradcheck(name, domain, node):
    gradcheck(lambda m, x: getattr(m, name)(x), _input(*domain, 2, 3, dtype=np.float64))


@pytest.mark.parametrize("name", ["abs", "relu"])
def test_gradcheck_kinked_away_from_kink(name):
    gradcheck(lambda m, x: getattr(m, name)(x), np.array([-1.5, -0.3, 0.4, 2.0]))


@pytest.mark.parametrize("alias,name", ALIASES)
def test_aliases(alias, name):
    x = ember.tensor([0.3, 0.5])
    y = x + 1 if name == "acosh" else x
    assert ember.equal(getattr(ember, alias)(y), getattr(ember, name)(y))
    assert ember.equal(getattr(y, alias)(), getattr(ember, name)(y))


@pytest.mark.parametrize("name", PREDICATES)
def test_predicates(name):
    x = np.array([0.0, -0.0, 1.5, -2.0, np.nan, np.inf, -np.inf], dtype=np.float32)
    check(lambda m, t: getattr(m, name)(t), x, grad=False)
    check(lambda m, t: getattr(m, name)(t), rand(4, dtype=np.int64), grad=False)


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8, np.bool_])
def test_bitwise_not_and_invert(dtype):
    check(lambda m, x: m.bitwise_not(x), rand(6, dtype=dtype, low=0, high=9))
    check(lambda m, x: ~x, rand(6, dtype=dtype, low=0, high=9))


def test_round_half_even_and_decimals():
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, 1.2345, -2.675], dtype=np.float64)
    check(lambda m, t: m.round(t), x)
    check(lambda m, t: m.round(t, decimals=2), x)
    check(lambda m, t: t.round(decimals=-1), x * 100)
    assert ember.tensor([1.25], requires_grad=True).round(decimals=1).grad_fn.name() == "RoundBackward1"


def test_logit_eps_and_polygamma():
    x = np.array([0.0, 0.05, 0.3, 0.97, 1.0], dtype=np.float64)
    check(lambda m, t: m.logit(t, eps=0.1), x)
    check(lambda m, t: m.polygamma(2, t), _input(0.5, 3, 4))
    check(lambda m, t: t.polygamma(1), _input(0.5, 3, 4))
    gradcheck(lambda m, t: m.polygamma(1, t), _input(0.5, 3, 3, dtype=np.float64))
    with pytest.raises(RuntimeError, match="negative n"):
        ember.polygamma(-1, ember.ones(2))


def test_special_values():
    x = np.array([0.0, -1.0, np.inf, -np.inf, np.nan], dtype=np.float32)
    for name in ["exp", "tanh", "sigmoid", "abs", "floor", "sign", "relu", "atan"]:
        check(lambda m, t: getattr(m, name)(t), x, grad=False)


@pytest.mark.parametrize("fn,exc,match", [
    (lambda m: -m.tensor([True]), RuntimeError, "Negation, the `-` operator, on a bool tensor"),
    (lambda m: m.tensor([True]).abs(), NotImplementedError, "abs_cpu"),
    (lambda m: m.tensor([True]).relu(), RuntimeError, "Boolean inputs not supported for relu"),
    (lambda m: ~m.tensor([1.5]), TypeError, "only implemented on integer and Boolean"),
    (lambda m: m.bitwise_not(m.tensor([1.5])), NotImplementedError, "bitwise_not_cpu.*Float"),
])
def test_errors(fn, exc, match):
    for lib in (ember, torch):
        with pytest.raises(exc, match=match):
            fn(lib)


def test_double_backward_through_composition():
    x = ember.tensor([0.3, 1.2], dtype=ember.float64, requires_grad=True)
    (g,) = ember.autograd.grad(x.sin().exp().sum(), x, create_graph=True)
    (gg,) = ember.autograd.grad(g.sum(), x)
    tx = torch.tensor([0.3, 1.2], dtype=torch.float64, requires_grad=True)
    (tg,) = torch.autograd.grad(tx.sin().exp().sum(), tx, create_graph=True)
    (tgg,) = torch.autograd.grad(tg.sum(), tx)
    np.testing.assert_allclose(gg.numpy(), tgg.numpy(), rtol=1e-10)
