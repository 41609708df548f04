"""Losses in nn.functional and as modules, against torch."""
import numpy as np
import pytest
import torch

import ember
from tests.oracle import check, check_layouts, gradcheck, rand

REDUCTIONS = ["none", "mean", "sum"]


def _t(lib, a):
    """A constant (non-differentiable) tensor, or None."""
    return None if a is None else lib.tensor(a)


def _probs(*shape, seed):
    return rand(*shape, low=0.05, high=0.95, seed=seed)


REGRESSION = {
    "mse_loss": {}, "l1_loss": {}, "smooth_l1_loss": {"beta": 0.7}, "smooth_l1_beta0": {"beta": 0.0},
    "huber_loss": {"delta": 1.3},
}


@pytest.mark.parametrize("name", list(REGRESSION))
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(4, 3), (), (0, 3)])
def test_regression_losses(name, reduction, shape):
    fname = name.replace("_beta0", "_loss").replace("smooth_l1_loss_loss", "smooth_l1_loss")
    kw = REGRESSION[name]
    check(lambda lib, x, y: getattr(lib.nn.functional, fname)(x, y, reduction=reduction, **kw),
          rand(*shape, seed=1), rand(*shape, seed=2))


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"])
def test_regression_gradcheck(name):
    gradcheck(lambda lib, x, y: getattr(lib.nn.functional, name)(x, y), rand(3, 2, seed=3), rand(3, 2, seed=4),
              gradgrad=name in ("mse_loss",))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy(reduction, weighted):
    w = rand(4, 3, low=0.1, high=2.0, seed=5) if weighted else None
    check(lambda lib, p, t: lib.nn.functional.binary_cross_entropy(p, t, _t(lib, w), reduction=reduction),
          _probs(4, 3, seed=6), _probs(4, 3, seed=7), atol=1e-4)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("pos", [False, True])
def test_bce_with_logits(reduction, weighted, pos):
    w = rand(3, low=0.1, high=2.0, seed=8) if weighted else None
    pw = rand(3, low=0.1, high=3.0, seed=9) if pos else None
    check(lambda lib, x, t: lib.nn.functional.binary_cross_entropy_with_logits(
        x, t, _t(lib, w), reduction=reduction, pos_weight=_t(lib, pw)), rand(4, 3, low=-5, high=5, seed=10),
        _probs(4, 3, seed=11))


def test_bce_with_logits_is_stable_for_large_logits():
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype=np.float32)
    t = np.array([1.0, 0.0, 0.5, 1.0, 0.0], dtype=np.float32)
    check(lambda lib, x, t: lib.nn.functional.binary_cross_entropy_with_logits(x, t, reduction="none"), x, t)


def test_bce_gradcheck():
    gradcheck(lambda lib, p, t: lib.nn.functional.binary_cross_entropy(p, t), _probs(3, 2, seed=12),
              _probs(3, 2, seed=13), gradgrad=False)
    gradcheck(lambda lib, x, t: lib.nn.functional.binary_cross_entropy_with_logits(x, t), rand(3, 2, seed=14),
              _probs(3, 2, seed=15))


def _targets(shape, classes, seed, ignore=False):
    t = np.random.default_rng(seed).integers(0, classes, size=shape)
    if ignore and t.size:
        t.flat[0] = -100
    return t


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape", [(5, 4), (4,), (3, 4, 2, 2), (0, 4)])
@pytest.mark.parametrize("ignore", [False, True])
def test_nll_loss(reduction, weighted, shape, ignore):
    w = rand(4, low=0.1, high=2.0, seed=16) if weighted else None
    tshape = shape[:1] + shape[2:] if len(shape) > 1 else ()
    t = _targets(tshape, 4, 17, ignore)
    check(lambda lib, x: lib.nn.functional.nll_loss(x, lib.tensor(t), _t(lib, w), reduction=reduction),
          rand(*shape, seed=18))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.25])
