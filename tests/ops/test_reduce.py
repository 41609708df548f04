"""Reductions and scans against torch: values, dtypes, gradients, node names, errors."""
import numpy as np
import pytest
import torch

import ember
from tests.oracle import check, check_layouts, gradcheck, rand

pytestmark = pytest.mark.filterwarnings("ignore:.*degrees of freedom:UserWarning")

SHAPES_DIMS = [((3, 4), -1), ((3, 4), 0), ((2, 3, 4), (0, 2)), ((2, 3, 4), -1), ((2, 3, 4), None)]
FLOAT_REDUCTIONS = {
    "sum": lambda lib, x, d, k: x.sum() if d is None else x.sum(d, keepdim=k),
    "mean": lambda lib, x, d, k: x.mean() if d is None else x.mean(d, keepdim=k),
    "nansum": lambda lib, x, d, k: lib.nansum(x) if d is None else lib.nansum(x, d, keepdim=k),
    "nanmean": lambda lib, x, d, k: x.nanmean() if d is None else x.nanmean(d, keepdim=k),
    "prod": lambda lib, x, d, k: x.prod() if d is None else x.prod(d if isinstance(d, int) else d[0], keepdim=k),
    "var": lambda lib, x, d, k: x.var() if d is None else x.var(d, keepdim=k),
    "std": lambda lib, x, d, k: lib.std(x) if d is None else lib.std(x, d, keepdim=k, correction=0),
    "logsumexp": lambda lib, x, d, k: lib.logsumexp(x, (0, 1) if d is None else d, keepdim=k),
    "amax": lambda lib, x, d, k: x.amax() if d is None else x.amax(d, keepdim=k),
    "amin": lambda lib, x, d, k: lib.amin(x) if d is None else lib.amin(x, d, keepdim=k),
    "norm": lambda lib, x, d, k: x.norm() if d is None else x.norm(dim=d, keepdim=k),
}
NODES = {"sum": ("SumBackward0", "SumBackward1"), "mean": ("MeanBackward0", "MeanBackward1"),
         "nansum": ("NansumBackward0",) * 2, "prod": ("ProdBackward0", "ProdBackward1"),
         "var": ("VarBackward0",) * 2, "std": ("StdBackward0",) * 2, "amax": ("AmaxBackward0",) * 2,
         "logsumexp": ("LogsumexpBackward0",) * 2}


@pytest.mark.parametrize("name", FLOAT_REDUCTIONS)
@pytest.mark.parametrize("shape,dim", SHAPES_DIMS)
@pytest.mark.parametrize("keepdim", [False, True])
def test_float_reductions(name, shape, dim, keepdim):
    x = rand(*shape, low=0.5, high=1.5, seed=1)
    check(lambda lib, t: FLOAT_REDUCTIONS[name](lib, t, dim, keepdim), x)


@pytest.mark.parametrize("name", FLOAT_REDUCTIONS)
def test_float_reductions_layouts_and_0d(name):
    check_layouts(lambda lib, t: FLOAT_REDUCTIONS[name](lib, t, -1, False), rand(3, 4, low=0.5, high=1.5))
    check(lambda lib, t: FLOAT_REDUCTIONS[name](lib, t, 0, False), np.array(1.3, dtype=np.float32))


@pytest.mark.parametrize("name", NODES)
def test_node_names(name):
    x = ember.rand(3, 4, requires_grad=True)
    full, dim = NODES[name]
    if name != "logsumexp":
        assert FLOAT_REDUCTIONS[name](ember, x, None, False).grad_fn.name() == full
    assert FLOAT_REDUCTIONS[name](ember, x, 1, False).grad_fn.name() == dim


@pytest.mark.parametrize("name", ["sum", "nansum", "prod", "var", "std", "logsumexp", "amax", "amin", "mean"])
def test_gradcheck(name):
    x = rand(2, 3, low=0.5, high=1.5, seed=3)
    gradcheck(lambda lib, t: FLOAT_REDUCTIONS[name](lib, t, 1, False), x)
    gradcheck(lambda lib, t: FLOAT_REDUCTIONS[name](lib, t, None, False), x)


@pytest.mark.parametrize("x", [np.array([[1.0, 0.0, 2.0], [0.0, 0.0, 3.0]]), np.array([2.0, 0.0, 0.0, 4.0])])
def test_prod_with_zeros(x):
    check(lambda lib, t: t.prod(), x)
    check(lambda lib, t: t.prod(-1), x)
    gradcheck(lambda lib, t: t.prod(), x)
    gradcheck(lambda lib, t: t.prod(0), x)


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.bool_])
def test_integer_inputs(dtype):
    x = rand(3, 4, dtype=dtype, low=-3, high=3)
    for fn in (lambda lib, t: t.sum(), lambda lib, t: t.sum(0), lambda lib, t: lib.nansum(t, 1),
               lambda lib, t: t.prod(1), lambda lib, t: t.amax(1), lambda lib, t: t.all(), lambda lib, t: t.any(0),
               lambda lib, t: lib.count_nonzero(t), lambda lib, t: lib.count_nonzero(t, 1),
               lambda lib, t: t.sum(dtype=lib.float64), lambda lib, t: lib.logsumexp(t, 1)):
        check(fn, x)


def test_sum_mean_dtype_and_empty():
    x = rand(3, 4)
    check(lambda lib, t: t.sum(1, dtype=lib.float64), x)
    check(lambda lib, t: t.mean(dtype=lib.float64), x)
    e = np.zeros((0, 3), dtype=np.float32)
    for fn in (lambda lib, t: t.sum(), lambda lib, t: t.sum(0), lambda lib, t: t.prod(0), lambda lib, t: t.amax(1),
               lambda lib, t: lib.logsumexp(t, 0), lambda lib, t: t.mean(1), lambda lib, t: t.all(0)):
        check(fn, e)


