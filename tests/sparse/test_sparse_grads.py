"""Sparse gradients against torch: nn.Embedding/EmbeddingBag(sparse=True), their accumulation, and the
optimizers that apply them (SGD, Adagrad, SparseAdam) or refuse them with torch's errors."""
import numpy as np
import pytest
import torch

import ember

W = np.random.default_rng(0).standard_normal((6, 3)).astype(np.float32)
BATCHES = [[[1, 3], [3, 0]], [[5, 1], [1, 1]], [[2, 2], [0, 4]]]


def same_sparse(e, t):
    assert e.is_sparse and t.is_sparse and tuple(e.shape) == tuple(t.shape)
    assert e.is_coalesced() == t.is_coalesced()
    np.testing.assert_array_equal(e._indices().numpy(), t._indices().numpy())
    np.testing.assert_allclose(e._values().numpy(), t._values().numpy(), rtol=1e-6)


def embeddings(lib, **kw):
    emb = lib.nn.Embedding(6, 3, sparse=True, **kw)
    with lib.no_grad():
        emb.weight.copy_(lib.tensor(W))
    return emb


@pytest.mark.parametrize("kw", [{}, {"padding_idx": 1}, {"max_norm": 1.0}], ids=str)
def test_embedding_sparse_grad_matches_torch(kw):
    e, t = embeddings(ember, **kw), embeddings(torch, **kw)
    up = np.random.default_rng(1).standard_normal((2, 2, 3)).astype(np.float32)
    (e(ember.tensor(BATCHES[0])) * ember.tensor(up)).sum().backward()
    (t(torch.tensor(BATCHES[0])) * torch.tensor(up)).sum().backward()
    same_sparse(e.weight.grad, t.weight.grad)
    # a second backward accumulates: two sparse gradients add up as torch's do
    e(ember.tensor(BATCHES[1])).sum().backward()
    t(torch.tensor(BATCHES[1])).sum().backward()
    same_sparse(e.weight.grad, t.weight.grad)
    np.testing.assert_allclose(e.weight.grad.to_dense().numpy(), t.weight.grad.to_dense().numpy(), rtol=1e-6)


def test_embedding_sparse_with_scale_grad_by_freq_raises_torchs_error():
    for lib in (ember, torch):
        emb = lib.nn.Embedding(6, 3, sparse=True, scale_grad_by_freq=True)
        with pytest.raises(RuntimeError, match="scale_grad_by_freq not supported with sparse gradients"):
            emb(lib.tensor([1, 1])).sum().backward()


@pytest.mark.parametrize("kw", [dict(mode="sum"), dict(mode="mean"), dict(mode="sum", padding_idx=3),
                                dict(mode="sum", weights=True)], ids=str)
def test_embedding_bag_sparse_grad_matches_torch(kw):
    kw = dict(kw)
    weights = kw.pop("weights", False)
    grads = []
    for lib in (ember, torch):
        bag = lib.nn.EmbeddingBag(6, 3, sparse=True, **kw)
        with lib.no_grad():
            bag.weight.copy_(lib.tensor(W))
        psw = lib.tensor([1.0, 2.0, 3.0, 4.0, 0.5]) if weights else None
        out = bag(lib.tensor([1, 3, 3, 0, 5]), lib.tensor([0, 2, 4]), per_sample_weights=psw)
        (out * lib.arange(9.0).reshape(3, 3)).sum().backward()
        grads.append(bag.weight.grad)
    same_sparse(*grads)


def train(lib, opt_name, steps=4, **kw):
    emb = embeddings(lib)
    opt = getattr(lib.optim, opt_name)(emb.parameters(), **kw)
    for i in range(steps):
        opt.zero_grad()
        idx = lib.tensor(BATCHES[i % len(BATCHES)])
        (emb(idx) ** 2).sum().backward()
        opt.step()
    return emb.weight.detach().numpy().copy(), opt


