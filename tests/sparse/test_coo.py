"""Sparse COO tensors against torch: construction, conversion, coalescing, arithmetic, repr and errors."""
import numpy as np
import pytest
import torch

import ember

IDX = [[0, 1, 1, 0, 2], [2, 0, 2, 2, 1]]  # (0, 2) appears twice: uncoalesced
VAL = [3.0, 4.0, 5.0, -1.0, 2.0]


def pair(indices=IDX, values=VAL, size=(3, 3), **kw):
    size = () if size is None else (size,)
    return (ember.sparse_coo_tensor(indices, values, *size, **kw),
            torch.sparse_coo_tensor(indices, values, *size, **kw))


def same(e, t):
    """Same layout, shape, dtype and dense values."""
    assert str(e.layout) == str(t.layout).replace("torch", "ember")
    assert tuple(e.shape) == tuple(t.shape) and str(e.dtype) == str(t.dtype).replace("torch", "ember")
    ed = e.detach().to_dense() if e.is_sparse else e.detach()
    td = t.detach().to_dense() if t.is_sparse else t.detach()
    np.testing.assert_allclose(ed.numpy(), td.numpy(), rtol=1e-6, atol=1e-6)


def test_storage_queries_match_torch():
    e, t = pair()
    assert e.is_sparse and t.is_sparse and e.layout is ember.sparse_coo and ember.ones(1).layout is ember.strided
    assert (e._nnz(), e.sparse_dim(), e.dense_dim(), e.is_coalesced()) == (5, 2, 0, False) == \
        (t._nnz(), t.sparse_dim(), t.dense_dim(), t.is_coalesced())
    np.testing.assert_array_equal(e._indices().numpy(), t._indices().numpy())
    np.testing.assert_array_equal(e._values().numpy(), t._values().numpy())
    same(e, t)
    ec, tc = e.coalesce(), t.coalesce()
    assert ec.is_coalesced() and ec._nnz() == tc._nnz() == 4
    np.testing.assert_array_equal(ec.indices().numpy(), tc.indices().numpy())
    np.testing.assert_array_equal(ec.values().numpy(), tc.values().numpy())
    assert ec.coalesce() is ec


def test_dense_dims_and_inferred_size():
    vals = [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
    e, t = pair([[0, 3, 0]], vals, None)
    assert tuple(e.shape) == tuple(t.shape) == (4, 2) and e.dense_dim() == t.dense_dim() == 1
    same(e, t)
    same(e.coalesce(), t.coalesce())
    np.testing.assert_array_equal(e.coalesce().values().numpy(), t.coalesce().values().numpy())


@pytest.mark.parametrize("sparse_dim", [None, 1, 2])
def test_to_sparse_and_back_match_torch(sparse_dim):
    x = np.array([[[0, 1.5], [0, 0]], [[2, 0], [0, 0]], [[0, 0], [0, -3]]], dtype=np.float32)
    args = () if sparse_dim is None else (sparse_dim,)
    e, t = ember.tensor(x).to_sparse(*args), torch.tensor(x).to_sparse(*args)
    same(e, t)
    assert e.is_coalesced() == t.is_coalesced() and e._nnz() == t._nnz()
    np.testing.assert_array_equal(e._indices().numpy(), t._indices().numpy())
    np.testing.assert_array_equal(e._values().numpy(), t._values().numpy())
    assert e.to_sparse_coo()._nnz() == e._nnz() and e.to_dense().layout is ember.strided


def test_to_sparse_zero_sparse_dims_raises_like_torch():
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="sparse_dim argument must be in >0 when self.dim"):
            lib.ones(2, 2).to_sparse(0)
    assert ember.tensor(2.0).to_sparse().to_dense().item() == 2.0


@pytest.mark.parametrize("case", ["float64", "requires_grad", "plain", "empty", "dense_dim", "grad_fn"])
def test_repr_matches_torch(case):
    def build(lib):
        if case == "float64":
            return lib.sparse_coo_tensor(IDX, VAL, (3, 3), dtype=lib.float64)
        if case == "requires_grad":
            return lib.sparse_coo_tensor(IDX, VAL, (3, 3), requires_grad=True)
        if case == "empty":
            return lib.sparse_coo_tensor(lib.zeros(2, 0, dtype=lib.int64), lib.zeros(0), (2, 2))
        if case == "dense_dim":
            return lib.sparse_coo_tensor([[0, 2]], [[1.5, 2.0], [3.0, 4.0]], (3, 2))
        if case == "grad_fn":
            return lib.sparse_coo_tensor(IDX, VAL, (3, 3), requires_grad=True) * 2
        return lib.sparse_coo_tensor(IDX, VAL, (3, 3))
    assert repr(build(ember)) == repr(build(torch)).replace("torch.", "ember.")


