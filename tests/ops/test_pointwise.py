"""clamp, where, lerp, addcmul/addcdiv, softmax/log_softmax, closeness tests and friends against torch."""
import numpy as np
import pytest
import torch

import ember
from oracle import check, check_layouts, gradcheck, rand

A, B, C = rand(3, 4), rand(4, seed=1), rand(3, 1, seed=2)


# clamp -------------------------------------------------------------------------------------

@pytest.mark.parametrize("lo,hi,node", [(-0.5, 0.5, "ClampBackward1"), (-0.5, None, "ClampBackward1"),
                                        (None, 0.5, "ClampBackward1"), (0.5, -0.5, "ClampBackward1")])
def test_clamp_scalars(lo, hi, node):
    check_layouts(lambda m, x: m.clamp(x, lo, hi), A)
    out = check(lambda m, x: x.clamp(min=lo, max=hi), A)
    assert out.grad_fn.name() == node
    check(lambda m, x: m.clip(x, lo, hi), A)


def test_clamp_gradient_at_the_bounds():
    """The gradient passes where min <= x <= max, bounds included."""
    check(lambda m, x: m.clamp(x, -1.0, 1.0), np.array([-2.0, -1.0, 0.0, 1.0, 2.0], dtype=np.float32))


@pytest.mark.parametrize("which", ["both", "min", "max", "min_scalar_max"])
def test_clamp_tensors(which):
    lo, hi = rand(4, seed=1, low=-1, high=0), rand(3, 1, seed=2, low=0, high=1)
    fns = {"both": lambda m, x, a, b: m.clamp(x, a, b), "min": lambda m, x, a, b: m.clamp(x, a) + 0 * b,
           "max": lambda m, x, a, b: m.clamp(x, max=b) + 0 * a,
           "min_scalar_max": lambda m, x, a, b: m.clamp(x, a, m.tensor(0.3)) + 0 * b}
    check(fns[which], A, lo, hi)


def test_clamp_tensor_bounds_crossed():
    """min > max: every element becomes max, and max gets the whole gradient."""
    check(lambda m, x, a, b: m.clamp(x, a, b), A, np.full(4, 0.5, np.float32), np.full(4, -0.5, np.float32))


@pytest.mark.parametrize("name,bound,node", [("clamp_min", 0.1, "ClampMinBackward0"),
                                             ("clamp_max", 0.1, "ClampMaxBackward0"),
                                             ("clamp_min", "tensor", "ClampMinBackward1"),
                                             ("clamp_max", "tensor", "ClampMaxBackward1")])
def test_clamp_min_max(name, bound, node):
    if bound == "tensor":
        out = check(lambda m, x, b: getattr(m, name)(x, b), A, B)
    else:
        out = check(lambda m, x: getattr(x, name)(bound), A)
    assert out.grad_fn.name() == node


def test_clamp_tensor_node_name_and_gradcheck():
    x = ember.tensor(A, requires_grad=True)
    assert x.clamp(ember.tensor(B), ember.tensor(C)).grad_fn.name() == "ClampBackward0"
    gradcheck(lambda m, x, a, b: m.clamp(x, a, b), rand(2, 3), rand(3, seed=3), rand(2, 1, seed=4))
    gradcheck(lambda m, x: m.clamp(x, -0.5, 0.7), rand(2, 3))


@pytest.mark.parametrize("fn", [lambda m, x: m.clamp(x, 1.5), lambda m, x: m.clamp(x, 2, 3),
                                lambda m, x: m.clamp(x, m.tensor(2.5, dtype=m.float64)),
                                lambda m, x: m.clamp(x.float(), m.tensor([2.5], dtype=m.float64))])
def test_clamp_promotion(fn):
    check(fn, np.array([1, 2, 3, 4]))


def test_clamp_nan_0d_empty_and_inplace():
    check(lambda m, x: m.clamp(x, 0.0, 1.0), np.array([np.nan, -1.0, 2.0], dtype=np.float32), grad=False)
    check(lambda m, x: m.clamp(x, 0.0, 1.0), rand())
    check(lambda m, x: m.clamp(x, 0.0, 1.0), rand(0, 3))
    x = ember.tensor(A)
    assert x.clamp_(-0.5, 0.5) is x and ember.equal(x, ember.tensor(A).clamp(-0.5, 0.5))
    assert ember.equal(ember.tensor(A).clip_(max=0.0), ember.tensor(A).clamp(max=0.0))
    check(lambda m, x: (x * 1).clamp_(-0.5, 0.5), A)
    check(lambda m, x: (x * 1).clamp_min_(0.0), A)


