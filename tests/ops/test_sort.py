"""Selection and sorting against torch: max/min, argmax, sort, topk, kthvalue, median, mode, unique."""
import numpy as np
import pytest

import ember
from tests.oracle import check, check_layouts, gradcheck, rand

DIM_OPS = {
    "max": lambda lib, t, d, k: t.max(d, keepdim=k),
    "min": lambda lib, t, d, k: lib.min(t, d, keepdim=k),
    "median": lambda lib, t, d, k: t.median(d, keepdim=k),
    "nanmedian": lambda lib, t, d, k: lib.nanmedian(t, d, keepdim=k),
    "kthvalue": lambda lib, t, d, k: t.kthvalue(2, d, keepdim=k),
    "mode": lambda lib, t, d, k: t.mode(d, keepdim=k),
    "argmax": lambda lib, t, d, k: t.argmax(d, keepdim=k),
    "argmin": lambda lib, t, d, k: lib.argmin(t, d, keepdim=k),
    "sort": lambda lib, t, d, k: t.sort(d, descending=k),
    "argsort": lambda lib, t, d, k: lib.argsort(t, d, descending=k),
    "topk": lambda lib, t, d, k: t.topk(2, d, largest=k),
}
NODES = {"max": "MaxBackward0", "min": "MinBackward0", "median": "MedianBackward1",
         "nanmedian": "NanmedianBackward1", "kthvalue": "KthvalueBackward0", "mode": "ModeBackward0",
         "sort": "SortBackward0", "topk": "TopkBackward0"}


def _distinct(*shape, seed=0):
    """Values with no ties (so every index is unambiguous)."""
    n = int(np.prod(shape))
    return (np.random.default_rng(seed).permutation(n).reshape(shape) / n - 0.5).astype(np.float32)


@pytest.mark.parametrize("name", DIM_OPS)
@pytest.mark.parametrize("shape,dim", [((3, 4), -1), ((3, 4), 0), ((2, 3, 4), 1)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_dim_ops(name, shape, dim, keepdim):
    check(lambda lib, t: DIM_OPS[name](lib, t, dim, keepdim), _distinct(*shape))


@pytest.mark.parametrize("name", DIM_OPS)
def test_dim_ops_layouts_0d_ints(name):
    check_layouts(lambda lib, t: DIM_OPS[name](lib, t, -1, False), _distinct(3, 4, seed=2))
    if name not in ("kthvalue", "topk"):
        check(lambda lib, t: DIM_OPS[name](lib, t, 0, False), np.array(1.5, dtype=np.float32))
    if name not in ("nanmedian",):
        check(lambda lib, t: DIM_OPS[name](lib, t, 1, False), np.arange(12, dtype=np.int64)[::-1].reshape(3, 4).copy())


@pytest.mark.parametrize("name", NODES)
def test_node_names_and_gradcheck(name):
    x = ember.tensor(_distinct(2, 3), requires_grad=True)
    assert DIM_OPS[name](ember, x, 1, False)[0].grad_fn.name() == NODES[name]
    gradcheck(lambda lib, t: DIM_OPS[name](lib, t, 1, False)[0], _distinct(2, 3, seed=4).astype(np.float64))


@pytest.mark.parametrize("name,node", [("max", "MaxBackward1"), ("min", "MinBackward1"), ("median", "MedianBackward0"),
                                       ("nanmedian", "NanmedianBackward0")])
def test_full_reductions(name, node):
    fn = lambda lib, t: getattr(lib, name)(t)  # noqa: E731
    check(fn, _distinct(3, 4))
    check(fn, np.array([[1.0, 3.0, 3.0], [3.0, 2.0, 0.0]], dtype=np.float32))  # ties share the gradient
    check(fn, np.array(2.5, dtype=np.float32))
    assert fn(ember, ember.rand(3, requires_grad=True)).grad_fn.name() == node
    gradcheck(fn, _distinct(2, 3, seed=5).astype(np.float64))


def test_full_argmax_and_amax_ints():
    for x in (_distinct(3, 4), rand(3, 4, dtype=np.int64, low=-5, high=5), rand(3, 4, dtype=np.bool_)):
        check(lambda lib, t: t.max(), x)
        check(lambda lib, t: t.amax((0, 1)), x)
        if x.dtype != np.bool_:
            check(lambda lib, t: t.argmax(), x)
            check(lambda lib, t: t.argmin(keepdim=True), x)


def test_max_returns_named_tuple_and_binary_form():
    x = ember.tensor([[1.0, 5.0], [7.0, 2.0]])
    out = ember.max(x, 1)
    values, indices = out
    assert type(out) is ember.return_types.max and out.values is values and out.indices is indices
    assert indices.tolist() == [1, 0]
    check(lambda lib, a, b: lib.max(a, b), rand(3, 4), rand(4))
    check(lambda lib, a, b: a.min(b), rand(3, 4), rand(3, 1))


def test_max_dim_ties_pick_first():
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], dtype=np.float32)
    check(lambda lib, t: t.max(1), x)
    check(lambda lib, t: t.min(0), x)
    check(lambda lib, t: t.argmax(1), x)


