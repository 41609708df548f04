"""ember.optim.lr_scheduler against torch: the same optimizer and schedule, lr (and momentum) at every step."""
import math

import numpy as np
import pytest
import torch

import ember


def make_opt(lib, kind="SGD"):
    a = lib.zeros(2, requires_grad=True)
    b = lib.zeros(3, requires_grad=True)
    groups = [{"params": [a]}, {"params": [b], "lr": 0.05}]
    if kind == "SGD":
        return lib.optim.SGD(groups, lr=0.1, momentum=0.9)
    return lib.optim.Adam(groups, lr=0.1)


def sched_of(lib, name, kwargs):
    return getattr(lib.optim.lr_scheduler, name)


def build(lib, name, kwargs, kind="SGD"):
    opt = make_opt(lib, kind)
    return opt, _build_on(lib, opt, name, kwargs)


def _build_on(lib, opt, name, kwargs):
    mod = lib.optim.lr_scheduler
    if name == "SequentialLR":
        subs = [mod.LinearLR(opt, start_factor=0.2, total_iters=4), mod.ExponentialLR(opt, gamma=0.9),
                mod.StepLR(opt, step_size=3, gamma=0.5)]
        return mod.SequentialLR(opt, subs, milestones=kwargs["milestones"])
    if name == "ChainedScheduler":
        subs = [mod.ConstantLR(opt, factor=0.5, total_iters=3), mod.ExponentialLR(opt, gamma=0.9),
                mod.CosineAnnealingLR(opt, T_max=7)]
        return mod.ChainedScheduler(subs)
    return getattr(mod, name)(opt, **kwargs)


def observe(opt, sched):
    groups = opt.param_groups
    seen = {"last": list(sched.get_last_lr()), "lr": [g["lr"] for g in groups]}
    for key in ("momentum", "betas"):
        if key in groups[0]:
            seen[key] = [g[key] for g in groups]
    return seen


def assert_same(mine, ref):
    """Histories (lists of observations) or single observations agree key by key, step by step."""
    if isinstance(ref, list):
        assert len(mine) == len(ref)
        for a, b in zip(mine, ref):
            assert_same(a, b)
        return
    assert mine.keys() == ref.keys()
    for key in ref:
        np.testing.assert_allclose(np.array(mine[key], dtype=float), np.array(ref[key], dtype=float),
                                   rtol=1e-12, atol=1e-15, err_msg=key)


def drive(lib, name, kwargs, kind, steps, losses=None):
    opt, sched = build(lib, name, kwargs, kind)
    history = [observe(opt, sched)]
    for i in range(steps):
        opt.step()
        if losses is None:
            sched.step()
        else:
            sched.step(losses[i])
        history.append(observe(opt, sched))
    return history


CASES = [
    ("LambdaLR", {"lr_lambda": lambda e: 0.9 ** e}, "SGD"),
    ("LambdaLR", {"lr_lambda": [lambda e: 1.0 / (e + 1), lambda e: 0.5 + e % 3]}, "Adam"),
    ("MultiplicativeLR", {"lr_lambda": lambda e: 0.95}, "SGD"),
    ("StepLR", {"step_size": 4}, "SGD"),
    ("StepLR", {"step_size": 3, "gamma": 0.5}, "Adam"),
    ("MultiStepLR", {"milestones": [3, 7, 7, 20], "gamma": 0.5}, "SGD"),
    ("ConstantLR", {}, "SGD"),
    ("ConstantLR", {"factor": 0.25, "total_iters": 9}, "Adam"),
    ("LinearLR", {}, "SGD"),
    ("LinearLR", {"start_factor": 0.1, "end_factor": 0.6, "total_iters": 12}, "Adam"),
    ("ExponentialLR", {"gamma": 0.9}, "SGD"),
    ("CosineAnnealingLR", {"T_max": 10}, "SGD"),
    ("CosineAnnealingLR", {"T_max": 7, "eta_min": 0.01}, "Adam"),
    ("CosineAnnealingWarmRestarts", {"T_0": 5}, "SGD"),
    ("CosineAnnealingWarmRestarts", {"T_0": 3, "T_mult": 2, "eta_min": 0.001}, "Adam"),
    ("CyclicLR", {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 4}, "SGD"),
    ("CyclicLR", {"base_lr": [0.01, 0.02], "max_lr": [0.1, 0.3], "step_size_up": 3, "step_size_down": 5,
                  "mode": "triangular2"}, "SGD"),
    ("CyclicLR", {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 4, "mode": "exp_range", "gamma": 0.9,
                  "base_momentum": 0.7, "max_momentum": [0.95, 0.9]}, "Adam"),
    ("CyclicLR", {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 4, "cycle_momentum": False,
                  "scale_fn": lambda x: 0.8 ** x, "scale_mode": "iterations"}, "SGD"),
    ("OneCycleLR", {"max_lr": 0.5, "total_steps": 31}, "SGD"),
    ("OneCycleLR", {"max_lr": [0.5, 0.2], "epochs": 4, "steps_per_epoch": 8, "anneal_strategy": "linear"}, "Adam"),
    ("OneCycleLR", {"max_lr": 0.3, "total_steps": 40, "three_phase": True, "pct_start": 0.25}, "SGD"),
    ("OneCycleLR", {"max_lr": 0.3, "total_steps": 40, "cycle_momentum": False, "div_factor": 10.0}, "Adam"),
    ("SequentialLR", {"milestones": [4, 12]}, "SGD"),
    ("ChainedScheduler", {}, "Adam"),
    ("PolynomialLR", {}, "SGD"),
    ("PolynomialLR", {"total_iters": 20, "power": 2.0}, "Adam"),
]


