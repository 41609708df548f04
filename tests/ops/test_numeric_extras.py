"""New top-level functions and Tensor methods against torch: grids and shape builders, order
statistics and counting, arithmetic extras, distances, scatter_reduce, unfold; plus finfo/iinfo,
the process-wide switches, the default device and the top-level in-place forms."""
import math

import numpy as np
import pytest
import torch

import ember
from tests.oracle import check, rand

x = rand(3, 4, dtype=np.float64)
xn = x.copy()
xn[0, 1] = np.nan
idx = np.array([[0, 1, 0, 1], [2, 2, 0, 0]])


def test_grids_and_shapes_match_torch():
    check(lambda lib, a: lib.meshgrid(a[0], a[1, :2], indexing="xy"), x)
    check(lambda lib, a: lib.meshgrid(a[0], a[1, :2]), x)
    check(lambda lib, a: lib.broadcast_tensors(a, a[0]), x)
    check(lambda lib, a: lib.broadcast_to(a[0], (2, 4)), x)
    check(lambda lib, a: lib.cartesian_prod(a[0], a[1, :2]), x)
    check(lambda lib, a: lib.combinations(a[0], 2), x)
    check(lambda lib, a: lib.combinations(a[0], 3, with_replacement=True), x)
    check(lambda lib, a: lib.block_diag(a, a[0], a[1, 1]), x)
    check(lambda lib, a: lib.diagflat(a[0], 1), x)
    for k in (1, 2, 3, -1):
        check(lambda lib, a: lib.rot90(a, k), x)
    check(lambda lib, a: lib.column_stack([a[0], a[1]]), x)


def test_splits_indices_scatter_forms_and_scans_match_torch():
    check(lambda lib, a: lib.hsplit(a, 2), x)
    check(lambda lib, a: lib.vsplit(a, [1]), x)
    check(lambda lib, a: lib.dsplit(a.reshape(3, 2, 2), 2), x)
    check(lambda lib, a: lib.ravel(a.t()), x)
    check(lambda lib: lib.tril_indices(3, 4, 1), grad=False)
    check(lambda lib: lib.triu_indices(4, 3, -1), grad=False)
    check(lambda lib: lib.unravel_index(lib.tensor([4, 7, 11]), (3, 4)), grad=False)
    check(lambda lib, a, b: lib.select_scatter(a, b[0], 0, 1), x, rand(1, 4, dtype=np.float64, seed=3))
    check(lambda lib, a, b: lib.slice_scatter(a, b, 1, 0, 4, 2), x, rand(3, 2, dtype=np.float64, seed=3))
    check(lambda lib, a, b: lib.diagonal_scatter(a, b, 1), x, rand(3, dtype=np.float64, seed=3))
    check(lambda lib, a: lib.cummax(a, 1), x)
    check(lambda lib, a: lib.cummin(a, 0), x)
    check(lambda lib, a: lib.quantile(a, 0.3), x)
    check(lambda lib, a: lib.quantile(a, lib.tensor([0.1, 0.9], dtype=lib.float64), dim=1, keepdim=True), x)


def test_quantiles_searching_and_counting_match_torch():
    for interp in ("lower", "higher", "midpoint", "nearest"):
        check(lambda lib, a: lib.quantile(a, 0.4, dim=0, interpolation=interp), x)
    check(lambda lib, a: lib.nanquantile(a, 0.5, dim=1), xn)
    check(lambda lib, a: lib.quantile(a, 0.5, dim=1), xn)
    check(lambda lib: lib.searchsorted(lib.tensor([1., 3, 5, 7]), lib.tensor([[0., 3, 6], [8, 1, 5]]), right=True), grad=False)
    check(lambda lib: lib.searchsorted(lib.tensor([[1., 3, 5], [2, 4, 6]]), lib.tensor([[3.], [3.]])), grad=False)
    check(lambda lib: lib.bucketize(lib.tensor([0., 3, 6, 9]), lib.tensor([1., 3, 5, 7])), grad=False)
    check(lambda lib: lib.bincount(lib.tensor([0, 1, 1, 4]), minlength=6), grad=False)
    check(lambda lib: lib.bincount(lib.tensor([0, 1, 1, 4]), weights=lib.tensor([0.5, 1., 2., 3.])), grad=False)
    check(lambda lib, a: lib.histc(a, 5), x, grad=False)
    check(lambda lib, a: lib.histc(a, 4, -1, 1), x, grad=False)
    check(lambda lib, a: lib.histogram(a, 5), x, grad=False)


