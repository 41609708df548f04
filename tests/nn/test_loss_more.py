"""Margin/ranking/embedding/likelihood losses, distances, bilinear and prelu against torch."""
import numpy as np
import pytest
import torch

import ember
from tests.oracle import assert_same, check, gradcheck, rand

REDUCTIONS = ["none", "mean", "sum"]


def _sign(*shape, seed):
    return np.where(np.random.default_rng(seed).random(shape) > 0.5, 1.0, -1.0).astype(np.float32)


def _cls(*shape, classes, seed):
    return np.random.default_rng(seed).integers(0, classes, size=shape)


def _mlm_target(n, c, seed):
    rng = np.random.default_rng(seed)
    t = -np.ones((n, c), dtype=np.int64)
    for i in range(n):
        k = rng.integers(0, c + 1)
        t[i, :k] = rng.permutation(c)[:k]
        if k < c - 1:
            t[i, k + 1] = rng.integers(0, c)  # after the -1 terminator: ignored
    return t


def _c(lib, a):
    return lib.tensor(a)


# name: (fn(lib, functional, *float_inputs, reduction), shapes of the float inputs)
CASES = {
    "cosine_embedding": (lambda lib, f, a, b, r: f.cosine_embedding_loss(a, b, _c(lib, _sign(4, seed=1)), 0.2,
                                                                         reduction=r), [(4, 3), (4, 3)]),
    "margin_ranking": (lambda lib, f, a, b, r: f.margin_ranking_loss(a, b, _c(lib, _sign(5, seed=2)), 0.3,
                                                                     reduction=r), [(5,), (5,)]),
    "hinge_embedding": (lambda lib, f, a, r: f.hinge_embedding_loss(a, _c(lib, _sign(4, 3, seed=3)), 0.7,
                                                                     reduction=r), [(4, 3)]),
    "soft_margin": (lambda lib, f, a, r: f.soft_margin_loss(a, _c(lib, _sign(4, 3, seed=4)), reduction=r), [(4, 3)]),
    "multilabel_soft_margin": (lambda lib, f, a, r: f.multilabel_soft_margin_loss(
        a, _c(lib, (_sign(4, 3, seed=5) > 0).astype(np.float32)), _c(lib, rand(3, low=0.5, seed=6)), reduction=r),
        [(4, 3)]),
    "multi_margin_p1": (lambda lib, f, a, r: f.multi_margin_loss(a, _c(lib, _cls(4, classes=5, seed=7)), reduction=r),
                        [(4, 5)]),
    "multi_margin_p2_w": (lambda lib, f, a, r: f.multi_margin_loss(
        a, _c(lib, _cls(4, classes=5, seed=8)), p=2, margin=0.5, weight=_c(lib, rand(5, low=0.1, seed=9)),
        reduction=r), [(4, 5)]),
    "multi_margin_1d": (lambda lib, f, a, r: f.multi_margin_loss(a, _c(lib, np.array([2])), reduction=r), [(5,)]),
    "multilabel_margin": (lambda lib, f, a, r: f.multilabel_margin_loss(a, _c(lib, _mlm_target(5, 4, 10)),
                                                                        reduction=r), [(5, 4)]),
    "multilabel_margin_1d": (lambda lib, f, a, r: f.multilabel_margin_loss(a, _c(lib, np.array([3, 0, -1, 1])),
                                                                           reduction=r), [(4,)]),
    "poisson_log": (lambda lib, f, a, r: f.poisson_nll_loss(a, _c(lib, rand(4, 3, low=0, high=4, seed=11)),
                                                            reduction=r), [(4, 3)]),
    "poisson_full": (lambda lib, f, a, r: f.poisson_nll_loss(a.abs() + 0.1, _c(lib, rand(4, 3, low=0, high=4, seed=12)),
                                                             log_input=False, full=True, reduction=r), [(4, 3)]),
    "gaussian": (lambda lib, f, a, b, v, r: f.gaussian_nll_loss(a, b, v.abs() + 1e-3, reduction=r), [(4, 3)] * 3),
    "gaussian_full_1col": (lambda lib, f, a, b, v, r: f.gaussian_nll_loss(a, b, v.abs() + 0.1, full=True,
                                                                          reduction=r), [(4, 3), (4, 3), (4, 1)]),
    "gaussian_eps_clamp": (lambda lib, f, a, b, v, r: f.gaussian_nll_loss(a, b, v.abs(), eps=0.3, reduction=r),
                           [(4, 3), (4, 3), (4, 3)]),
    "gaussian_batch_var": (lambda lib, f, a, b, v, r: f.gaussian_nll_loss(a, b, v * v + 0.1, reduction=r),
                           [(4, 3), (4, 3), (4,)]),
    "triplet": (lambda lib, f, a, p, n, r: f.triplet_margin_loss(a, p, n, margin=2.0, reduction=r), [(4, 3)] * 3),
    "triplet_p1_swap": (lambda lib, f, a, p, n, r: f.triplet_margin_loss(a, p, n, p=1, swap=True, margin=2.0,
                                                                         reduction=r), [(4, 3)] * 3),
    "triplet_distance": (lambda lib, f, a, p, n, r: f.triplet_margin_with_distance_loss(
        a, p, n, distance_function=lambda x, y: 1.0 - f.cosine_similarity(x, y), swap=True, reduction=r),
        [(4, 3)] * 3),
    "triplet_distance_default": (lambda lib, f, a, p, n, r: f.triplet_margin_with_distance_loss(
        a, p, n, margin=3.0, reduction=r), [(4, 3)] * 3),
}


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_loss_matches_torch(name, reduction):
    fn, shapes = CASES[name]
    inputs = [rand(*s, seed=20 + i) for i, s in enumerate(shapes)]
    check(lambda lib, *xs: fn(lib, lib.nn.functional, *xs, reduction), *inputs)