def test_clamp_errors():
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="At least one of 'min' or 'max' must not be None"):
            lib.clamp(lib.ones(2))
        with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
            lib.tensor([1, 2]).clamp_(1.5)


# where -------------------------------------------------------------------------------------

@pytest.mark.parametrize("fn", [
    lambda m, x, y: m.where(x > 0, x, y),
    lambda m, x, y: m.where(y > 0, x, 0.0),
    lambda m, x, y: m.where(x > 0, 1.0, y),
    lambda m, x, y: m.where(x > 0, 1, 0.0) + y.sum() * 0,
    lambda m, x, y: x.where(x > 0, y),
])
def test_where(fn):
    check_layouts(fn, A, B)


def test_where_node_gradcheck_and_shapes():
    x = ember.tensor(A, requires_grad=True)
    assert ember.where(x > 0, x, 0.0).grad_fn.name() == "WhereBackward0"
    gradcheck(lambda m, x, y: m.where(x > 0, x, y), rand(2, 3), rand(3, seed=1))
    check(lambda m, x, y: m.where(x > 0, x, y), rand(), rand(3, seed=1))
    check(lambda m, x, y: m.where(x > 0, x, y), rand(0, 3), rand(3, seed=1))


@pytest.mark.parametrize("x,y", [(np.array([1, 2], np.int32), 1.5), (np.array([1, 2]), np.array(2.5)),
                                 (np.array([1.0, 2.0], np.float32), np.array([1.0, 2.0])), (1, 0), (1, 0.5),
                                 (np.array([True, False]), 2), (True, False)])
def test_where_promotion(x, y):
    check(lambda m, a, b: m.where(m.tensor([True, False]), a, b), x, y, grad=False)


def test_where_errors():
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="where expected condition to be a boolean tensor.*Long"):
            lib.where(lib.tensor([1, 0]), lib.ones(2), lib.zeros(2))
        with pytest.raises(RuntimeError, match=r"size of tensor a \(3\) must match the size of tensor b \(4\)"):
            lib.where(lib.ones(3, dtype=lib.bool), lib.ones(4), lib.ones(4))


# lerp, addcmul, addcdiv ------------------------------------------------------------------

@pytest.mark.parametrize("weight", [0.3, 0.7, -0.5, 1.5, "tensor", "0d"])
def test_lerp(weight):
    if weight == "tensor":
        check_layouts(lambda m, a, b, w: m.lerp(a, b, w), A, B, C)
        out = check(lambda m, a, b, w: m.lerp(a, b, w), A, B, C)
        gradcheck(lambda m, a, b, w: m.lerp(a, b, w), rand(2, 3), rand(3, seed=1), rand(2, 1, seed=2))
    elif weight == "0d":
        out = check(lambda m, a, b: m.lerp(a, b, m.tensor(0.25, dtype=m.float64)), A, B)
    else:
        check_layouts(lambda m, a, b: a.lerp(b, weight), A, B)
        out = check(lambda m, a, b: m.lerp(a, b, weight), A, B)
        gradcheck(lambda m, a, b: m.lerp(a, b, weight), rand(2, 3), rand(3, seed=1))
    x = ember.tensor(A)
    w = ember.tensor(C) if weight == "tensor" else (ember.tensor(0.25) if weight == "0d" else weight)
    assert ember.allclose(x.clone().lerp_(ember.tensor(B), w), x.lerp(ember.tensor(B), w))
    assert out.grad_fn.name() == ("LerpBackward0" if isinstance(weight, float) else "LerpBackward1")


def test_lerp_node_names_and_errors():
    a = ember.tensor(A, requires_grad=True)
    assert a.lerp(ember.tensor(A), 0.5).grad_fn.name() == "LerpBackward0"
    assert a.lerp(ember.tensor(A), ember.tensor(A)).grad_fn.name() == "LerpBackward1"
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="expected dtype float for `end` but got dtype double"):
            lib.lerp(lib.ones(2), lib.ones(2, dtype=lib.float64), 0.5)
        with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
            lib.lerp(lib.tensor([1, 2]), lib.tensor([1, 2]), 0.5)


@pytest.mark.parametrize("name,node", [("addcmul", "AddcmulBackward0"), ("addcdiv", "AddcdivBackward0")])
@pytest.mark.parametrize("value", [1, 0.5, -2])
def test_addcmul_addcdiv(name, node, value):
    t2 = rand(3, 1, seed=2, low=0.5, high=2)
    check_layouts(lambda m, x, a, b: getattr(m, name)(x, a, b, value=value), A, B, t2)
    out = check(lambda m, x, a, b: getattr(m, name)(x, a, b, value=value), A, B, t2)
    assert out.grad_fn.name() == node
    gradcheck(lambda m, x, a, b: getattr(m, name)(x, a, b, value=value), rand(2, 3), rand(3, seed=1),
              rand(2, 1, seed=2, low=0.5, high=2))
    x = ember.tensor(A)
    expected = getattr(ember, name)(x, ember.tensor(B), ember.tensor(t2), value=value)
    assert ember.allclose(getattr(x.clone(), name + "_")(ember.tensor(B), ember.tensor(t2), value=value), expected)


