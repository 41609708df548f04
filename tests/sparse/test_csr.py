"""Sparse CSR matrices against torch: construction, conversions, repr, gradients (values, to_dense, sparse.mm,
sampled_addmm) with torch's layouts, and errors."""
import numpy as np
import pytest
import torch

import ember

RNG = np.random.default_rng(0)
X = RNG.standard_normal((4, 5)).astype(np.float32)
X[RNG.random((4, 5)) < 0.5] = 0


def same(e, t):
    assert str(e.layout) == str(t.layout).replace("torch", "ember")
    assert tuple(e.shape) == tuple(t.shape)
    ed = e.detach().to_dense() if e.layout is not ember.strided else e.detach()
    td = t.detach().to_dense() if t.layout is not torch.strided else t.detach()
    np.testing.assert_allclose(ed.numpy(), td.numpy(), rtol=1e-5, atol=1e-6)


def test_dense_to_csr_and_back_match_torch():
    e, t = ember.tensor(X).to_sparse_csr(), torch.tensor(X).to_sparse_csr()
    same(e, t)
    assert e.is_sparse_csr and not e.is_sparse and e.layout is ember.sparse_csr
    for name in ("crow_indices", "col_indices", "values"):
        np.testing.assert_array_equal(getattr(e, name)().detach().numpy(), getattr(t, name)().detach().numpy())
    assert repr(e) == repr(t).replace("torch.", "ember.")
    same(e.to_sparse(), t.to_sparse())
    same(ember.tensor(X).to_sparse().to_sparse_csr(), torch.tensor(X).to_sparse().to_sparse_csr())
    same(ember.tensor(X).to_sparse(layout=ember.sparse_csr), torch.tensor(X).to_sparse(layout=torch.sparse_csr))


def test_constructor_and_repr_match_torch():
    args = ([0, 2, 2, 3], [0, 3, 1], [1.0, 2.0, 3.0], (3, 4))
    e, t = ember.sparse_csr_tensor(*args, dtype=ember.float64), torch.sparse_csr_tensor(*args, dtype=torch.float64)
    same(e, t)
    assert repr(e) == repr(t).replace("torch.", "ember.")
    assert repr(e * 2) == repr(t * 2).replace("torch.", "ember.")
    same(-e, -t)
    with pytest.raises(NotImplementedError, match="'div' with arguments from the 'SparseCsrCPU'"):
        e / 4  # torch 2.13: "unsupported tensor layout: SparseCsr"


def test_gradients_keep_torchs_layouts():
    w = RNG.standard_normal((4, 5)).astype(np.float32)
    out = []
    for lib in (ember, torch):
        x = lib.tensor(X, requires_grad=True)
        c = x.to_sparse_csr()
        v = c.detach().values().clone().requires_grad_()
        c2 = lib.sparse_csr_tensor(c.crow_indices(), c.col_indices(), v, c.shape)
        leaf = c.detach().requires_grad_()
        d = lib.tensor(RNG.standard_normal((5, 3)).astype(np.float32) if lib is ember else out[0][-1],
                       requires_grad=True)
        ((c.to_dense() + c2.to_dense()) * lib.tensor(w)).sum().backward()
        lib.sparse.mm(leaf, d).pow(2).sum().backward()
        out.append((x.grad, v.grad, leaf.grad, d.grad, d.detach().numpy()))
    for a, b in zip(out[0][:4], out[1][:4]):
        same(a, b)


def test_sampled_addmm_matches_torch():
    m1, m2 = RNG.standard_normal((4, 3)).astype(np.float32), RNG.standard_normal((3, 5)).astype(np.float32)
    res = []
    for lib in (ember, torch):
        inp = lib.tensor(X).to_sparse_csr().requires_grad_()
        a, b = lib.tensor(m1, requires_grad=True), lib.tensor(m2, requires_grad=True)
        out = lib.sparse.sampled_addmm(inp, a, b, beta=0.5, alpha=2.0)
        out.to_dense().pow(2).sum().backward()
        res.append((out, inp.grad, a.grad, b.grad))
    for x, y in zip(*res):
        same(x, y)


def test_invariant_checks_and_errors():
    with pytest.raises(RuntimeError, match="crow_indices"):
        ember.sparse_csr_tensor([0, 1], [0, 1], [1.0, 2.0], (2, 2), check_invariants=True)
    with pytest.raises(RuntimeError, match="col_indices"):
        ember.sparse_csr_tensor([0, 1, 2], [0, 5], [1.0, 2.0], (2, 2), check_invariants=True)
    with pytest.raises(RuntimeError, match="expected sparse row compressed tensor layout"):
        ember.ones(2, 2).crow_indices()
    c = ember.tensor(X).to_sparse_csr()
    with pytest.raises(NotImplementedError, match="Could not run 'exp' with arguments from the 'SparseCsrCPU'"):
        c.exp()
    with pytest.raises(RuntimeError, match="Expected input to be a sparse CSR"):
        ember.sparse.sampled_addmm(ember.ones(2, 2), ember.ones(2, 2), ember.ones(2, 2))
