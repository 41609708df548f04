"""ember.sparse functions and the gradients through sparse tensors against torch: values, gradient values and
gradient layouts; float64 gradcheck through as_sparse_gradcheck."""
import numpy as np
import pytest
import torch

import ember

RNG = np.random.default_rng(0)


def random_coo(shape, nnz, dense=(), seed=0, coalesced=False):
    rng = np.random.default_rng(seed)
    idx = np.stack([rng.integers(0, n, nnz) for n in shape])
    if coalesced:
        idx = np.unique(idx, axis=1)
    vals = rng.standard_normal((idx.shape[1],) + dense)
    return idx, vals


def leaves(idx, vals, shape, dtype=np.float32):
    e = ember.sparse_coo_tensor(idx, vals.astype(dtype), shape, requires_grad=True)
    t = torch.sparse_coo_tensor(idx, vals.astype(dtype), shape, requires_grad=True)
    return e, t


def assert_same(e, t, tol=1e-5):
    assert str(e.layout) == str(t.layout).replace("torch", "ember"), (e.layout, t.layout)
    assert tuple(e.shape) == tuple(t.shape)
    ed = e.detach().to_dense() if e.is_sparse else e.detach()
    td = t.detach().to_dense() if t.is_sparse else t.detach()
    np.testing.assert_allclose(ed.numpy(), td.numpy(), rtol=tol, atol=tol)


def assert_grads(e_leaves, t_leaves):
    for e, t in zip(e_leaves, t_leaves):
        assert (e.grad is None) == (t.grad is None)
        if t.grad is not None:
            assert_same(e.grad, t.grad)
            if t.grad.is_sparse:  # the same pattern, entry by entry, as torch's
                np.testing.assert_array_equal(e.grad._indices().numpy(), t.grad._indices().numpy())


def run_both(fn, make):
    (e_in, t_in) = make()
    e_out, t_out = fn(ember, *e_in), fn(torch, *t_in)
    assert_same(e_out, t_out)
    w = RNG.standard_normal(tuple(t_out.shape)).astype(np.float32)
    (e_out.to_dense() if e_out.is_sparse else e_out).mul(ember.tensor(w)).sum().backward()
    (t_out.to_dense() if t_out.is_sparse else t_out).mul(torch.tensor(w)).sum().backward()
    assert_grads(e_in, t_in)


def sparse_and_dense(shape, nnz, dense_shape, seed=0, coalesced=False):
    def make():
        idx, vals = random_coo(shape, nnz, seed=seed, coalesced=coalesced)
        e, t = leaves(idx, vals, shape)
        d = np.random.default_rng(seed + 1).standard_normal(dense_shape).astype(np.float32)
        ed, td = ember.tensor(d, requires_grad=True), torch.tensor(d, requires_grad=True)
        return (e, ed), (t, td)
    return make


@pytest.mark.parametrize("coalesced", [False, True])
def test_sparse_mm_values_and_gradient_layouts(coalesced):
    run_both(lambda lib, s, d: lib.sparse.mm(s, d), sparse_and_dense((5, 4), 9, (4, 3), coalesced=coalesced))


def test_sparse_addmm():
    def make():
        (e, ed), (t, td) = sparse_and_dense((5, 4), 7, (4, 3))()
        m = RNG.standard_normal((5, 3)).astype(np.float32)
        return (ember.tensor(m, requires_grad=True), e, ed), (torch.tensor(m, requires_grad=True), t, td)
    run_both(lambda lib, m, s, d: lib.sparse.addmm(m, s, d, beta=0.5, alpha=2.0), make)


def _sparse_only(shape, nnz, dense=(), coalesced=False):
    def make():
        idx, vals = random_coo(shape[:len(shape) - len(dense)], nnz, dense, coalesced=coalesced)
        e, t = leaves(idx, vals, shape)
        return (e,), (t,)
    return make