@pytest.mark.parametrize("name,kwargs,kind", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_schedule_matches_torch(name, kwargs, kind):
    assert_same(drive(ember, name, kwargs, kind, 30), drive(torch, name, kwargs, kind, 30))


LOSSES = [1.0, 0.9, 0.95, 0.95, 0.95, 0.9, 0.8999, 0.91, 0.92, 0.93, 0.5, 0.5, 0.5, 0.5, 0.5,
          0.49, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.7, 0.4, 0.4, 0.4, 0.4, 0.4]

PLATEAU = [
    {},
    {"patience": 2},
    {"patience": 1, "factor": 0.5, "cooldown": 2, "min_lr": [0.02, 0.001]},
    {"mode": "max", "patience": 1, "threshold": 0.05, "threshold_mode": "abs", "min_lr": 0.01},
    {"patience": 0, "threshold": 0.1, "threshold_mode": "rel", "eps": 0.02},
]


@pytest.mark.parametrize("kwargs", PLATEAU)
@pytest.mark.parametrize("kind", ["SGD", "Adam"])
def test_plateau_matches_torch(kwargs, kind):
    mine = drive(ember, "ReduceLROnPlateau", kwargs, kind, 30, LOSSES)
    ref = drive(torch, "ReduceLROnPlateau", kwargs, kind, 30, LOSSES)
    assert_same(mine, ref)
    assert (ref[-1]["lr"] != ref[0]["lr"]) == bool(kwargs)


ROUND_TRIP = [c for c in CASES if c[0] not in ("LambdaLR", "MultiplicativeLR")] + [
    ("LambdaLR", {"lr_lambda": lambda e: 0.9 ** e}, "SGD"),
    ("ReduceLROnPlateau", {"patience": 1, "cooldown": 1}, "SGD"),
]


@pytest.mark.parametrize("name,kwargs,kind", ROUND_TRIP, ids=[f"{c[0]}-{i}" for i, c in enumerate(ROUND_TRIP)])
def test_state_dict_round_trip(name, kwargs, kind):
    """Save optimizer and scheduler mid-way, load into fresh ones: the continuation equals an unbroken run."""
    plateau = name == "ReduceLROnPlateau"

    def advance(opt, sched, lo, hi):
        out = []
        for i in range(lo, hi):
            opt.step()
            sched.step(LOSSES[i]) if plateau else sched.step()
            out.append(observe(opt, sched))
        return out

    opt, sched = build(ember, name, kwargs, kind)
    advance(opt, sched, 0, 11)
    saved_opt, saved = opt.state_dict(), sched.state_dict()
    assert "optimizer" not in saved
    expected = advance(opt, sched, 11, 25)
    opt2, sched2 = build(ember, name, kwargs, kind)
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved)
    assert_same({"h": [h["lr"] for h in advance(opt2, sched2, 11, 25)]}, {"h": [h["lr"] for h in expected]})


def test_state_dict_excludes_optimizer_and_lambdas():
    _, sched = build(ember, "LambdaLR", {"lr_lambda": lambda e: 1.0})
    state = sched.state_dict()
    assert "optimizer" not in state and state["lr_lambdas"] == [None, None]
    assert state["base_lrs"] == [0.1, 0.05] and state["last_epoch"] == 0