def test_addcmul_addcdiv_dtypes():
    ints = np.array([1, 2, 3])
    check(lambda m, x, a, b: m.addcmul(x, a, b, value=2), ints, ints, ints)
    # torch's own backward fails on these mixed dtypes, so compare values only
    check(lambda m, x, a, b: m.addcmul(x, a, b), ints.astype(np.float32), ints.astype(np.float64), ints, grad=False)
    check(lambda m, x, a, b: m.addcdiv(x, a, b), ints.astype(np.float32), ints.astype(np.float32), ints, grad=False)
    check(lambda m, x, a, b: m.addcmul(x, a, b), ints.astype(np.int32), ints, ints)
    check(lambda m, x, a, b: m.addcmul(x, a, b), ints, ints.astype(np.float32), ints, grad=False)
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="Integer division with addcdiv is no longer supported"):
            lib.addcdiv(lib.tensor(ints), lib.tensor(ints), lib.tensor(ints))


# softmax -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name,node", [("softmax", "SoftmaxBackward0"), ("log_softmax", "LogSoftmaxBackward0")])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax(name, node, dim):
    check_layouts(lambda m, x: getattr(m, name)(x, dim), rand(3, 5, low=-5, high=5))
    out = check(lambda m, x: getattr(m, name)(x, dim), rand(3, 5, low=-5, high=5))
    assert out.grad_fn.name() == node
    check(lambda m, x: getattr(x, name)(dim), rand(2, 3, 4))
    check(lambda m, x: getattr(m, name)(x, dim, dtype=m.float64), rand(3, 5))
    gradcheck(lambda m, x: getattr(m, name)(x, dim), rand(2, 3))


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_stable_and_edge_shapes(name):
    big = np.array([[1000.0, 1001.0, 999.0], [-1000.0, -1e4, -999.0]], dtype=np.float32)
    check(lambda m, x: getattr(m, name)(x, 1), big)
    check(lambda m, x: getattr(m, name)(x, 1), np.array([[-np.inf, 0.0, 1.0], [-np.inf, -np.inf, -np.inf]]),
          grad=False)
    check(lambda m, x: getattr(m, name)(x, 0), rand())
    check(lambda m, x: getattr(m, name)(x, 1), rand(3, 0))
    check(lambda m, x: getattr(m, name)(x, 0), rand(0, 3))
    check(lambda m, x: getattr(m, name)(x, 0, dtype=m.float32), np.array([1, 2, 3]))


def test_softmax_double_backward():
    gradcheck(lambda m, x: m.softmax(x, 1) * m.log_softmax(x, 0), rand(2, 3))


@pytest.mark.parametrize("fn,exc,match", [
    (lambda m: m.softmax(m.tensor([1, 2]), 0), NotImplementedError, "not implemented for 'Long'"),
    (lambda m: m.log_softmax(m.ones(3), 1), IndexError, "Dimension out of range"),
])
def test_softmax_errors(fn, exc, match):
    for lib in (ember, torch):
        with pytest.raises(exc, match=match):
            fn(lib)


# isclose, allclose, equal ------------------------------------------------------------------

@pytest.mark.parametrize("kw", [{}, {"rtol": 0.1}, {"atol": 1e-3}, {"equal_nan": True}, {"rtol": 0, "atol": 0}])
def test_isclose(kw):
    a = np.array([1.0, 1.0, np.nan, np.inf, -np.inf, 0.0, 100.0], dtype=np.float32)
    b = np.array([1.0 + 1e-6, 1.05, np.nan, np.inf, np.inf, 1e-4, 100.5], dtype=np.float32)
    check(lambda m, x, y: m.isclose(x, y, **kw), a, b, grad=False)
    check(lambda m, x, y: x.isclose(y, **kw), a[:, None], b, grad=False)
    check(lambda m, x, y: m.allclose(x, y, **kw), a, b, grad=False)
    check(lambda m, x, y: m.allclose(x, y, **kw), a[:2], a[:2] + 1e-7, grad=False)


def test_isclose_other_dtypes():
    check(lambda m, x, y: m.isclose(x, y, rtol=0.5), np.array([1, 2, 10]), np.array([1, 3, 30]), grad=False)
    check(lambda m, x, y: m.isclose(x, y), np.array([True, False]), np.array([True, True]), grad=False)