@pytest.mark.parametrize("fn", [
    lambda lib, s: s.to_dense(), lambda lib, s: lib.sparse.sum(s), lambda lib, s: lib.sparse.sum(s, dim=1),
    lambda lib, s: lib.sparse.sum(s, dim=(0, 1)), lambda lib, s: lib.sparse.sum(s, dim=-2),
    lambda lib, s: s.coalesce(), lambda lib, s: s * 3, lambda lib, s: (s + s).to_dense(),
], ids=["to_dense", "sum", "sum1", "sum01", "sum-2", "coalesce", "mul", "add"])
def test_sparse_reductions_and_conversions(fn):
    run_both(fn, _sparse_only((4, 5), 8))


@pytest.mark.parametrize("fn", [
    lambda lib, s: lib.sparse.sum(s, dim=0), lambda lib, s: lib.sparse.sum(s, dim=1),
    lambda lib, s: lib.sparse.sum(s, dim=(0, 1)), lambda lib, s: lib.sparse.sum(s), lambda lib, s: s.to_dense(),
], ids=["sparse_dim", "dense_dim", "both", "all", "to_dense"])
def test_hybrid_tensor_with_a_dense_dim(fn):
    run_both(fn, _sparse_only((4, 3), 5, dense=(3,)))


@pytest.mark.parametrize("dim", [0, 1])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_over_stored_entries(name, dim):
    run_both(lambda lib, s: getattr(lib.sparse, name)(s, dim), _sparse_only((4, 5), 10))


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_negative_dim_is_the_wrapped_dim(name):
    # (torch 2.13's backward for dim=-1 disagrees with its own dim=1 one; ember's are the same)
    grads = []
    for dim in (-1, 1):
        (s,), _ = _sparse_only((4, 5), 10)()
        out = getattr(ember.sparse, name)(s, dim)
        (out.to_dense() * ember.arange(20.0).reshape(4, 5)).sum().backward()
        grads.append((out.detach().to_dense().numpy(), s.grad.to_dense().numpy()))
    np.testing.assert_array_equal(grads[0][0], grads[1][0])
    np.testing.assert_array_equal(grads[0][1], grads[1][1])


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_along_a_dense_dim(name):
    run_both(lambda lib, s: getattr(lib.sparse, name)(s, 1), _sparse_only((4, 3), 3, dense=(3,), coalesced=True))


def test_values_gradient_is_sparse_like_torchs():
    idx, vals = random_coo((4, 4), 6, coalesced=True)
    e, t = leaves(idx, vals, (4, 4))
    (e.coalesce().values() * ember.arange(len(vals))).sum().backward()
    (t.coalesce().values() * torch.arange(len(vals))).sum().backward()
    assert_grads([e], [t])
    e2, t2 = leaves(idx, vals, (4, 4))
    assert e2._values().requires_grad is t2._values().requires_grad is False