def test_callable_object_lambda_state():
    class Decay:
        def __init__(self, rate):
            self.rate = rate

        def __call__(self, e):
            return self.rate ** e

    opt = make_opt(ember)
    sched = ember.optim.lr_scheduler.LambdaLR(opt, Decay(0.5))
    state = sched.state_dict()
    assert state["lr_lambdas"] == [{"rate": 0.5}, {"rate": 0.5}]
    other = ember.optim.lr_scheduler.LambdaLR(make_opt(ember), [Decay(0.1), Decay(0.2)])
    other.load_state_dict(state)
    assert [fn.rate for fn in other.lr_lambdas] == [0.5, 0.5]


@pytest.mark.parametrize("name,kwargs,epochs", [
    ("StepLR", {"step_size": 3, "gamma": 0.5}, [0, 5, 9, 2]),
    ("MultiStepLR", {"milestones": [2, 6]}, [7, 1, 3]),
    ("ExponentialLR", {"gamma": 0.8}, [4, 10]),
    ("CosineAnnealingLR", {"T_max": 8}, [3, 12]),
    ("LinearLR", {"start_factor": 0.5}, [2, 9]),
    ("PolynomialLR", {"total_iters": 6, "power": 1.5}, [4, 8]),
    ("ConstantLR", {"factor": 0.5, "total_iters": 2}, [1, 3]),
    ("CosineAnnealingWarmRestarts", {"T_0": 3, "T_mult": 2}, [1.5, 4, 10, 0]),
])
def test_step_with_epoch_uses_closed_form(name, kwargs, epochs):
    results = []
    for lib in (ember, torch):
        opt, sched = build(lib, name, kwargs)
        out = []
        with pytest.warns(UserWarning) if name != "CosineAnnealingWarmRestarts" else _nothing():
            for e in epochs:
                opt.step()
                sched.step(e)
                out.append(list(sched.get_last_lr()))
        results.append(out)
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_resume_with_last_epoch():
    for lib in (ember, torch):
        opt = make_opt(lib)
        for g in opt.param_groups:
            g["initial_lr"] = g["lr"] * 2
        sched = lib.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5, last_epoch=4)
        assert sched.base_lrs == pytest.approx([0.2, 0.1]) and sched.last_epoch == 5
    with pytest.raises(KeyError, match=r"param 'initial_lr' is not specified in param_groups\[0\]"):
        ember.optim.lr_scheduler.StepLR(make_opt(ember), step_size=2, last_epoch=3)


def test_aliases_and_types():
    mod = ember.optim.lr_scheduler
    assert issubclass(mod._LRScheduler, mod.LRScheduler)
    assert all(issubclass(getattr(mod, n), mod.LRScheduler) for n in mod.__all__)
    _, sched = build(ember, "ExponentialLR", {"gamma": 0.5})
    assert isinstance(sched.get_last_lr(), list) and sched.get_last_lr() == [0.1, 0.05]