def test_covariance_differences_and_integration_match_torch():
    check(lambda lib, a: lib.cov(a), x)
    check(lambda lib, a: lib.corrcoef(a), x)
    check(lambda lib, a: lib.cov(a, correction=0, fweights=lib.tensor([1, 2, 1, 3]),
                                 aweights=lib.tensor([0.5, 1., 2., 1.], dtype=lib.float64)), x)
    check(lambda lib, a: lib.aminmax(a), x, grad=False)
    check(lambda lib, a: lib.aminmax(a, dim=1, keepdim=True), x, grad=False)
    check(lambda lib, a: lib.diff(a, 2, 1), x)
    check(lambda lib, a: lib.diff(a, dim=0, prepend=a[:1]), x)
    check(lambda lib, a: lib.trapezoid(a), x)
    check(lambda lib, a: lib.trapezoid(a, dx=0.5, dim=0), x)
    check(lambda lib, a, b: lib.trapezoid(a, b[0]), x, rand(1, 4, dtype=np.float64, seed=2))
    check(lambda lib, a: lib.cumulative_trapezoid(a), x)
    check(lambda lib: lib.gcd(lib.tensor([4, 6, 9]), lib.tensor([6, 4, 3])), grad=False)
    check(lambda lib: lib.lcm(lib.tensor([4, 6, 9]), lib.tensor([6, 4, 3])), grad=False)
    check(lambda lib, a, b: lib.logaddexp(a, b), x, x.T.copy().reshape(3, 4))
    check(lambda lib, a, b: lib.logaddexp2(a, b), x, x[::-1].copy())


def test_arithmetic_extras_match_torch():
    check(lambda lib, a: lib.float_power(a.abs(), 2.5), x)
    check(lambda lib, a: lib.ldexp(a, lib.tensor([1, 2, 3, 0])), x)
    check(lambda lib, a: lib.frexp(a), x, grad=False)
    check(lambda lib, a: lib.nextafter(a, lib.zeros(1, dtype=lib.float64)), x, grad=False)
    check(lambda lib: lib.isposinf(lib.tensor([1., float('inf'), -float('inf')])), grad=False)
    check(lambda lib: lib.isin(lib.tensor([1, 2, 3, 4]), lib.tensor([2, 4])), grad=False)
    check(lambda lib, a, b, c: lib.addr(a, b, c, beta=0.5, alpha=2), x, x[0, :3].copy(), x[1].copy())
    check(lambda lib, a: lib.chain_matmul(a, a.t(), a), x)
    check(lambda lib, a: lib.vander(a[0], 3), x, grad=False)
    check(lambda lib, a: lib.vander(a[0], increasing=True), x, grad=False)
    check(lambda lib, a, b: lib.cdist(a, b), x, rand(5, 4, dtype=np.float64, seed=4))


def test_distances_repeats_and_windows_match_torch():
    check(lambda lib, a, b: lib.cdist(a, b, p=1), x, rand(5, 4, dtype=np.float64, seed=4))
    check(lambda lib, a, b: lib.cdist(a, b, p=3), x, rand(5, 4, dtype=np.float64, seed=4))
    check(lambda lib, a, b: lib.cdist(a, b, compute_mode="use_mm_for_euclid_dist"), x, rand(5, 4, dtype=np.float64, seed=4))
    check(lambda lib, a, b: lib.dist(a, b, 3), x, x[::-1].copy())
    check(lambda lib, a: lib.renorm(a, 2, 0, 1.0), x)
    check(lambda lib, a: lib.repeat_interleave(a, 2, dim=0), x)
    check(lambda lib, a: a.repeat_interleave(lib.tensor([1, 0, 2, 3]), dim=1), x)
    check(lambda lib: lib.repeat_interleave(lib.tensor([2, 1, 3])), grad=False)
    check(lambda lib, a: a.unfold(1, 2, 1), x)
    check(lambda lib, a: a.unfold(0, 2, 2), x)
    check(lambda lib, a: a.sum_to_size(1, 4), x)


def test_index_put_accumulate_matches_torch():
    check(lambda lib, a: a.index_put((lib.tensor([0, 2]), lib.tensor([1, 3])), lib.tensor([5., 6.], dtype=lib.float64),
                                     accumulate=True), x)