@pytest.mark.parametrize("shape", [(5, 4), (4,), (3, 4, 2, 2)])
def test_cross_entropy_indices(reduction, weighted, smoothing, shape):
    w = rand(4, low=0.1, high=2.0, seed=19) if weighted else None
    tshape = shape[:1] + shape[2:] if len(shape) > 1 else ()
    t = _targets(tshape, 4, 20, ignore=len(shape) > 1)
    check(lambda lib, x: lib.nn.functional.cross_entropy(x, lib.tensor(t), _t(lib, w), reduction=reduction,
                                                         label_smoothing=smoothing), rand(*shape, seed=21))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_cross_entropy_probabilities(reduction, weighted, smoothing):
    w = rand(4, low=0.1, high=2.0, seed=22) if weighted else None
    p = np.random.default_rng(23).dirichlet(np.ones(4), size=(3, 2)).transpose(0, 2, 1).astype(np.float32)
    check(lambda lib, x, p: lib.nn.functional.cross_entropy(x, p, _t(lib, w), reduction=reduction,
                                                            label_smoothing=smoothing), rand(3, 4, 2, seed=24), p)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_gradcheck(reduction, weighted, smoothing):
    t, w = ember.tensor([0, 2, -100, 1]), ember.tensor(rand(4, low=0.5, high=2.0, seed=26).astype(np.float64))
    gradcheck(lambda lib, x: lib.nn.functional.cross_entropy(x, t, w if weighted else None, reduction=reduction,
                                                             label_smoothing=smoothing), rand(4, 4, seed=25))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_gradcheck(reduction):
    t, w = ember.tensor([0, 2, -100, 1]), ember.tensor(rand(4, low=0.5, high=2.0, seed=32).astype(np.float64))
    gradcheck(lambda lib, x: lib.nn.functional.nll_loss(x.log_softmax(1), t, w, reduction=reduction), rand(4, 4, seed=33))


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_on_strided_logits(smoothing):
    t = _targets((5,), 4, 27, ignore=True)
    check_layouts(lambda lib, x: lib.nn.functional.cross_entropy(x, lib.tensor(t), label_smoothing=smoothing),
                  rand(5, 4, seed=28))


