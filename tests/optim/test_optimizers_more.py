import numpy as np
import pytest
import torch
from optim_oracle import assert_matches_torch, assert_state_dicts_match, build, make_params, run, train

import ember

OPTIONS = {
    "RMSprop": [
        dict(), dict(lr=0.05, alpha=0.9), dict(lr=0.05, momentum=0.9), dict(lr=0.05, centered=True),
        dict(lr=0.05, weight_decay=0.1, maximize=True),
        dict(lr=0.05, alpha=0.8, eps=1e-6, weight_decay=0.1, momentum=0.5, centered=True, maximize=True),
    ],
    "Adagrad": [
        dict(), dict(lr=0.1, lr_decay=0.3), dict(lr=0.1, initial_accumulator_value=0.5),
        dict(lr=0.1, weight_decay=0.1, maximize=True),
        dict(lr=0.1, lr_decay=0.1, weight_decay=0.2, initial_accumulator_value=0.1, eps=1e-6, maximize=True),
    ],
    "Adadelta": [
        dict(), dict(lr=0.5, rho=0.5), dict(lr=0.5, weight_decay=0.1, maximize=True),
        dict(lr=0.5, rho=0.7, eps=1e-4, weight_decay=0.2, maximize=True),
    ],
    "Adamax": [
        dict(), dict(lr=0.05, betas=(0.8, 0.9)), dict(lr=0.05, weight_decay=0.1, maximize=True),
        dict(lr=0.05, betas=(0.5, 0.6), eps=1e-3, weight_decay=0.2, maximize=True),
    ],
    "NAdam": [
        dict(), dict(lr=0.05, momentum_decay=0.1), dict(lr=0.05, weight_decay=0.1),
        dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True, maximize=True),
        dict(lr=0.05, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.2, momentum_decay=0.05, maximize=True),
    ],
    "RAdam": [
        dict(), dict(lr=0.05, betas=(0.5, 0.6)), dict(lr=0.05, betas=(0.5, 0.6), weight_decay=0.1),
        dict(lr=0.05, betas=(0.5, 0.6), weight_decay=0.1, decoupled_weight_decay=True, maximize=True),
        dict(lr=0.05, betas=(0.8, 0.7), eps=1e-4, maximize=True),
    ],
}
CASES = [(name, kwargs) for name, options in OPTIONS.items() for kwargs in options]
NAMES = list(OPTIONS)


@pytest.mark.parametrize("name,kwargs", CASES, ids=str)
def test_five_steps_match_torch(name, kwargs):
    assert_matches_torch(name, kwargs)


@pytest.mark.parametrize("name", NAMES)
def test_float64_params(name):
    assert_matches_torch(name, OPTIONS[name][-1], dtype=np.float64)


@pytest.mark.parametrize("name", NAMES)
def test_param_groups_with_their_own_options(name):
    groups = [dict(lr=0.1), dict(lr=0.01, weight_decay=0.3), dict(maximize=True)]
    assert_matches_torch(name, OPTIONS[name][-1], groups=groups)


def test_radam_rectified_branch_matches_torch():
    # with beta2=0.6 rho_t > 5 is never reached; with the default beta2 it needs step >= 6
    assert_matches_torch("RAdam", dict(lr=0.05), steps=8)


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_round_trip(name):
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
    assert fresh.param_groups[0]["lr"] == kwargs.get("lr", ref.defaults["lr"])
    train(ember, fresh, params, 2)
    for p, q in zip(params, five):
        np.testing.assert_allclose(p.detach().cpu().numpy(), q, rtol=1e-6, atol=1e-7)
    assert saved["state"][0]["step"].item() == 3


def test_adagrad_state_exists_before_the_first_step_like_torch():
    mine = build(ember, "Adagrad", dict(initial_accumulator_value=0.5), make_params(ember))
    ref = build(torch, "Adagrad", dict(initial_accumulator_value=0.5), make_params(torch))
    assert_state_dicts_match(mine.state_dict(), ref.state_dict())


@pytest.mark.parametrize("name", NAMES)
def test_update_keeps_state_buffers_and_bumps_version(name):
    w = ember.ones(4, requires_grad=True)
    opt = getattr(ember.optim, name)([w], **OPTIONS[name][-1])
    w.sum().backward()
    opt.step()
    buffers = {k: v._data for k, v in opt.state[w].items()}
    data, version = w._data, w._version[0]
    opt.step()
    assert all(opt.state[w][k]._data is a for k, a in buffers.items())
    assert w._data is data and w._version[0] == version + 1 and w.grad_fn is None


INVALID = {
    "RMSprop": [dict(lr=-0.1), dict(eps=-1.0), dict(momentum=-0.1), dict(weight_decay=-1.0), dict(alpha=-0.5)],
    "Adagrad": [dict(lr=-0.1), dict(lr_decay=-1.0), dict(weight_decay=-1.0), dict(initial_accumulator_value=-1.0),
                dict(eps=-1.0)],
    "Adadelta": [dict(lr=-0.1), dict(rho=1.5), dict(rho=-0.1), dict(eps=-1.0), dict(weight_decay=-1.0)],
    "Adamax": [dict(lr=-0.1), dict(eps=-1.0), dict(betas=(1.0, 0.9)), dict(betas=(0.9, -0.1)),
               dict(weight_decay=-1.0)],
    "NAdam": [dict(lr=-0.1), dict(betas=(0.9, 1.0)), dict(weight_decay=-1.0), dict(momentum_decay=-1.0)],
    "RAdam": [dict(lr=-0.1), dict(eps=-1.0), dict(betas=(-0.1, 0.9)), dict(weight_decay=-1.0)],
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
