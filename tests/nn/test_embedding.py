"""Embedding, EmbeddingBag and their functional forms against torch."""
import numpy as np
import pytest
import torch

import ember
from tests.oracle import assert_same, check, gradcheck, rand

W = rand(6, 3, seed=1)
IDX = np.array([[0, 2, 2], [5, 1, 0]])


@pytest.mark.parametrize("kw", [{}, {"padding_idx": 2}, {"padding_idx": -1}, {"scale_grad_by_freq": True},
                                {"padding_idx": 0, "scale_grad_by_freq": True}])
@pytest.mark.parametrize("idx", [IDX, IDX[0], np.array(3), np.zeros((0, 2), dtype=np.int64)])
def test_embedding(kw, idx):
    check(lambda lib, w: lib.nn.functional.embedding(lib.tensor(idx), w, **kw), W)


def test_embedding_top_level_node_and_gradcheck():
    check(lambda lib, w: lib.embedding(w, lib.tensor(IDX), 1), W)
    assert ember.embedding(ember.tensor(W, requires_grad=True), ember.tensor(IDX)).grad_fn.name() == \
        torch.embedding(torch.tensor(W, requires_grad=True), torch.tensor(IDX)).grad_fn.name()
    gradcheck(lambda lib, w: lib.nn.functional.embedding(lib.tensor(IDX), w), rand(6, 2, seed=2))


def test_embedding_max_norm_renormalises_in_place():
    w = rand(6, 3, seed=3) * 3
    ew, tw = ember.tensor(w), torch.tensor(w)
    eo = ember.nn.functional.embedding(ember.tensor(IDX), ew, max_norm=1.5, norm_type=1.0)
    to = torch.nn.functional.embedding(torch.tensor(IDX), tw, max_norm=1.5, norm_type=1.0)
    assert_same(eo, to)
    assert_same(ew, tw)


def test_embedding_errors():
    for lib in (ember, torch):
        with pytest.raises(IndexError, match="index out of range in self"):
            lib.nn.functional.embedding(lib.tensor([6]), lib.tensor(W))
        with pytest.raises(IndexError, match="index out of range in self"):
            lib.nn.functional.embedding(lib.tensor([-1]), lib.tensor(W))
        with pytest.raises(RuntimeError, match="Expected tensor for argument #1 'indices'"):
            lib.nn.functional.embedding(lib.tensor([1.0]), lib.tensor(W))
        with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
            lib.nn.Embedding(3, 2, padding_idx=3)


def _pair(cls, *args, **kw):
    t = getattr(torch.nn, cls)(*args, **kw)
    e = getattr(ember.nn, cls)(*args, **kw)
    e.load_state_dict({k: ember.tensor(v.detach().cpu().numpy()) for k, v in t.state_dict().items()})
    return e, t


def _compare(e, t, *inputs, psw=None):
    ein = [ember.tensor(a) for a in inputs]
    tin = [torch.tensor(a) for a in inputs]
    kw_e, kw_t = {}, {}
    if psw is not None:
        kw_e["per_sample_weights"] = ember.tensor(psw, requires_grad=True)
        kw_t["per_sample_weights"] = torch.tensor(psw, requires_grad=True)
    eo, to = e(*ein, **kw_e), t(*tin, **kw_t)
    assert_same(eo, to)
    up = rand(*to.shape, seed=9)
    (eo * ember.tensor(up)).sum().backward()
    (to * torch.tensor(up)).sum().backward()
    assert_same(e.weight.grad, t.weight.grad, what="weight grad")
    if psw is not None:
        assert_same(kw_e["per_sample_weights"].grad, kw_t["per_sample_weights"].grad, what="psw grad")
    assert eo.grad_fn.name() == to.grad_fn.name()


@pytest.mark.parametrize("pad", [None, 1])
def test_embedding_module(pad):
    e, t = _pair("Embedding", 6, 3, padding_idx=pad)
    _compare(e, t, IDX)
    assert repr(e) == repr(t)


def test_embedding_module_init_and_pretrained():
    ember.manual_seed(0)
    e = ember.nn.Embedding(400, 50, padding_idx=3)
    w = e.weight.detach().cpu().numpy()
    assert (w[3] == 0).all() and abs(w.std() - 1) < 0.05 and abs(w.mean()) < 0.05
    assert repr(ember.nn.Embedding(5, 2, max_norm=1.0, norm_type=1.0, scale_grad_by_freq=True)) == \
        repr(torch.nn.Embedding(5, 2, max_norm=1.0, norm_type=1.0, scale_grad_by_freq=True))
    p = ember.nn.Embedding.from_pretrained(ember.tensor(W))
    assert not p.weight.requires_grad and (p(ember.tensor([1])).cpu().numpy() == W[1]).all()
    assert ember.nn.Embedding.from_pretrained(ember.tensor(W), freeze=False).weight.requires_grad
    assert list(p.state_dict()) == ["weight"]