@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_double_backward_matches_torch(weighted):
    """The gradient's own gradient (a gradient penalty on the logits, as second-order meta-learning takes)."""
    x, w = rand(5, 4, seed=29).astype(np.float64), rand(4, low=0.5, high=2.0, seed=30).astype(np.float64)
    got = []
    for lib in (ember, torch):
        xt = lib.tensor(x, requires_grad=True)
        loss = lib.nn.functional.cross_entropy(xt * xt, lib.tensor([0, 3, -100, 1, 2]), lib.tensor(w) if weighted else None,
                                               label_smoothing=0.1)
        (g,) = lib.autograd.grad(loss, xt, create_graph=True)
        (gg,) = lib.autograd.grad((g * g).sum(), xt)
        got.append((g.detach().cpu().numpy(), gg.cpu().numpy()))
    np.testing.assert_allclose(got[0][0], got[1][0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got[0][1], got[1][1], rtol=1e-10, atol=1e-12)


def test_cross_entropy_is_one_node():
    x = ember.randn(3, 4, requires_grad=True)
    loss = ember.nn.functional.cross_entropy(x, ember.tensor([0, 1, 2]))
    assert loss.grad_fn.name() == "NllLossBackward0"
    assert loss.grad_fn.next_functions[0][0].variable is x


def test_cross_entropy_with_every_target_ignored_is_nan_with_zero_gradients():
    for lib in (ember, torch):
        x = lib.randn(3, 4, requires_grad=True)
        loss = lib.nn.functional.cross_entropy(x, lib.tensor([-100, -100, -100]))
        loss.backward()
        assert np.isnan(loss.item()) and not x.grad.cpu().numpy().any()


def test_cross_entropy_weight_errors():
    x, t = ember.zeros(3, 4), ember.tensor([0, 1, 2])
    with pytest.raises(RuntimeError, match=r"defined either for all 4 classes or no classes but got weight tensor "
                                           r"of shape: \[5\]"):
        ember.nn.functional.cross_entropy(x, t, weight=ember.ones(5))
    with pytest.raises(RuntimeError, match="not differentiable with respect to argument 'weight'"):
        ember.nn.functional.cross_entropy(x, t, weight=ember.ones(4, requires_grad=True))
    with pytest.raises(RuntimeError, match="expected target dtype to be Long or Byte, but got Float"):
        ember.nn.functional.cross_entropy(x, ember.zeros(3))


def test_cross_entropy_byte_targets():
    check(lambda lib, x: lib.nn.functional.cross_entropy(x, lib.tensor(np.array([0, 3, 1], np.uint8))),
          rand(3, 4, seed=31))


@pytest.mark.parametrize("reduction", ["none", "mean", "sum", "batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target):
    q = np.log(_probs(3, 4, seed=26))
    p = _probs(3, 4, seed=27)
    p[0, 0] = 0.0
    target = np.log(p + 1e-3) if log_target else p
    check(lambda lib, q, p: lib.nn.functional.kl_div(q, p, reduction=reduction, log_target=log_target), q, target)


@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("bad", [5, -3])
def test_out_of_range_targets_raise(fn, bad):
    for lib in (ember, torch):
        with pytest.raises(IndexError, match=f"Target {bad} is out of bounds."):
            getattr(lib.nn.functional, fn)(lib.zeros(4, 3), lib.tensor([0, 1, bad, 2]))


def test_loss_errors():
    F = ember.nn.functional
    with pytest.raises(ValueError, match=r"Expected input batch_size \(4\) to match target batch_size \(3\)."):
        F.nll_loss(ember.zeros(4, 3), ember.tensor([0, 1, 2]))
    with pytest.raises(RuntimeError, match="expected target dtype to be Long or Byte, but got Float"):
        F.nll_loss(ember.zeros(4, 3), ember.zeros(4))
    with pytest.raises(RuntimeError, match=r"Expected target size \[4, 2\], got \[4\]"):
        F.nll_loss(ember.zeros(4, 3, 2), ember.tensor([0, 1, 1, 2]))
    with pytest.raises(ValueError, match="foo is not a valid value for reduction"):
        F.mse_loss(ember.zeros(2), ember.zeros(2), reduction="foo")
    with pytest.raises(ValueError, match=r"Using a target size \(ember.Size\(\[4\]\)\) that is different"):
        F.binary_cross_entropy(ember.full((4, 3), 0.5), ember.zeros(4))
    with pytest.raises(ValueError, match="must be the same as input size"):
        F.binary_cross_entropy_with_logits(ember.zeros(4, 3), ember.zeros(4))


MODULES = [
    ("MSELoss", {}, "reg"), ("L1Loss", {"reduction": "sum"}, "reg"), ("SmoothL1Loss", {"beta": 0.5}, "reg"),
    ("HuberLoss", {"delta": 0.5, "reduction": "none"}, "reg"), ("BCELoss", {}, "prob"),
    ("BCEWithLogitsLoss", {"pos_weight": "pw"}, "logit"), ("NLLLoss", {"weight": "w"}, "cls"),
    ("CrossEntropyLoss", {"weight": "w", "label_smoothing": 0.1, "ignore_index": 1}, "cls"),
    ("KLDivLoss", {"reduction": "batchmean"}, "kl"),
]


@pytest.mark.parametrize("name,kw,kind", MODULES)
def test_loss_modules(name, kw, kind):
    x = rand(4, 3, seed=28)
    targets = {"reg": rand(4, 3, seed=29), "prob": _probs(4, 3, seed=30), "logit": _probs(4, 3, seed=31),
               "cls": np.array([0, 2, 1, 1]), "kl": _probs(4, 3, seed=32)}
    extra = {"pw": rand(3, low=0.5, high=2.0, seed=33), "w": rand(3, low=0.5, high=2.0, seed=34)}
    if kind == "prob":
        x = _probs(4, 3, seed=35)

    def run(lib, x):
        args = {k: lib.tensor(extra[v]) if v in extra else v for k, v in kw.items()}
        module = getattr(lib.nn, name)(**args)
        assert repr(module) == f"{name}()"
        return module(x, lib.tensor(targets[kind]))
    check(run, x)


@pytest.mark.parametrize("name", ["BCELoss", "BCEWithLogitsLoss", "NLLLoss", "CrossEntropyLoss"])
def test_loss_weight_is_a_buffer(name):
    e, t = getattr(ember.nn, name)(weight=ember.ones(3)), getattr(torch.nn, name)(weight=torch.ones(3))
    assert list(e.state_dict()) == list(t.state_dict()) == ["weight"]


@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_class_index_losses_forward_mode_matches_torch(fn, reduction):
    x, tangent = rand(5, 4, seed=34).astype(np.float64), rand(5, 4, seed=35).astype(np.float64)
    w = rand(4, low=0.5, high=2.0, seed=36).astype(np.float64)
    extra = {"label_smoothing": 0.2} if fn == "cross_entropy" else {}
    got = []
    for lib in (ember, torch):
        fwd = lib.autograd.forward_ad
        with fwd.dual_level():
            dual = fwd.make_dual(lib.tensor(x), lib.tensor(tangent))
            loss = getattr(lib.nn.functional, fn)(dual, lib.tensor([0, 3, -100, 1, 2]), lib.tensor(w),
                                                  reduction=reduction, **extra)
            got.append(fwd.unpack_dual(loss).tangent.cpu().numpy())
    np.testing.assert_allclose(got[0], got[1], rtol=1e-10, atol=1e-12)
