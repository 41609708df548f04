import numpy as np
import pytest
import torch
from optim_oracle import assert_matches_torch, assert_state_dicts_match, build, make_params, run, train

import ember

ADAM = [
    dict(lr=0.05),
    dict(lr=0.05, amsgrad=True),
    dict(lr=0.05, weight_decay=0.1),
    dict(lr=0.05, maximize=True),
    dict(lr=0.05, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1, amsgrad=True, maximize=True),
    dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True),
]
ADAMW = [
    dict(lr=0.05),
    dict(lr=0.05, weight_decay=0.3),
    dict(lr=0.05, weight_decay=0.3, amsgrad=True, maximize=True),
]
CASES = [("Adam", k) for k in ADAM] + [("AdamW", k) for k in ADAMW]


@pytest.mark.parametrize("name,kwargs", CASES, ids=str)
def test_five_steps_match_torch(name, kwargs):
    assert_matches_torch(name, kwargs)


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_float64_params(name):
    assert_matches_torch(name, dict(lr=0.05, weight_decay=0.1, amsgrad=True), dtype=np.float64)


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_param_groups_with_their_own_options(name):
    groups = [dict(lr=0.1), dict(lr=0.01, amsgrad=True), dict(betas=(0.5, 0.6), weight_decay=0.2)]
    assert_matches_torch(name, dict(lr=0.05), groups=groups)


@pytest.mark.parametrize("name,kwargs", [CASES[1], CASES[4], CASES[-1]], ids=str)
def test_state_dict_round_trip(name, kwargs):
    five, _ = run(ember, name, kwargs, steps=5)
    params = make_params(ember)
    opt = build(ember, name, kwargs, params)
    train(ember, opt, params, 3)
    saved = opt.state_dict()
    _, ref = run(torch, name, kwargs, steps=3)
    assert_state_dicts_match(saved, ref.state_dict())
    fresh = build(ember, name, dict(lr=7.0), params)
    fresh.load_state_dict(saved)
    assert fresh.param_groups[0]["lr"] == kwargs["lr"]
    train(ember, fresh, params, 2)
    for p, q in zip(params, five):
        np.testing.assert_allclose(p.detach().cpu().numpy(), q, rtol=1e-6, atol=1e-7)
    assert saved["state"][0]["step"].item() == 3  # the loaded optimizer works on its own copy


def test_load_casts_state_to_param_dtype():
    w64 = ember.ones(3, dtype=ember.float64, requires_grad=True)
    opt64 = ember.optim.Adam([w64], lr=0.1)
    w64.sum().backward()
    opt64.step()
    w32 = ember.ones(3, requires_grad=True)
    opt32 = ember.optim.Adam([w32], lr=0.1)
    opt32.load_state_dict(opt64.state_dict())
    state = opt32.state[w32]
    assert state["exp_avg"].dtype == ember.float32 and state["exp_avg_sq"].dtype == ember.float32
    assert state["step"].dtype == ember.float32 and state["step"].item() == 1


def test_update_allocates_no_new_state_and_bumps_version():
    w = ember.ones(4, requires_grad=True)
    opt = ember.optim.Adam([w], lr=0.1)
    w.sum().backward()
    opt.step()
    buffers = {k: v._data for k, v in opt.state[w].items()}
    data, version = w._data, w._version[0]
    opt.step()
    assert all(opt.state[w][k]._data is a for k, a in buffers.items())
    assert w._data is data and w._version[0] == version + 1 and w.grad_fn is None


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
@pytest.mark.parametrize("kwargs", [
    dict(lr=-0.1), dict(eps=-1.0), dict(betas=(1.0, 0.9)), dict(betas=(0.9, -0.1)), dict(weight_decay=-1.0),
], ids=str)
def test_invalid_options_raise_like_torch(name, kwargs):
    with pytest.raises(ValueError) as ref:
        getattr(torch.optim, name)([torch.zeros(1, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError) as mine:
        getattr(ember.optim, name)([ember.zeros(1, requires_grad=True)], **kwargs)
    assert str(mine.value) == str(ref.value)


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_repr_and_defaults_match_torch(name):
    mine = build(ember, name, {}, make_params(ember))
    ref = build(torch, name, {}, make_params(torch))
    assert repr(mine) == repr(ref)
    assert mine.defaults == ref.defaults
