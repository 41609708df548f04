import numpy as np
import pytest
import torch
from optim_oracle import assert_matches_torch, assert_state_dicts_match, build, make_params, run, train

import ember

OPTIONS = [
    dict(lr=0.05),
    dict(lr=0.05, momentum=0.9),
    dict(lr=0.05, momentum=0.9, dampening=0.3),
    dict(lr=0.05, momentum=0.9, nesterov=True),
    dict(lr=0.05, weight_decay=0.1),
    dict(lr=0.05, momentum=0.8, weight_decay=0.1, nesterov=True),
    dict(lr=0.05, maximize=True),
    dict(lr=0.05, momentum=0.9, dampening=0.5, weight_decay=0.05, maximize=True),
]


@pytest.mark.parametrize("kwargs", OPTIONS, ids=str)
def test_five_steps_match_torch(kwargs):
    assert_matches_torch("SGD", kwargs)


def test_float64_params():
    assert_matches_torch("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1), dtype=np.float64)


def test_param_groups_with_their_own_options():
    groups = [dict(lr=0.1), dict(lr=0.01, momentum=0.5), dict(weight_decay=0.2)]
    assert_matches_torch("SGD", dict(lr=0.05, momentum=0.9), groups=groups)


@pytest.mark.parametrize("kwargs", [OPTIONS[0], OPTIONS[3], OPTIONS[7]], ids=str)
def test_state_dict_round_trip(kwargs):
    five, _ = run(ember, "SGD", kwargs, steps=5)
    params = make_params(ember)
    opt = build(ember, "SGD", kwargs, params)
    train(ember, opt, params, 3)
    saved = opt.state_dict()
    _, ref = run(torch, "SGD", kwargs, steps=3)
    assert_state_dicts_match(saved, ref.state_dict())
    fresh = build(ember, "SGD", dict(lr=123.0), params)
    fresh.load_state_dict(saved)
    assert fresh.param_groups[0]["lr"] == kwargs["lr"]
    train(ember, fresh, params, 2)
    for p, q in zip(params, five):
        np.testing.assert_allclose(p.detach().cpu().numpy(), q, rtol=1e-6, atol=1e-7)


def test_update_is_in_place_and_bumps_version():
    w = ember.ones(3, requires_grad=True)
    data, version = w._data, w._version[0]
    opt = ember.optim.SGD([w], lr=0.5, momentum=0.9)
    w.sum().backward()
    opt.step()
    assert w._data is data and w._version[0] == version + 1
    assert w.requires_grad and w.is_leaf and w.grad_fn is None
    np.testing.assert_allclose(w.detach().cpu().numpy(), 0.5)


@pytest.mark.parametrize("kwargs", [
    dict(lr=-0.1), dict(lr=0.1, momentum=-0.5), dict(lr=0.1, weight_decay=-1.0),
    dict(lr=0.1, nesterov=True), dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
], ids=str)
def test_invalid_options_raise_like_torch(kwargs):
    with pytest.raises(ValueError) as ref:
        torch.optim.SGD([torch.zeros(1, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError) as mine:
        ember.optim.SGD([ember.zeros(1, requires_grad=True)], **kwargs)
    assert str(mine.value) == str(ref.value)


def test_repr_matches_torch():
    groups = [dict(lr=0.1), dict(momentum=0.5)]
    mine = build(ember, "SGD", dict(lr=0.05), make_params(ember), groups + [{}])
    ref = build(torch, "SGD", dict(lr=0.05), make_params(torch), groups + [{}])
    assert repr(mine) == repr(ref)