@pytest.mark.parametrize("op", [
    lambda lib, s, d: s * 2, lambda lib, s, d: 2 * s, lambda lib, s, d: -s, lambda lib, s, d: s / 4,
    lambda lib, s, d: s + s, lambda lib, s, d: s - s * 3, lambda lib, s, d: d + s, lambda lib, s, d: d - s,
    lambda lib, s, d: s * d, lambda lib, s, d: s.double(), lambda lib, s, d: s.clone(),
], ids=["mul", "rmul", "neg", "div", "add", "sub", "add_dense", "dense_sub", "mul_dense", "double", "clone"])
def test_arithmetic_matches_torch(op):
    e, t = pair()
    d = np.arange(9, dtype=np.float32).reshape(3, 3)
    same(op(ember, e, ember.tensor(d)), op(torch, t, torch.tensor(d)))


@pytest.mark.parametrize("kw,indices,values,size", [
    (dict(check_invariants=True), [[0, 5]], [1.0, 2.0], (3,)),
    (dict(check_invariants=True), [[0, -1]], [1.0, 2.0], (3,)),
    ({}, [[0, 1]], [1.0, 2.0, 3.0], (3,)),
    ({}, [[0, 1], [1, 0]], [1.0, 2.0], (3,)),
], ids=["too_big", "negative", "nnz", "ndim"])
def test_construction_errors_match_torch(kw, indices, values, size):
    with pytest.raises(RuntimeError) as ref:
        torch.sparse_coo_tensor(indices, values, size, **kw)
    with pytest.raises(RuntimeError) as mine:
        ember.sparse_coo_tensor(indices, values, size, **kw)
    assert str(mine.value) == str(ref.value)


def test_check_sparse_tensor_invariants_switches_checking_like_torch():
    for lib in (ember, torch):
        checks = lib.sparse.check_sparse_tensor_invariants
        assert not checks.is_enabled()
        lib.sparse_coo_tensor([[0, 5]], [1.0, 2.0], (3,))  # unchecked: accepted
        with checks():
            assert checks.is_enabled()
            with pytest.raises(RuntimeError, match="size is inconsistent with indices"):
                lib.sparse_coo_tensor([[0, 5]], [1.0, 2.0], (3,))
        assert not checks.is_enabled()

        @checks()
        def build():
            return lib.sparse_coo_tensor([[0, -1]], [1.0, 2.0], (3,))

        with pytest.raises(RuntimeError, match="found negative index -1 for dim 0"):
            build()
        checks.enable()
        assert checks.is_enabled()
        checks.disable()


def test_unsupported_ops_raise_not_implemented_naming_op_and_layout():
    e, t = pair()
    for name, fn in (("cumsum", lambda s: s.cumsum(0)), ("exp", lambda s: s.exp()), ("view", lambda s: s.view(-1))):
        with pytest.raises(NotImplementedError, match=f"Could not run 'aten::{name}' with arguments from the "
                                                      "'SparseCPU' backend"):
            fn(t)
        with pytest.raises(NotImplementedError, match=f"Could not run '{name}' with arguments from the "
                                                      "'SparseCPU' backend"):
            fn(e)
    with pytest.raises(NotImplementedError, match="'getitem'.*SparseCPU"):
        e[e._indices()]
    with pytest.raises(TypeError) as mine:
        e.numpy()
    with pytest.raises(TypeError) as ref:
        t.numpy()
    assert str(mine.value) == str(ref.value)


def test_sparse_plus_dense_raises_torchs_error():
    e, t = pair()
    for a, b in ((e, ember.ones(3, 3)), (t, torch.ones(3, 3))):
        with pytest.raises(RuntimeError, match=r"add\(sparse, dense\) is not supported. Use add\(dense, sparse\)"):
            a + b


def test_indices_and_values_need_a_coalesced_tensor_like_torch():
    e, t = pair()
    for what in ("indices", "values"):
        with pytest.raises(RuntimeError) as ref:
            getattr(t, what)()
        with pytest.raises(RuntimeError) as mine:
            getattr(e, what)()
        assert str(mine.value) == str(ref.value)


def test_sparse_mask_matches_torch():
    e, t = pair()
    d = np.arange(9, dtype=np.float32).reshape(3, 3) + 1
    em, tm = ember.tensor(d).sparse_mask(e.coalesce()), torch.tensor(d).sparse_mask(t.coalesce())
    same(em, tm)
    np.testing.assert_array_equal(em._values().numpy(), tm._values().numpy())


def test_compressed_layouts_raise_clear_errors():
    x = ember.eye(3)
    for fn in (x.to_sparse_csr, lambda: x.to_sparse(layout=ember.sparse_csr),
               lambda: ember.sparse.sampled_addmm(x.to_sparse(), x, x)):
        with pytest.raises(NotImplementedError, match="CSR.*not built|not built.*CSR"):
            fn()
    msgs = []
    for lib in (ember, torch):
        with pytest.raises(RuntimeError) as err:
            lib.sparse.to_sparse_semi_structured(lib.ones(32, 32))
        msgs.append(str(err.value))
        with pytest.raises(RuntimeError):
            lib.sparse.SparseSemiStructuredTensorCUTLASS.from_dense(lib.ones(32, 32))
    assert msgs[0].startswith(msgs[1])