@pytest.mark.parametrize("name,kw", [
    ("SGD", dict(lr=0.1)), ("SGD", dict(lr=0.1, maximize=True)), ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)), ("SGD", dict(lr=0.1, momentum=0.5, dampening=0.3)),
    ("Adagrad", dict(lr=0.1)), ("Adagrad", dict(lr=0.1, lr_decay=0.2, eps=1e-6)),
    ("Adagrad", dict(lr=0.1, maximize=True, initial_accumulator_value=0.3)),
    ("SparseAdam", dict()), ("SparseAdam", dict(lr=0.05)), ("SparseAdam", dict(lr=0.05, betas=(0.5, 0.7))),
    ("SparseAdam", dict(lr=0.05, eps=1e-3, maximize=True)),
], ids=str)
def test_optimizers_apply_sparse_gradients_like_torch(name, kw):
    mine, eopt = train(ember, name, **kw)
    ref, topt = train(torch, name, **kw)
    np.testing.assert_allclose(mine, ref, rtol=1e-5, atol=1e-6)
    es = eopt.state_dict()["state"].get(0, {})
    ts = {k: v for k, v in topt.state_dict()["state"].get(0, {}).items() if v is not None}  # SGD's None buffer
    assert list(es) == list(ts)
    for key, value in ts.items():
        if isinstance(value, torch.Tensor):
            assert str(es[key].layout) == str(value.layout).replace("torch", "ember")
            np.testing.assert_allclose(es[key].to_dense().numpy(), value.to_dense().numpy(), rtol=1e-5, atol=1e-6)
        else:
            assert es[key] == value


def test_sparse_adam_state_dict_round_trip():
    five, _ = train(ember, "SparseAdam", steps=5, lr=0.05)
    emb = embeddings(ember)
    opt = ember.optim.SparseAdam(emb.parameters(), lr=0.05)
    for i in range(3):
        opt.zero_grad()
        (emb(ember.tensor(BATCHES[i % 3])) ** 2).sum().backward()
        opt.step()
    fresh = ember.optim.SparseAdam(emb.parameters(), lr=1.0)
    fresh.load_state_dict(opt.state_dict())
    for i in range(3, 5):
        fresh.zero_grad()
        (emb(ember.tensor(BATCHES[i % 3])) ** 2).sum().backward()
        fresh.step()
    np.testing.assert_allclose(emb.weight.detach().numpy(), five, rtol=1e-6)


@pytest.mark.parametrize("name,kw", [("SGD", dict(lr=0.1, weight_decay=0.1)),
                                     ("Adagrad", dict(lr=0.1, weight_decay=0.1)),
                                     ("Adam", {}), ("AdamW", {}), ("RMSprop", {}), ("Rprop", {}), ("ASGD", {}),
                                     ("Adafactor", {}), ("NAdam", {}), ("RAdam", {}), ("Adamax", {}),
                                     ("Adadelta", {})])
def test_optimizers_refuse_sparse_gradients_with_torchs_error(name, kw):
    msgs = []
    for lib in (ember, torch):
        with pytest.raises(RuntimeError) as err:
            train(lib, name, steps=1, **kw)
        msgs.append(str(err.value))
    assert msgs[0] == msgs[1]


def test_sparse_adam_refuses_dense_gradients_and_sparse_params_like_torch():
    msgs = []
    for lib in (ember, torch):
        lin = lib.nn.Linear(2, 2)
        opt = lib.optim.SparseAdam(lin.parameters())
        lin(lib.ones(2)).sum().backward()
        with pytest.raises(RuntimeError) as err:
            opt.step()
        msgs.append(str(err.value))
        with pytest.raises(ValueError, match="Invalid learning rate: 0.0"):
            lib.optim.SparseAdam(lin.parameters(), lr=0.0)
    assert msgs[0] == msgs[1] == "SparseAdam does not support dense gradients, please consider Adam instead"


def test_zero_grad_keeping_a_sparse_gradient_empties_it_like_torch():
    for lib in (ember, torch):
        emb = embeddings(lib)
        opt = lib.optim.SGD(emb.parameters(), lr=0.1)
        emb(lib.tensor([1, 2])).sum().backward()
        opt.zero_grad(set_to_none=False)
        g = emb.weight.grad
        assert g.is_sparse and g._nnz() == 0 and float(g.to_dense().abs().sum()) == 0