OFFSETS = np.array([0, 2, 2, 5])
FLAT = np.array([0, 1, 1, 3, 4, 2, 5])


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("pad", [None, 1])
@pytest.mark.parametrize("last", [False, True])
def test_embedding_bag_offsets(mode, pad, last):
    e, t = _pair("EmbeddingBag", 6, 3, mode=mode, padding_idx=pad, include_last_offset=last)
    offsets = np.append(OFFSETS, 7) if last else OFFSETS
    _compare(e, t, FLAT, offsets)
    assert repr(e) == repr(t)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_2d(mode):
    e, t = _pair("EmbeddingBag", 6, 3, mode=mode)
    _compare(e, t, IDX)


def test_embedding_bag_per_sample_weights_and_gradcheck():
    e, t = _pair("EmbeddingBag", 6, 3, mode="sum", padding_idx=1)
    _compare(e, t, FLAT, OFFSETS, psw=rand(7, seed=4))
    for mode in ("sum", "mean", "max"):
        gradcheck(lambda lib, w: lib.nn.functional.embedding_bag(lib.tensor(FLAT), w, lib.tensor(OFFSETS),
                                                                 mode=mode), rand(6, 2, seed=5))
    gradcheck(lambda lib, w, p: lib.nn.functional.embedding_bag(lib.tensor(FLAT), w, lib.tensor(OFFSETS),
                                                                mode="sum", per_sample_weights=p),
              rand(6, 2, seed=6), rand(7, seed=7))


def test_embedding_bag_errors():
    for lib in (ember, torch):
        F = lib.nn.functional
        w = lib.tensor(W)
        with pytest.raises(ValueError, match="offsets has to be a 1D Tensor but got None"):
            F.embedding_bag(lib.tensor([0, 1]), w)
        with pytest.raises(ValueError, match="if input is 2D, then offsets has to be None"):
            F.embedding_bag(lib.tensor([[0, 1]]), w, lib.tensor([0]))
        with pytest.raises(NotImplementedError, match="per_sample_weights is only supported for mode='sum'"):
            F.embedding_bag(lib.tensor([[0, 1]]), w, per_sample_weights=lib.ones(1, 2))
        with pytest.raises(RuntimeError, match=r"Index 1 of input takes value 9 which is not in the valid range \[0, 6\)"):
            F.embedding_bag(lib.tensor([[0, 9]]), w)


@pytest.mark.parametrize("cls,kw", [("Embedding", {"max_norm": 1.0}), ("EmbeddingBag", {"max_norm": 1.0, "mode": "sum"}),
                                    ("EmbeddingBag", {"max_norm": 0.5, "norm_type": 1.0, "mode": "max"})])
def test_max_norm_modules(cls, kw):
    e, t = _pair(cls, 6, 3, **kw)
    _compare(e, t, IDX)
    assert_same(e.weight.detach(), t.weight.detach(), what="renormalised weight")


@pytest.mark.parametrize("mode", ["sum", "mean"])
@pytest.mark.parametrize("pad", [None, 1])
def test_embedding_bag_scale_grad_by_freq(mode, pad):
    """Each row's gradient divided by its index's frequency in the batch, as documented. torch 2.13's CPU
    embedding_bag divides by the wrong count (pytorch#190063), so the oracle is torch's F.embedding, which
    scales correctly, reduced per bag by hand."""
    w = rand(6, 3, seed=8)
    psw = rand(7, seed=9) if mode == "sum" else None
    up = rand(4, 3, seed=10)
    we = ember.tensor(w, requires_grad=True)
    out = ember.nn.functional.embedding_bag(ember.tensor(FLAT), we, ember.tensor(OFFSETS), mode=mode,
                                           scale_grad_by_freq=True, padding_idx=pad,
                                           per_sample_weights=None if psw is None else ember.tensor(psw))
    (out * ember.tensor(up)).sum().backward()
    wt = torch.tensor(w, requires_grad=True)
    rows = torch.nn.functional.embedding(torch.tensor(FLAT), wt, padding_idx=pad, scale_grad_by_freq=True)
    keep = torch.tensor(FLAT != pad if pad is not None else np.ones(7, bool))
    rows = rows * keep[:, None] * (torch.tensor(psw)[:, None] if psw is not None else 1)
    bags = []
    for lo, hi in zip(OFFSETS, list(OFFSETS[1:]) + [7]):
        total = rows[lo:hi].sum(0)
        count = int(keep[lo:hi].sum())
        bags.append(total / count if mode == "mean" and count else total)
    ref = torch.stack(bags)
    assert_same(out, ref, atol=1e-6)
    (ref * torch.tensor(up)).sum().backward()
    assert_same(we.grad, wt.grad, atol=1e-6)


def test_embedding_bag_scale_grad_by_freq_errors():
    for lib in (ember, torch):
        with pytest.raises(ValueError, match="max mode does not support scaling the gradient by the frequency"):
            lib.nn.functional.embedding_bag(lib.tensor([[0, 1]]), lib.tensor(W), mode="max", scale_grad_by_freq=True)
    for lib in (ember, torch):  # sparse gradients: tests/sparse/test_sparse_grads.py
        with pytest.raises(ValueError, match="max mode does not support sparse weights"):
            lib.nn.functional.embedding_bag(lib.tensor([[0, 1]]), lib.tensor(W), mode="max", sparse=True)
