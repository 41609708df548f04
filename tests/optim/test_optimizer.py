import numpy as np
import pytest
import torch
from optim_oracle import assert_state_dicts_match, build, make_params, quadratic
from torch.optim.optimizer import required as torch_required

import ember

REQUIRED = {ember: ember.optim.required, torch: torch_required}


def both(fn):
    """fn(lib) in ember and torch; returns (mine, ref)."""
    return fn(ember), fn(torch)


@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.05, momentum=0.9)), ("Adam", dict(lr=0.05))])
def test_step_with_closure_returns_its_loss(name, kwargs):
    def go(lib):
        params = make_params(lib)
        opt = build(lib, name, kwargs, params)

        def closure():
            opt.zero_grad()
            loss = quadratic(lib, params)
            loss.backward()
            return loss

        with lib.no_grad():  # the closure still records: step runs it under enable_grad
            losses = [opt.step(closure).item() for _ in range(4)]
        return losses, [p.detach().cpu().numpy() for p in params]

    (mine_losses, mine), (ref_losses, ref) = both(go)
    np.testing.assert_allclose(mine_losses, ref_losses, rtol=1e-5)
    for a, b in zip(mine, ref):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_step_without_closure_returns_none():
    w = ember.ones(2, requires_grad=True)
    w.sum().backward()
    assert ember.optim.SGD([w], lr=0.1).step() is None


def test_zero_grad():
    w = ember.ones(3, requires_grad=True)
    opt = ember.optim.SGD([w], lr=0.1)
    (w * 2).sum().backward()
    grad = w.grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is grad
    np.testing.assert_array_equal(w.grad.cpu().numpy(), 0)
    opt.zero_grad()
    assert w.grad is None
    opt.zero_grad()  # no grad at all: nothing to do


def test_params_without_grad_are_skipped_and_have_no_state():
    def go(lib):
        params = make_params(lib)
        opt = lib.optim.Adam(params, lr=0.1)
        (params[0] ** 2).sum().backward()
        opt.step()
        return opt.state_dict(), [p.detach().cpu().numpy() for p in params]

    (mine, mine_params), (ref, ref_params) = both(go)
    assert_state_dicts_match(mine, ref)
    for a, b in zip(mine_params, ref_params):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_sgd_without_momentum_keeps_no_state():
    def go(lib):
        params = make_params(lib)
        opt = lib.optim.SGD(params, lr=0.1)
        quadratic(lib, params).backward()
        opt.step()
        return opt.state_dict()

    mine, ref = both(go)
    assert_state_dicts_match(mine, ref)


def test_add_param_group_fills_defaults_and_works():
    def go(lib):
        a, b, c = make_params(lib)
        opt = lib.optim.SGD([a], lr=0.1, momentum=0.9)
        opt.add_param_group({"params": b, "lr": 0.01})
        opt.add_param_group({"params": [c], "momentum": 0.0})
        for _ in range(3):
            opt.zero_grad()
            quadratic(lib, [a, b, c]).backward()
            opt.step()
        return opt.state_dict(), [p.detach().cpu().numpy() for p in (a, b, c)]

    (mine, mine_params), (ref, ref_params) = both(go)
    assert_state_dicts_match(mine, ref)
    for x, y in zip(mine_params, ref_params):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)


def test_base_class_with_required_lr():
    for lib in (ember, torch):
        w = lib.zeros(2, requires_grad=True)
        opt = lib.optim.Optimizer([{"params": [w], "lr": 0.5}], {"lr": REQUIRED[lib], "x": 1})
        assert opt.param_groups[0]["x"] == 1


def _raises_like_torch(fn, exc):
    with pytest.raises(exc) as ref:
        fn(torch)
    with pytest.raises(exc) as mine:
        fn(ember)
    assert str(mine.value).replace("ember.", "") == str(ref.value).replace("torch.", "")


def _w(lib, n=2):
    return lib.zeros(n, requires_grad=True)


@pytest.mark.parametrize("fn,exc", [
    (lambda lib: lib.optim.SGD([], lr=0.1), ValueError),
    (lambda lib: lib.optim.SGD(_w(lib), lr=0.1), TypeError),
    (lambda lib: lib.optim.SGD([1.0], lr=0.1), TypeError),
    (lambda lib: lib.optim.SGD([{"params": {_w(lib)}}], lr=0.1), TypeError),
    (lambda lib: lib.optim.SGD([_w(lib) * 2], lr=0.1), ValueError),
    (lambda lib: lib.optim.Optimizer([_w(lib)], {"lr": REQUIRED[lib]}), ValueError),
], ids=["empty", "tensor", "float", "set", "non-leaf", "missing-lr"])
@pytest.mark.cpu_only  # compares with output torch prints for CPU tensors
def test_constructor_errors(fn, exc):
    _raises_like_torch(fn, exc)


def test_parameter_in_two_groups():
    def fn(lib):
        w = _w(lib)
        opt = lib.optim.SGD([w], lr=0.1)
        opt.add_param_group({"params": [w]})

    _raises_like_torch(fn, ValueError)


def test_duplicate_parameter_in_one_group_warns():
    w = _w(ember)
    with pytest.warns(UserWarning, match="duplicate parameters"):
        ember.optim.SGD([w, w], lr=0.1)


@pytest.mark.parametrize("sizes", [(2,), (1, 2)], ids=["group-size", "group-count"])
def test_load_state_dict_mismatch(sizes):
    def fn(lib):
        opt = lib.optim.SGD([_w(lib)], lr=0.1)
        other = lib.optim.SGD([{"params": [_w(lib) for _ in range(n)]} for n in sizes], lr=0.1)
        opt.load_state_dict(other.state_dict())

    _raises_like_torch(fn, ValueError)


def test_load_torch_layout_by_hand():
    w = ember.ones(2, requires_grad=True)
    opt = ember.optim.SGD([w], lr=0.1, momentum=0.9)
    sd = {"state": {0: {"momentum_buffer": ember.tensor([1.0, 2.0], dtype=ember.float64)}},
          "param_groups": [dict(opt.state_dict()["param_groups"][0], lr=0.5)]}
    opt.load_state_dict(sd)
    assert opt.param_groups[0]["params"][0] is w and opt.param_groups[0]["lr"] == 0.5
    buf = opt.state[w]["momentum_buffer"]
    assert buf.dtype == ember.float32 and buf._data is not sd["state"][0]["momentum_buffer"]._data
    w.grad = ember.zeros(2)
    opt.step()
    np.testing.assert_allclose(w.detach().cpu().numpy(), [1 - 0.5 * 0.9, 1 - 0.5 * 1.8], rtol=1e-6)