@pytest.mark.parametrize("name", list(CASES))
def test_loss_gradcheck(name):
    fn, shapes = CASES[name]
    if name == "gaussian_eps_clamp":
        pytest.skip("the eps clamp passes gradients through unchanged (as torch): not the true derivative")
    inputs = [rand(*s, seed=40 + i).astype(np.float64) for i, s in enumerate(shapes)]
    gradcheck(lambda lib, *xs: fn(lib, lib.nn.functional, *xs, "mean"), *inputs,
              gradgrad=not name.startswith("multilabel_margin"))


def test_gaussian_eps_clamp_passes_gradient_through():
    v = ember.tensor([0.01, 1.0], requires_grad=True)
    ember.nn.functional.gaussian_nll_loss(ember.zeros(2), ember.ones(2), v, eps=0.5, reduction="sum").backward()
    tv = torch.tensor([0.01, 1.0], requires_grad=True)
    torch.nn.functional.gaussian_nll_loss(torch.zeros(2), torch.ones(2), tv, eps=0.5, reduction="sum").backward()
    assert_same(v.grad, tv.grad)


MODULES = [
    ("CosineEmbeddingLoss", {"margin": 0.1}, [(3, 4), (3, 4)], lambda lib: [_c(lib, _sign(3, seed=1))]),
    ("MarginRankingLoss", {"margin": 0.2}, [(5,), (5,)], lambda lib: [_c(lib, _sign(5, seed=2))]),
    ("HingeEmbeddingLoss", {"margin": 0.5}, [(5,)], lambda lib: [_c(lib, _sign(5, seed=3))]),
    ("SoftMarginLoss", {"reduction": "sum"}, [(5,)], lambda lib: [_c(lib, _sign(5, seed=4))]),
    ("MultiLabelSoftMarginLoss", {}, [(3, 4)], lambda lib: [_c(lib, (_sign(3, 4, seed=5) > 0).astype(np.float32))]),
    ("MultiMarginLoss", {"p": 2, "margin": 0.5}, [(3, 4)], lambda lib: [_c(lib, _cls(3, classes=4, seed=6))]),
    ("MultiLabelMarginLoss", {}, [(3, 4)], lambda lib: [_c(lib, _mlm_target(3, 4, 7))]),
    ("PoissonNLLLoss", {"full": True}, [(3, 4)], lambda lib: [_c(lib, rand(3, 4, low=0, high=3, seed=8))]),
    ("GaussianNLLLoss", {"full": True}, [(3, 4), (3, 4)], lambda lib: [_c(lib, rand(3, 4, low=0.1, seed=9))]),
    ("TripletMarginLoss", {"margin": 1.5, "swap": True}, [(3, 4)] * 3, lambda lib: []),
    ("TripletMarginWithDistanceLoss", {"margin": 1.5}, [(3, 4)] * 3, lambda lib: []),
]


@pytest.mark.parametrize("name,kw,shapes,extra", MODULES, ids=[m[0] for m in MODULES])
def test_loss_modules(name, kw, shapes, extra):
    inputs = [rand(*s, seed=60 + i) for i, s in enumerate(shapes)]
    check(lambda lib, *xs: getattr(lib.nn, name)(**kw)(*xs, *extra(lib)), *inputs)
    assert repr(getattr(ember.nn, name)(**kw)) == repr(getattr(torch.nn, name)(**kw))