def _errors(lib):
    opt = make_opt(lib)
    adam = make_opt(lib, "Adam")
    mod = lib.optim.lr_scheduler
    bare = lib.optim.Optimizer([lib.zeros(1, requires_grad=True)], {"lr": 0.1})
    return [
        (TypeError, r"^list is not an Optimizer", lambda: mod.StepLR([], 3)),
        (TypeError, r"^int is not an Optimizer", lambda: mod.CyclicLR(1, 0.1, 1.0)),
        (TypeError, r"^str is not an Optimizer", lambda: mod.ReduceLROnPlateau("x")),
        (ValueError, r"^Expected 2 lr_lambdas, but got 3", lambda: mod.LambdaLR(opt, [abs] * 3)),
        (TypeError, r"^lr_lambda should be a function, but got int", lambda: mod.MultiplicativeLR(opt, 3)),
        (ValueError, r"^Constant multiplicative factor expected to be between 0 and 1\.",
         lambda: mod.ConstantLR(opt, factor=1.5)),
        (ValueError, r"^Starting multiplicative factor expected to be greater than 0",
         lambda: mod.LinearLR(opt, start_factor=0)),
        (ValueError, r"^Ending multiplicative factor expected to be between 0 and 1\.",
         lambda: mod.LinearLR(opt, end_factor=2)),
        (ValueError, r"^Expected positive integer T_0, but got 0", lambda: mod.CosineAnnealingWarmRestarts(opt, 0)),
        (ValueError, r"^Expected integer T_mult >= 1, but got 1\.5",
         lambda: mod.CosineAnnealingWarmRestarts(opt, 2, T_mult=1.5)),
        (ValueError, r"^Expected float or int eta_min",
         lambda: mod.CosineAnnealingWarmRestarts(opt, 2, eta_min="a")),
        (ValueError, r"^mode is invalid and scale_fn is None", lambda: mod.CyclicLR(opt, 0.1, 1.0, mode="up")),
        (ValueError, r"^max_lr must have the same length as optimizer\.param_groups\. max_lr has 3 values",
         lambda: mod.CyclicLR(opt, 0.1, [1.0] * 3)),
        (ValueError, r"^optimizer must support momentum or beta1",
         lambda: mod.CyclicLR(bare, 0.1, 1.0)),
        (ValueError, r"^optimizer must support momentum or beta1", lambda: mod.OneCycleLR(bare, 1.0, 10)),
        (ValueError, r"^Expected positive integer total_steps, but got 0", lambda: mod.OneCycleLR(adam, 1.0, 0)),
        (ValueError, r"^Expected positive integer epochs, but got -1",
         lambda: mod.OneCycleLR(adam, 1.0, epochs=-1, steps_per_epoch=2)),
        (ValueError, r"^Expected positive integer steps_per_epoch, but got 0",
         lambda: mod.OneCycleLR(adam, 1.0, epochs=1, steps_per_epoch=0)),
        (ValueError, r"^You must define either total_steps OR", lambda: mod.OneCycleLR(adam, 1.0)),
        (ValueError, r"^Expected float between 0 and 1 pct_start, but got 2",
         lambda: mod.OneCycleLR(adam, 1.0, 10, pct_start=2)),
        (ValueError, r"^anneal_strategy must be one of 'cos' or 'linear', instead got exp",
         lambda: mod.OneCycleLR(adam, 1.0, 10, anneal_strategy="exp")),
        (ValueError, r"^Factor should be < 1\.0\.", lambda: mod.ReduceLROnPlateau(opt, factor=1.0)),
        (ValueError, r"^expected 2 min_lrs, got 1", lambda: mod.ReduceLROnPlateau(opt, min_lr=[0.1])),
        (ValueError, r"^mode avg is unknown!", lambda: mod.ReduceLROnPlateau(opt, mode="avg")),
        (ValueError, r"^threshold mode pct is unknown!", lambda: mod.ReduceLROnPlateau(opt, threshold_mode="pct")),
        (ValueError, r"^SequentialLR expects at least one scheduler", lambda: mod.SequentialLR(opt, [], [])),
        (ValueError, r"^Sequential Schedulers expects number of schedulers provided to be one more",
         lambda: mod.SequentialLR(opt, [mod.StepLR(opt, 2)], [3])),
        (ValueError, r"^SequentialLR does not support `ReduceLROnPlateau`",
         lambda: mod.SequentialLR(opt, [mod.ReduceLROnPlateau(opt)], [])),
        (TypeError, r"^ChainedScheduler at index 0 should have `optimizer` as its attribute",
         lambda: mod.ChainedScheduler([object()], opt)),
        (ValueError, r"^ChainedScheduler expects all schedulers to belong to the same optimizer",
         lambda: mod.ChainedScheduler([mod.StepLR(opt, 2), mod.StepLR(adam, 2)])),
        (ValueError, r"^ChainedScheduler expects at least one scheduler to be chained",
         lambda: mod.ChainedScheduler([])),
    ]


@pytest.mark.parametrize("index", range(len(_errors(ember))))
def test_errors_like_torch(index):
    exc, pattern, fn = _errors(ember)[index]
    with pytest.raises(exc, match=pattern):
        _errors(torch)[index][2]()
    with pytest.raises(exc, match=pattern):
        fn()


def test_one_cycle_past_total_steps():
    for lib in (ember, torch):
        opt, sched = build(lib, "OneCycleLR", {"max_lr": 0.1, "total_steps": 3})
        for _ in range(3):
            opt.step()
            sched.step()
        with pytest.raises(ValueError, match=r"Tried to step 4 times\. The specified number of total steps is 3"):
            sched.step()


def test_plateau_min_lrs_after_new_group():
    opt = make_opt(ember)
    sched = ember.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, min_lr=[0.0, 0.0])
    opt.add_param_group({"params": [ember.zeros(1, requires_grad=True)], "lr": 0.3})
    sched.step(1.0)
    with pytest.raises(RuntimeError, match=r"number of param groups in the `optimizer` \(3\) differs .* \(2\)"):
        sched.step(2.0)
    fresh = make_opt(ember)
    sched = ember.optim.lr_scheduler.ReduceLROnPlateau(fresh, patience=0, min_lr=0.01)
    fresh.add_param_group({"params": [ember.zeros(1, requires_grad=True)], "lr": 0.3})
    sched.step(1.0)
    sched.step(2.0)
    assert [g["lr"] for g in fresh.param_groups] == pytest.approx([0.01, 0.01, 0.03])
    assert math.isclose(sched.best, 1.0)