def test_constructor_gradient_reaches_the_values():
    idx, vals = random_coo((3, 4), 6)
    ev, tv = ember.tensor(vals, requires_grad=True), torch.tensor(vals, requires_grad=True)
    w = RNG.standard_normal((3, 4))
    (ember.sparse_coo_tensor(idx, ev, (3, 4)).to_dense() * ember.tensor(w)).sum().backward()
    (torch.sparse_coo_tensor(idx, tv, (3, 4)).to_dense() * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(ev.grad.numpy(), tv.grad.numpy(), rtol=1e-12)


def test_to_sparse_gradient_is_dense():
    x = RNG.standard_normal((3, 4)).astype(np.float32)
    x[x < 0] = 0
    ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ember.sparse.sum(ex.to_sparse() * 2).backward()
    torch.sparse.sum(tx.to_sparse() * 2).backward()
    assert_same(ex.grad, tx.grad)


def test_two_sparse_gradients_accumulate_like_torch():
    idx, vals = random_coo((4, 4), 5)
    e, t = leaves(idx, vals, (4, 4))
    for lib, s in ((ember, e), (torch, t)):
        lib.sparse.sum(s).backward()
        lib.sparse.sum(s * 3).backward()
    assert e.grad.is_sparse and t.grad.is_sparse
    assert_same(e.grad, t.grad)
    for s in (e, t):
        s.to_dense().sum().backward()
    assert_same(e.grad, t.grad)


def test_spdiags_values_and_gradient():
    d = RNG.standard_normal((3, 5)).astype(np.float32)
    offsets = [0, -1, 2]
    for shape in ((5, 5), (4, 6), (3, 5)):  # (torch 2.13 misplaces entries when rows > columns)
        ed = ember.tensor(d, requires_grad=True)
        es = ember.sparse.spdiags(ed, ember.tensor(offsets), shape)
        ts = torch.sparse.spdiags(torch.tensor(d), torch.tensor(offsets), shape)
        assert_same(es, ts)
        np.testing.assert_array_equal(es._indices().numpy(), ts._indices().numpy())
        w = RNG.standard_normal(shape).astype(np.float32)
        (es.to_dense() * ember.tensor(w)).sum().backward()
        expected = np.zeros_like(d)  # torch has no spdiags derivative: d out[j - off, j] / d diagonals[k, j] = 1
        for k, off in enumerate(offsets):
            for j in range(d.shape[1]):
                if 0 <= j - off < shape[0] and j < shape[1]:
                    expected[k, j] = w[j - off, j]
        np.testing.assert_allclose(ed.grad.numpy(), expected, rtol=1e-6)


def test_solve_matches_dense_solve_with_sparse_gradient():
    a = np.eye(4) * 3 + np.diag(np.ones(3), 1) - np.diag(np.ones(3), -1) * 0.5
    b = RNG.standard_normal((4, 2))
    ea = ember.tensor(a).to_sparse().requires_grad_()
    eb = ember.tensor(b, requires_grad=True)
    x = ember.sparse.solve(ea, eb)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    tx = torch.linalg.solve(ta, tb)
    np.testing.assert_allclose(x.detach().numpy(), tx.detach().numpy(), rtol=1e-12)
    x.sum().backward()
    tx.sum().backward()
    assert ea.grad.is_sparse
    mask = a != 0
    np.testing.assert_allclose(ea.grad.to_dense().numpy()[mask], ta.grad.numpy()[mask], rtol=1e-10)
    np.testing.assert_allclose(eb.grad.numpy(), tb.grad.numpy(), rtol=1e-10)


@pytest.mark.parametrize("fn", [
    lambda s, d: ember.sparse.mm(s, d), lambda s, d: ember.sparse.softmax(s, 1),
    lambda s, d: ember.sparse.log_softmax(s, 0), lambda s, d: ember.sparse.sum(s, 1),
    lambda s, d: s.to_dense() * d.sum(), lambda s, d: ember.sparse.addmm(d[:3, :2], s, d[:, :2]),
], ids=["mm", "softmax", "log_softmax", "sum", "to_dense", "addmm"])
def test_gradcheck_through_sparse_inputs(fn):
    idx, vals = random_coo((3, 4), 6, seed=2, coalesced=True)
    s = ember.sparse_coo_tensor(idx, vals, (3, 4), dtype=ember.float64, requires_grad=True)
    d = ember.tensor(RNG.standard_normal((4, 3)), requires_grad=True)
    assert ember.sparse.as_sparse_gradcheck(ember.autograd.gradcheck)(fn, (s, d))


def test_bad_operands_raise_like_torch():
    s = ember.eye(3).to_sparse()
    ts = torch.eye(3).to_sparse()
    with pytest.raises(RuntimeError) as mine:
        ember.sparse.mm(s, ember.ones(2, 2))
    with pytest.raises(RuntimeError) as ref:
        torch.sparse.mm(ts, torch.ones(2, 2))
    assert str(mine.value) == str(ref.value)
    with pytest.raises(RuntimeError, match="expected a sparse COO tensor"):
        ember.sparse.sum(ember.ones(2))
    with pytest.raises(IndexError, match="Dimension out of range"):
        ember.sparse.softmax(s, 2)