def test_sort_stable_with_ties():
    x = np.array([[3.0, 1.0, 3.0, 2.0, 1.0, 3.0], [0.0, 0.0, 0.0, 1.0, 1.0, 0.0]], dtype=np.float32)
    for descending in (False, True):
        check(lambda lib, t: t.sort(dim=-1, descending=descending, stable=True), x)
        check(lambda lib, t: lib.sort(t, dim=0, descending=descending, stable=True), x)
        check(lambda lib, t: t.argsort(descending=descending, stable=True), x)
    check(lambda lib, t: t.sort(stable=True)[0], x)
    check(lambda lib, t: lib.msort(t), x)
    assert ember.tensor(x, requires_grad=True).sort(stable=True)[0].grad_fn.name() == "SortBackward1"


def test_sort_nan_and_empty():
    x = np.array([2.0, np.nan, -1.0, np.nan, 0.5], dtype=np.float32)
    check(lambda lib, t: t.sort(), x)
    check(lambda lib, t: t.sort(descending=True), x)
    check(lambda lib, t: t.sort(0), np.zeros((0, 3), dtype=np.float32))
    check(lambda lib, t: t.max(1), np.zeros((0, 3), dtype=np.float32))


def test_topk_options():
    x = _distinct(3, 5, seed=7)
    check(lambda lib, t: t.topk(3, 0), x[:, :3].copy())
    check(lambda lib, t: t.topk(5, largest=False), x)
    check(lambda lib, t: lib.topk(t, 0, dim=1), x)
    check(lambda lib, t: t.topk(2, sorted=True).values, x)


def test_median_lower_and_nan():
    check(lambda lib, t: t.median(), np.array([4.0, 1.0, 3.0, 2.0], dtype=np.float32))
    x = np.array([[1.0, np.nan, 3.0, 0.5], [2.0, 4.0, 1.0, 8.0]], dtype=np.float32)
    check(lambda lib, t: t.median(), x, grad=False)
    check(lambda lib, t: t.nanmedian(), x)
    check(lambda lib, t: t.median(1), x)
    check(lambda lib, t: t.nanmedian(1), x)


def test_mode_ties():
    x = np.array([[1, 2, 2, 3, 3, 0], [5, 5, 5, 1, 1, 1]], dtype=np.int64)
    check(lambda lib, t: t.mode(1), x)
    check(lambda lib, t: t.mode(1).values, x.astype(np.float32))


@pytest.mark.parametrize("kw", [dict(), dict(return_inverse=True), dict(return_counts=True),
                                dict(return_inverse=True, return_counts=True)])
def test_unique(kw):
    x = np.array([[3, 1, 2], [1, 3, 3], [3, 1, 2]], dtype=np.int64)
    check(lambda lib, t: lib.unique(t, **kw), x)
    check(lambda lib, t: t.unique(dim=0, **kw), x)
    check(lambda lib, t: lib.unique(t, dim=1, **kw), x)
    check(lambda lib, t: lib.unique_consecutive(t, **kw), x)
    check(lambda lib, t: lib.unique_consecutive(t, dim=0, **kw), x)
    check(lambda lib, t: lib.unique(t, **kw), rand(7, low=0, high=3, seed=1).round(), grad=False)


@pytest.mark.parametrize("fn,exc,msg", [
    (lambda t: t.max(), RuntimeError, r"max\(\): Expected reduction dim to be specified for input.numel\(\) == 0"),
    (lambda t: t.min(), RuntimeError, r"min\(\): Expected reduction dim to be specified"),
    (lambda t: t.max(0), IndexError, r"max\(\): Expected reduction dim 0 to have non-zero size"),
    (lambda t: t.argmax(), IndexError, r"argmax\(\): Expected reduction dim to be specified"),
    (lambda t: t.median(0), IndexError, r"median\(\): Expected reduction dim 0 to have non-zero size"),
    (lambda t: t.topk(1, 0), RuntimeError, "selected index k out of range"),
])
def test_empty_errors(fn, exc, msg):
    with pytest.raises(exc, match=msg):
        fn(ember.zeros(0, 3))


@pytest.mark.parametrize("fn", [lambda t: t.max(2), lambda t: t.sort(2), lambda t: t.topk(1, -3),
                                lambda t: t.argmax(2), lambda t: t.median(2), lambda t: t.kthvalue(1, 2)])
def test_dim_out_of_range(fn):
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of \[-2, 1\], but got"):
        fn(ember.ones(2, 3))


def test_k_out_of_range():
    with pytest.raises(RuntimeError, match="selected index k out of range"):
        ember.ones(2, 3).topk(4)
    with pytest.raises(RuntimeError, match=r"kthvalue\(\): selected number k out of range for dimension 1"):
        ember.ones(2, 3).kthvalue(4)


def test_value_gradient_double_backward():
    x = _distinct(3, 4, seed=9).astype(np.float64)
    gradcheck(lambda lib, t: (t.sort(0)[0] ** 2).sum(1), x)
    gradcheck(lambda lib, t: t.topk(2)[0] * t.max(1, keepdim=True)[0], x)


@pytest.mark.parametrize("name,args", [("argmax", ()), ("argmin", (0,)), ("topk", (1,)), ("median", ()),
                                       ("median", (0,)), ("nanmedian", ())])
def test_bool_input_is_refused_like_torch(name, args):
    import torch
    errors = []
    for lib in (torch, ember):
        with pytest.raises((RuntimeError, NotImplementedError)) as info:
            getattr(lib.tensor([True, False]), name)(*args)
        errors.append(info)
    assert errors[0].type is errors[1].type
    assert "bool" in str(errors[1].value).lower()
