"""Rprop, ASGD and Adafactor against torch: parameters after N steps, state_dict, bad options, repr."""
import numpy as np
import pytest
import torch
from optim_oracle import assert_matches_torch, assert_state_dicts_match, build, make_params, run, train

import ember

OPTIONS = {
    "Rprop": [
        dict(), dict(lr=0.05), dict(lr=0.05, etas=(0.3, 1.5)), dict(lr=0.05, step_sizes=(1e-3, 0.06)),
        dict(lr=0.05, etas=(0.4, 1.1), step_sizes=(1e-4, 0.5), maximize=True),
    ],
    "ASGD": [
        dict(), dict(lr=0.05), dict(lr=0.05, t0=2), dict(lr=0.05, lambd=0.01, alpha=0.5, t0=1),
        dict(lr=0.05, weight_decay=0.1, maximize=True),
        dict(lr=0.03, lambd=0.05, alpha=0.6, t0=3, weight_decay=0.2, maximize=True),
    ],
    "Adafactor": [
        dict(), dict(lr=0.05), dict(lr=0.05, beta2_decay=-0.5), dict(lr=0.05, eps=(1e-6, 1e-2)),
        dict(lr=0.05, d=1.5, weight_decay=0.1), dict(lr=0.05, maximize=True),
        dict(lr=0.05, beta2_decay=-0.6, eps=(1e-5, 1e-2), d=2.0, weight_decay=0.05, maximize=True),
    ],
}
CASES = [(name, kwargs) for name, options in OPTIONS.items() for kwargs in options]
NAMES = list(OPTIONS)


@pytest.mark.parametrize("name,kwargs", CASES, ids=str)
def test_eight_steps_match_torch(name, kwargs):
    assert_matches_torch(name, kwargs, steps=8)


@pytest.mark.parametrize("name", NAMES)
def test_float64_params(name):
    assert_matches_torch(name, OPTIONS[name][-1], dtype=np.float64)


@pytest.mark.parametrize("name", NAMES)
def test_param_groups_with_their_own_options(name):
    groups = [dict(lr=0.1), dict(lr=0.01), dict(maximize=True)]
    assert_matches_torch(name, OPTIONS[name][-1], groups=groups)


def test_adafactor_batched_matrix_param_matches_torch():
    rng = np.random.default_rng(3)
    start, target = rng.standard_normal((2, 3, 4)).astype(np.float32), rng.standard_normal((2, 3, 4))
    out = []
    for lib in (ember, torch):
        w = lib.tensor(start, requires_grad=True)
        opt = lib.optim.Adafactor([w], lr=0.05)
        for _ in range(4):
            opt.zero_grad()
            ((w - lib.tensor(target, dtype=w.dtype)) ** 2).sum().backward()
            opt.step()
        out.append((w.detach().cpu().numpy(), {k: v.cpu().numpy() for k, v in opt.state[w].items()}))
    np.testing.assert_allclose(out[0][0], out[1][0], rtol=1e-5, atol=1e-6)
    assert list(out[0][1]) == list(out[1][1]) == ["step", "row_var", "col_var"]
    for k in out[1][1]:
        assert out[0][1][k].shape == out[1][1][k].shape
        np.testing.assert_allclose(out[0][1][k], out[1][1][k], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_matches_torch_and_round_trips(name):
    kwargs = OPTIONS[name][-1]
    five, _ = run(ember, name, kwargs, steps=5)
    params = make_params(ember)
    opt = build(ember, name, kwargs, params)
    train(ember, opt, params, 3)
    saved = opt.state_dict()
    _, ref = run(torch, name, kwargs, steps=3)
    assert_state_dicts_match(saved, ref.state_dict())
    fresh = build(ember, name, dict(lr=7.0), params)
    fresh.load_state_dict(saved)
    train(ember, fresh, params, 2)
    for p, q in zip(params, five):
        np.testing.assert_allclose(p.detach().cpu().numpy(), q, rtol=1e-6, atol=1e-7)
    # and the ember state loads into torch's optimizer, which then continues identically
    tparams = [torch.tensor(p.detach().cpu().numpy(), requires_grad=True) for p in make_params(ember)]
    topt = build(torch, name, kwargs, tparams)
    train(torch, topt, tparams, 3)
    tsd = {"param_groups": saved["param_groups"],
           "state": {i: {k: torch.tensor(v.cpu().numpy()) for k, v in s.items()} for i, s in saved["state"].items()}}
    topt.load_state_dict(tsd)
    train(torch, topt, tparams, 2)
    for p, q in zip(tparams, five):
        np.testing.assert_allclose(p.detach().cpu().numpy(), q, rtol=1e-5, atol=1e-6)


INVALID = {
    "Rprop": [dict(lr=-0.1), dict(etas=(1.2, 1.5)), dict(etas=(0.5, 0.9))],
    "ASGD": [dict(lr=-0.1), dict(weight_decay=-1.0)],
    "Adafactor": [dict(lr=-0.1), dict(beta2_decay=0.5), dict(eps=(-1.0, 1e-3)), dict(eps=(None, -1.0)),
                  dict(d=0.5), dict(weight_decay=-1.0)],
}


@pytest.mark.parametrize("name,kwargs", [(n, k) for n, ks in INVALID.items() for k in ks], ids=str)
def test_invalid_options_raise_like_torch(name, kwargs):
    with pytest.raises(ValueError) as ref:
        getattr(torch.optim, name)([torch.zeros(1, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError) as mine:
        getattr(ember.optim, name)([ember.zeros(1, requires_grad=True)], **kwargs)
    assert str(mine.value) == str(ref.value)


@pytest.mark.parametrize("name", NAMES)
def test_repr_and_defaults_match_torch(name):
    mine = build(ember, name, {}, make_params(ember))
    ref = build(torch, name, {}, make_params(torch))
    assert repr(mine) == repr(ref)
    assert mine.defaults == ref.defaults


def test_adafactor_rejects_complex_params_like_torch():
    for lib in (ember, torch):
        w = lib.zeros(2, dtype=lib.complex64, requires_grad=True)
        w.grad = lib.ones(2, dtype=lib.complex64)
        with pytest.raises(RuntimeError, match="Adafactor does not support complex parameters"):
            lib.optim.Adafactor([w]).step()