@pytest.mark.parametrize("fn,match", [
    (lambda m: m.isclose(m.ones(2), m.ones(2, dtype=m.float64)), "Float did not match Double"),
    (lambda m: m.isclose(m.ones(2), m.ones(2), rtol=-1), "rtol must be greater than or equal to zero"),
    (lambda m: m.allclose(m.ones(2), m.ones(2), atol=-1), "atol must be greater than or equal to zero"),
])
def test_isclose_errors(fn, match):
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match=match):
            fn(lib)


@pytest.mark.parametrize("a,b", [([1, 2], [1, 2]), ([1, 2], [1.0, 2.0]), ([1, 2], [[1, 2]]), ([1, 2], [1, 3]),
                                 ([float("nan")], [float("nan")]), ([], []), (3.0, 3.0)])
def test_equal(a, b):
    result = ember.equal(ember.tensor(a), ember.tensor(b))
    assert type(result) is bool
    assert result == torch.equal(torch.tensor(a), torch.tensor(b))


# nan_to_num and the binary extras ------------------------------------------------------------

SPECIAL = np.array([np.nan, np.inf, -np.inf, 1.5, -2.0], dtype=np.float32)


@pytest.mark.parametrize("kw", [{}, {"nan": 1.0}, {"nan": 1.0, "posinf": 9.0, "neginf": -9.0}, {"posinf": 2.0}])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_nan_to_num(kw, dtype):
    out = check(lambda m, x: m.nan_to_num(x, **kw), SPECIAL.astype(dtype))
    assert out.grad_fn.name() == "NanToNumBackward0"
    x = ember.tensor(SPECIAL.astype(dtype))
    assert x.nan_to_num_(**kw) is x and ember.equal(x, ember.nan_to_num(ember.tensor(SPECIAL.astype(dtype)), **kw))
    check(lambda m, x: m.nan_to_num(x), np.array([1, 2]))


@pytest.mark.parametrize("name,node", [("hypot", "HypotBackward0"), ("xlogy", "XlogyBackward0"),
                                       ("copysign", "CopysignBackward0")])
def test_binary_extras(name, node):
    b = rand(4, seed=1, low=0.2) if name == "xlogy" else B
    check_layouts(lambda m, x, y: getattr(m, name)(x, y), A, b)
    out = check(lambda m, x, y: getattr(m, name)(x, y), A, b)
    assert out.grad_fn.name() == node
    gradcheck(lambda m, x, y: getattr(m, name)(x, y), rand(2, 3), rand(3, seed=1, low=0.3))
    assert ember.allclose(getattr(ember.tensor(A), name + "_")(ember.tensor(b)),
                          getattr(ember, name)(ember.tensor(A), ember.tensor(b)), equal_nan=True)


def test_xlogy_special_cases_and_scalars():
    x = np.array([0.0, 0.0, 0.0, 1.0, 2.0], dtype=np.float32)
    y = np.array([0.0, -1.0, np.nan, 0.0, 3.0], dtype=np.float32)
    check(lambda m, a, b: m.xlogy(a, b), x, y)
    assert check(lambda m, b: m.xlogy(2.0, b), rand(4, low=0.5)).grad_fn.name() == "XlogyBackward1"
    assert check(lambda m, a: m.xlogy(a, 3.0), rand(4)).grad_fn.name() == "XlogyBackward2"
    check(lambda m, a, b: m.xlogy(a, b), np.array([0, 1, 2]), np.array([1, 2, 3]))


def test_copysign_scalar_zero_and_ints():
    assert check(lambda m, a: m.copysign(a, -1.0), A).grad_fn.name() == "CopysignBackward1"
    check(lambda m, a, b: m.copysign(a, b), np.array([0.0, 1.0, -2.0]), np.array([-0.0, -1.0, 0.0]))
    check(lambda m, a, b: m.copysign(a, b), np.array([1, 2]), np.array([-1, 2]))


def test_heaviside_and_hypot_errors():
    check(lambda m, x, v: m.heaviside(x, v), np.array([-1.0, 0.0, 2.0], np.float32), np.array([0.5], np.float32),
          grad=False)
    check(lambda m, x, v: m.heaviside(x, v), np.array([-1, 0, 2]), np.array([7]))
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="heaviside is not yet implemented for tensors with different dtypes"):
            lib.heaviside(lib.ones(2), lib.ones(2, dtype=lib.float64))
        with pytest.raises(NotImplementedError, match="hypot_cpu\" not implemented for 'Long'"):
            lib.hypot(lib.tensor([1, 2]), lib.tensor([1, 2]))