def test_nan_handling():
    x = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, 2.0]], dtype=np.float32)
    check(lambda lib, t: lib.nansum(t, 1), x)
    check(lambda lib, t: lib.nanmean(t, 0), x, grad=False)


@pytest.mark.parametrize("kw", [dict(), dict(correction=0), dict(correction=2), dict(unbiased=False)])
def test_var_std_options(kw):
    x = rand(2, 3, 4, seed=5)
    check(lambda lib, t: t.var(1, **kw), x)
    check(lambda lib, t: t.std((0, 2), keepdim=True, **kw), x)
    check(lambda lib, t: lib.var_mean(t, -1, **kw), x)
    check(lambda lib, t: lib.std_mean(t, **kw), x)


def test_ties_share_gradient():
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], dtype=np.float32)
    for fn in (lambda lib, t: t.amax(), lambda lib, t: t.amax(1), lambda lib, t: t.amin(0), lambda lib, t: t.max(),
               lambda lib, t: t.min()):
        check(fn, x)


def test_logsumexp_stable():
    x = np.array([[1000.0, 1000.0], [-1000.0, -np.inf]], dtype=np.float32)
    check(lambda lib, t: lib.logsumexp(t, 1), x)


@pytest.mark.parametrize("p", [2, 1, float("inf"), "fro"])
def test_norm_orders(p):
    check(lambda lib, t: t.norm(p), rand(3, 4))
    check(lambda lib, t: lib.norm(t, p, dim=1, keepdim=True), rand(3, 4))


# scans --------------------------------------------------------------------------------------

SCANS = {"cumsum": lambda lib, t, d: t.cumsum(d), "cumprod": lambda lib, t, d: lib.cumprod(t, d),
         "logcumsumexp": lambda lib, t, d: t.logcumsumexp(d)}


@pytest.mark.parametrize("name", SCANS)
@pytest.mark.parametrize("shape,dim", [((3, 4), -1), ((3, 4), 0), ((2, 3, 4), 1), ((), 0), ((0, 3), 0)])
def test_scans(name, shape, dim):
    check(lambda lib, t: SCANS[name](lib, t, dim), rand(*shape, low=0.5, high=1.5))


@pytest.mark.parametrize("name", SCANS)
def test_scan_layouts_node_gradcheck(name):
    check_layouts(lambda lib, t: SCANS[name](lib, t, 1), rand(3, 4, low=0.5, high=1.5))
    out = SCANS[name](ember, ember.rand(2, 3, requires_grad=True), 1)
    assert out.grad_fn.name() == name.capitalize() + "Backward0"
    gradcheck(lambda lib, t: SCANS[name](lib, t, 1), rand(2, 3, low=0.5, high=1.5), gradgrad=name != "logcumsumexp")


def test_cumprod_with_zeros_and_ints():
    x = np.array([[2.0, 0.0, 3.0, 0.0], [1.0, 2.0, 0.0, 4.0]])
    check(lambda lib, t: t.cumprod(1), x)
    gradcheck(lambda lib, t: t.cumprod(1), x)
    for dtype in (np.int64, np.bool_):
        i = rand(3, 4, dtype=dtype, low=-2, high=2)
        check(lambda lib, t: t.cumsum(0), i)
        check(lambda lib, t: t.cumprod(1), i)
    check(lambda lib, t: t.cumsum(1, dtype=lib.float64), rand(3, 4))


def test_inplace_scan_matches():
    x = ember.tensor([[1.0, 2.0], [3.0, 4.0]])
    expected = x.cumsum(0)
    x.cumsum_(0)
    assert (x == expected).all().item()


# errors ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fn", [lambda t: t.sum(2), lambda t: t.amax(-3), lambda t: t.prod(5),
                                lambda t: t.var(2), lambda t: t.cumsum(2), lambda t: t.logsumexp(2)])
def test_dim_out_of_range(fn):
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of \[-2, 1\]"):
        fn(ember.ones(2, 3))


def test_dtype_errors():
    i = ember.tensor([[1, 2], [3, 4]])
    with pytest.raises(RuntimeError, match="mean\\(\\): could not infer output dtype.*Got: Long"):
        i.mean()
    with pytest.raises(RuntimeError, match="std and var only support floating point"):
        i.var()
    with pytest.raises(RuntimeError, match="nanmean\\(\\): expected input to have floating point"):
        i.nanmean()
    with pytest.raises(RuntimeError, match="amax\\(\\): Expected reduction dim to be specified"):
        ember.zeros(0, 3).amax()
    with pytest.raises(IndexError, match="amax\\(\\): Expected reduction dim 0 to have non-zero size"):
        ember.zeros(0, 3).amax(0)


def test_all_any_dtypes():
    u = np.array([[0, 2], [1, 1]], dtype=np.uint8)
    check(lambda lib, t: t.all(), u)
    check(lambda lib, t: t.any(1, keepdim=True), u)
    check(lambda lib, t: t.all((0, 1)), rand(2, 3))
    assert ember.ones(2).all().dtype == ember.bool and torch.ones(2).all().dtype == torch.bool


def test_mean_of_empty_is_nan_without_numpy_warnings():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ember.zeros(0).mean().isnan().item()
        assert ember.zeros(0, 3).mean(0).isnan().all().item()