def test_loss_errors():
    for lib in (ember, torch):
        F = lib.nn.functional
        with pytest.raises(ValueError, match="var is of incorrect size"):
            F.gaussian_nll_loss(lib.ones(4, 3), lib.ones(4, 3), lib.ones(2))
        with pytest.raises(ValueError, match="var has negative entry"):
            F.gaussian_nll_loss(lib.ones(4, 3), lib.ones(4, 3), -lib.ones(4, 3))
        with pytest.raises(ValueError, match="only p == 1 and p == 2 supported"):
            lib.nn.MultiMarginLoss(p=3)
        with pytest.raises(ValueError, match="expected margin to be greater than 0"):
            lib.nn.TripletMarginLoss(margin=0.0)
        with pytest.raises(ValueError, match="is not a valid value for reduction"):
            F.soft_margin_loss(lib.ones(2), lib.ones(2), reduction="bad")


@pytest.mark.parametrize("shapes,dim", [([(4, 3), (4, 3)], 1), ([(2, 3, 4), (3, 1)], 0), ([(5,), (5,)], 0),
                                        ([(4, 3), (1, 3)], -1)])
def test_cosine_similarity(shapes, dim):
    a, b = (rand(*s, seed=70 + i) for i, s in enumerate(shapes))
    check(lambda lib, a, b: lib.nn.functional.cosine_similarity(a, b, dim=dim), a, b)
    zero = np.zeros((2, 3), dtype=np.float32)
    check(lambda lib, a, b: lib.nn.functional.cosine_similarity(a, b), zero, rand(2, 3, seed=1), grad=False)


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, float("inf")])
@pytest.mark.parametrize("keepdim", [False, True])
def test_pairwise_distance(p, keepdim):
    check(lambda lib, a, b: lib.nn.functional.pairwise_distance(a, b, p=p, keepdim=keepdim),
          rand(4, 3, seed=1), rand(4, 3, seed=2))
    check(lambda lib, a, b: lib.nn.functional.pairwise_distance(a, b, p=p), rand(3, seed=3), rand(3, seed=4))
    gradcheck(lambda lib, a, b: lib.nn.functional.pairwise_distance(a, b, p=p), rand(3, 2, seed=5),
              rand(3, 2, seed=6), gradgrad=p != float("inf"))


def _module_pair(name, *args, **kw):
    t = getattr(torch.nn, name)(*args, **kw)
    e = getattr(ember.nn, name)(*args, **kw)
    e.load_state_dict({k: ember.tensor(v.detach().cpu().numpy()) for k, v in t.state_dict().items()})
    return e, t


@pytest.mark.parametrize("bias", [True, False])
def test_bilinear(bias):
    e, t = _module_pair("Bilinear", 3, 2, 4, bias=bias)
    a, b = rand(5, 3, seed=1), rand(5, 2, seed=2)
    ea, eb = ember.tensor(a, requires_grad=True), ember.tensor(b, requires_grad=True)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    eo, to = e(ea, eb), t(ta, tb)
    assert_same(eo, to)
    up = rand(5, 4, seed=3)
    (eo * ember.tensor(up)).sum().backward()
    (to * torch.tensor(up)).sum().backward()
    for (n, ep), (_, tp) in zip(e.named_parameters(), t.named_parameters()):
        assert_same(ep.grad, tp.grad, what=n)
    assert_same(ea.grad, ta.grad)
    assert repr(e) == repr(t)
    gradcheck(lambda lib, a, b, w: lib.nn.functional.bilinear(a, b, w), rand(2, 3, seed=4), rand(2, 2, seed=5),
              rand(4, 3, 2, seed=6))
    ember.manual_seed(0)
    w = ember.nn.Bilinear(16, 2, 30).weight.detach().cpu().numpy()
    assert np.abs(w).max() <= 0.25 and np.abs(w).max() > 0.24


def test_prelu_channel_error():
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="Mismatch of parameter numbers and input channel size"):
            lib.nn.functional.prelu(lib.ones(4), lib.ones(4))


def test_distance_modules():
    a, b = rand(4, 3, seed=1), rand(4, 3, seed=2)
    check(lambda lib, a, b: lib.nn.PairwiseDistance(p=1.0, keepdim=True)(a, b), a, b)
    check(lambda lib, a, b: lib.nn.CosineSimilarity(dim=0)(a, b), a, b)
    assert repr(ember.nn.PairwiseDistance()) == repr(torch.nn.PairwiseDistance())


@pytest.mark.parametrize("n,shape", [(1, (4, 3)), (3, (4, 3)), (3, (2, 3, 5)), (1, ()), (1, (4,))])
def test_prelu(n, shape):
    e, t = _module_pair("PReLU", n)
    assert repr(e) == repr(t) and float(e.weight[0]) == 0.25
    check(lambda lib, x, w: lib.nn.functional.prelu(x, w), rand(*shape, seed=1), rand(n, seed=2))
    gradcheck(lambda lib, x, w: lib.nn.functional.prelu(x, w), rand(*shape, seed=3), rand(n, seed=4))
