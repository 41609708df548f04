"""Muon and swap_in_optimizer_params_and_state against torch."""
import numpy as np
import pytest
import torch

import ember

RNG = np.random.default_rng(0)
SHAPES = ((4, 6), (7, 3), (5, 5))


def _run(lib, steps=4, **kw):
    rng = np.random.default_rng(1)
    params = [lib.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True) for s in SHAPES]
    targets = [lib.tensor(rng.standard_normal(s).astype(np.float32)) for s in SHAPES]
    opt = lib.optim.Muon(params, **kw)
    for _ in range(steps):
        opt.zero_grad()
        sum(((p - t) ** 2 * (i + 1)).sum() for i, (p, t) in enumerate(zip(params, targets))).backward()
        opt.step()
    return [p.detach().cpu().numpy() for p in params], opt


@pytest.mark.parametrize("kw", [dict(), dict(lr=0.02), dict(lr=0.02, nesterov=False, momentum=0.8),
                                dict(lr=0.02, weight_decay=0.0, adjust_lr_fn="match_rms_adamw"),
                                dict(lr=0.05, ns_steps=3, eps=1e-5, adjust_lr_fn="original")], ids=str)
def test_muon_matches_torch(kw):
    mine, eopt = _run(ember, **kw)
    ref, topt = _run(torch, **kw)
    start = [np.random.default_rng(1).standard_normal(s) for s in SHAPES]
    for a, b, s in zip(mine, ref, start):
        # the Newton-Schulz iteration runs in bfloat16: compare the distance travelled, to bf16 precision
        np.testing.assert_allclose(a - s, b - s, rtol=2e-2, atol=2e-3 * float(np.abs(b - s).max()))
    buf_e = eopt.state_dict()["state"][0]["momentum_buffer"].cpu().numpy()
    buf_t = topt.state_dict()["state"][0]["momentum_buffer"].cpu().numpy()
    np.testing.assert_allclose(buf_e, buf_t, rtol=1e-4, atol=1e-5)
    assert eopt.defaults == topt.defaults


@pytest.mark.parametrize("kw,ctor", [(dict(lr=-1.0), None), (dict(momentum=-0.5), None),
                                     (dict(weight_decay=-1.0), None), (dict(adjust_lr_fn="other"), None),
                                     ({}, (3,))], ids=str)
def test_muon_bad_options_raise_like_torch(kw, ctor):
    msgs = []
    for lib in (ember, torch):
        with pytest.raises(ValueError) as err:
            lib.optim.Muon([lib.zeros(*(ctor or (2, 2)), requires_grad=True)], **kw)
        msgs.append(str(err.value).replace("torch.", "ember."))
    assert msgs[0] == msgs[1]


def _swap(lib):
    rng = np.random.default_rng(4)
    params = [lib.tensor(rng.standard_normal(3).astype(np.float32), requires_grad=True) for _ in range(2)]
    opt = lib.optim.Adam(params, lr=0.1)
    for p in params:
        p.grad = lib.ones(3)
    opt.step()
    saved = opt.state_dict()
    other = {"a": lib.zeros(3, requires_grad=True), "b": lib.ones(3, requires_grad=True)}
    for p in other.values():
        p.grad = lib.full((3,), 2.0)
    other_state = {"state": {i: {k: v.clone() for k, v in s.items()} for i, s in saved["state"].items()},
                   "param_groups": [{**g, "lr": 0.5} for g in saved["param_groups"]]}
    with lib.optim.swap_in_optimizer_params_and_state(opt, other, other_state):
        assert opt.param_groups[0]["lr"] == 0.5 and opt.param_groups[0]["params"][0] is other["a"]
        opt.step()
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[0]["params"][0] is params[0]
    live = [v.cpu().numpy().copy() for s in opt.state_dict()["state"].values() for v in s.values()]
    swapped = [v.cpu().numpy().copy() for s in other_state["state"].values() for v in s.values()]
    return [p.detach().cpu().numpy() for p in (*params, *other.values())], live, swapped


def test_swap_in_params_and_state_matches_torch():
    mine, ref = _swap(ember), _swap(torch)
    for a, b in zip(mine, ref):
        for x, y in zip(a, b):
            np.testing.assert_allclose(x, y, rtol=1e-6)


@pytest.mark.parametrize("bad", ["uninitialised", "groups", "keys", "extra"])
def test_swap_in_validation_errors_match_torch(bad):
    msgs = []
    for lib in (ember, torch):
        w = lib.ones(2, requires_grad=True)
        opt = lib.optim.SGD([w], lr=0.1, momentum=0.9)
        if bad != "uninitialised":
            w.grad = lib.ones(2)
            opt.step()
        sd = opt.state_dict()
        if bad == "groups":
            sd = {"state": sd["state"], "param_groups": sd["param_groups"] * 2}
        elif bad == "keys":
            sd = {"state": sd["state"], "param_groups": [{**sd["param_groups"][0], "extra": 1}]}
        elif bad == "extra":
            sd = {"state": {**sd["state"], 5: {}}, "param_groups": sd["param_groups"]}
        with pytest.raises(RuntimeError) as err:
            with lib.optim.swap_in_optimizer_params_and_state(opt, {"w": lib.ones(2)}, sd):
                pass
        msgs.append(str(err.value))
    assert msgs[0] == msgs[1]