@pytest.mark.parametrize("red", ["sum", "mean", "amax", "amin", "prod"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_matches_torch(red, include_self):
    check(lambda lib, a, s: a.scatter_reduce(0, lib.tensor(idx), s, red, include_self=include_self), x,
          rand(2, 4, dtype=np.float64, seed=7))
    check(lambda lib, a, s: lib.scatter_reduce(a, 1, lib.tensor(idx[:, :3]), s, red, include_self=include_self), x,
          rand(2, 3, dtype=np.float64, seed=8))


def test_finfo_iinfo_match_torch():
    for e, t in ((ember.float32, torch.float32), (ember.float64, torch.float64), (ember.float16, torch.float16),
                 (ember.bfloat16, torch.bfloat16), (ember.complex64, torch.complex64)):
        fe, ft = ember.finfo(e), torch.finfo(t)
        assert (fe.eps, fe.max, fe.min, fe.tiny, fe.bits, fe.resolution) == (ft.eps, ft.max, ft.min, ft.tiny, ft.bits,
                                                                             ft.resolution)
    for e, t in ((ember.int8, torch.int8), (ember.uint8, torch.uint8), (ember.int64, torch.int64)):
        assert (ember.iinfo(e).min, ember.iinfo(e).max, ember.iinfo(e).bits) == (torch.iinfo(t).min,
                                                                               torch.iinfo(t).max, torch.iinfo(t).bits)
    with pytest.raises(TypeError):
        ember.finfo(ember.int32)
    with pytest.raises(TypeError):
        ember.iinfo(ember.float32)
    assert ember.pi == torch.pi and ember.e == torch.e and ember.inf == torch.inf and math.isnan(ember.nan)


def test_switches_record_and_answer():
    assert not ember.are_deterministic_algorithms_enabled()
    try:
        ember.use_deterministic_algorithms(True, warn_only=True)
        assert ember.are_deterministic_algorithms_enabled() and ember.is_deterministic_algorithms_warn_only_enabled()
        assert ember.get_deterministic_debug_mode() == 1
        ember.set_deterministic_debug_mode("error")
        assert ember.get_deterministic_debug_mode() == 2 and not ember.is_deterministic_algorithms_warn_only_enabled()
        with pytest.raises(RuntimeError, match="invalid value of debug_mode"):
            ember.set_deterministic_debug_mode(5)
    finally:
        ember.use_deterministic_algorithms(False)
    ember.set_float32_matmul_precision("high")
    assert ember.get_float32_matmul_precision() == "high"
    ember.set_float32_matmul_precision("highest")
    with pytest.raises(RuntimeError):
        ember.set_float32_matmul_precision("fast")


def test_default_device_and_queries():
    ember.set_default_device("cpu")
    try:
        assert ember.get_default_device() == ember.device("cpu") and ember.zeros(1).device.type == "cpu"
    finally:
        ember.set_default_device(None)
    t = ember.tensor([1.5])
    assert t.is_cpu and t.get_device() == -1 and not t.is_meta and t.is_signed() and ember.is_nonzero(t)
    assert not ember.tensor([1], dtype=ember.uint8).is_signed() and ember.is_complex(t.cfloat())
    assert t.cdouble().dtype is ember.complex128 and ember.is_same_size(t, ember.ones(1))
    with pytest.raises(RuntimeError, match="more than one value is ambiguous"):
        ember.ones(2).is_nonzero()
    assert ember.typename(t) == "ember.FloatTensor" and ember.typename(1) == "int"


def test_top_level_inplace_forms_and_view_inplace_methods():
    a = ember.tensor([-1.0, 4.0])
    assert ember.relu_(a) is a and a.tolist() == [0.0, 4.0]
    assert ember.sqrt_(a).tolist() == [0.0, 2.0] and ember.zero_(a).tolist() == [0.0, 0.0]
    assert ember.fill(a, 3.0).tolist() == [3.0, 3.0] and a.tolist() == [0.0, 0.0]
    m = ember.ones(2, 3)
    assert m.t_() is m and m.shape == (3, 2)
    m.unsqueeze_(0).squeeze_(0).transpose_(0, 1)
    assert m.shape == (2, 3)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        ember.ones(2, 2, requires_grad=True).t_()
    d = ember.zeros(3, 3)
    d.fill_diagonal_(2.0)
    np.testing.assert_array_equal(d.numpy(), torch.zeros(3, 3).fill_diagonal_(2.0).numpy())
    tall = ember.zeros(7, 3)
    tall.fill_diagonal_(1.0, wrap=True)
    np.testing.assert_array_equal(tall.numpy(), torch.zeros(7, 3).fill_diagonal_(1.0, wrap=True).numpy())
    assert a.new(2, 3).shape == (2, 3) and a.new([1, 2]).dtype is ember.float32


def test_errors_match_torch():
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="indexing must be one of"):
            lib.meshgrid(lib.ones(2), indexing="yx")
        with pytest.raises(RuntimeError, match=r"q must be in the range \[0, 1\] but got 1.5"):
            lib.quantile(lib.ones(3), 1.5)
        with pytest.raises(RuntimeError, match="bincount only supports 1-d non-negative integral inputs"):
            lib.bincount(lib.tensor([-1, 2]))
        with pytest.raises(RuntimeError, match="X1 and X2 must have the same number of columns"):
            lib.cdist(lib.ones(2, 3), lib.ones(2, 4))
        with pytest.raises(RuntimeError, match="expected rotation dims to be different"):
            lib.rot90(lib.ones(2, 2), 1, (0, 0))
        with pytest.raises(RuntimeError, match="reduce argument must be either"):
            lib.ones(3).scatter_reduce(0, lib.tensor([0]), lib.ones(1), "foo")


def test_storage_views_splits_and_qr_forms_match_torch():
    a = rand(5, 3, dtype=np.float64)
    check(lambda lib, t: lib.geqrf(t), a, grad=False, atol=1e-10)
    check(lambda lib, t: lib.ormqr(*lib.geqrf(t), lib.eye(5, dtype=lib.float64), transpose=True), a, grad=False,
          atol=1e-10)
    check(lambda lib, t: lib.nuclear_norm(t), a)
    check(lambda lib, t: lib.pdist(t), a)
    check(lambda lib, t: lib.pdist(t, p=1), a)
    check(lambda lib, t: lib.gradient(t, spacing=2.0), a)
    check(lambda lib, t: lib.gradient(t, dim=1), a)
    check(lambda lib, t: lib.hardshrink(t, 0.5), a)
    check(lambda lib, t: t.hardshrink(), a)
    check(lambda lib, t: lib.as_strided(t, (2, 2), (1, 3), 1), a)
    check(lambda lib, t: lib.as_strided_scatter(t, lib.ones(2, 2, dtype=lib.float64), (2, 2), (1, 3), 1), a,
          grad=False)
    check(lambda lib, t: t.split_with_sizes([2, 3]), a)
    check(lambda lib, t: lib.unsafe_chunk(t, 2, 1), a)
    check(lambda lib, t: lib.index_reduce(t, 0, lib.tensor([0, 2, 0, 1, 4]), t * 2, "amax", include_self=False), a)
    check(lambda lib, t: t.index_reduce(0, lib.tensor([0, 2, 0, 1, 4]), t + 1, "prod"), a)
    check(lambda lib: lib.range(1, 4, 0.5), grad=False)
    check(lambda lib: lib.scalar_tensor(3), grad=False)
    check(lambda lib: lib.frombuffer(bytearray(b"\x01\x02\x03\x04"), dtype=lib.int16), grad=False)


def test_storage_level_operations():
    x = ember.arange(12.0).reshape(3, 4)
    v = ember.as_strided(x, (2, 2), (1, 4), 1)
    v[0, 0] = 100.0  # a view of x's memory
    assert x[0, 1].item() == 100.0
    assert ember.empty_strided((2, 3), (1, 2)).stride() == torch.empty_strided((2, 3), (1, 2)).stride()
    z = ember.tensor([1.0, 2.0, 3.0])
    assert z.resize_(5).shape == (5,) and z[:3].tolist() == [1.0, 2.0, 3.0]
    assert z.resize_(2, 1).tolist() == [[1.0], [2.0]]
    assert x.t().dim_order() == torch.ones(3, 4).t().dim_order() and x.const_data_ptr() == x.data_ptr()
    a = ember.tensor([1.0, 2.0])
    a.apply_(lambda v: v * 10)
    a.map_(ember.tensor([1.0, 1.0]), lambda p, q: p + q)
    assert a.tolist() == [11.0, 21.0]
    assert ember.get_device(a) == -1 and not ember.is_inference(a)
    with pytest.raises(RuntimeError, match="cannot resize variables that require grad"):
        ember.ones(2, requires_grad=True).resize_(3)
