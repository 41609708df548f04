"""ember.amp.GradScaler against torch.amp.GradScaler on CPU, step by step."""
import numpy as np
import pytest
import torch

import ember
from tests.oracle import rand


def _train(lib, steps, inf_at, unscale_first):
    w0, x0 = rand(4, 3, seed=1), rand(5, 4, seed=2)
    w = lib.tensor(w0.copy(), requires_grad=True)
    x = lib.tensor(x0)
    opt = lib.optim.SGD([w], lr=0.1, momentum=0.9)
    scaler = lib.amp.GradScaler("cpu", init_scale=2.0 ** 10, growth_factor=4.0, backoff_factor=0.25,
                                growth_interval=2)
    scales, params, results, trackers = [], [], [], []
    for step in range(steps):
        opt.zero_grad()
        loss = (x @ w).pow(2).mean()
        if step in inf_at:
            loss = loss * float("inf")
        scaler.scale(loss).backward()
        if unscale_first:
            scaler.unscale_(opt)
        results.append(scaler.step(opt))
        scaler.update()
        scales.append(scaler.get_scale())
        trackers.append(scaler.state_dict()["_growth_tracker"])
        params.append(w.detach().numpy().copy())
    return scales, params, results, trackers


@pytest.mark.parametrize("unscale_first", [False, True])
def test_skipped_steps_and_scale_sequence_match_torch(unscale_first):
    inf_at = {1, 4, 5}
    e = _train(ember, 9, inf_at, unscale_first)
    t = _train(torch, 9, inf_at, unscale_first)
    assert e[0] == t[0]
    assert e[3] == t[3]
    for pe, pt in zip(e[1], t[1]):
        np.testing.assert_allclose(pe, pt, rtol=1e-5, atol=1e-6)
    assert [r is None for r in e[2]] == [r is None for r in t[2]]


def test_state_dict_round_trip_and_disabled_scaler():
    s = ember.amp.GradScaler("cpu", init_scale=8.0, growth_interval=3)
    assert s.get_scale() == 8.0
    assert s.state_dict() == torch.amp.GradScaler("cpu", init_scale=8.0, growth_interval=3).state_dict()
    s2 = ember.amp.GradScaler("cpu")
    s2.load_state_dict(s.state_dict())
    assert s2.get_scale() == 8.0 and s2.get_growth_interval() == 3
    off = ember.amp.GradScaler("cpu", enabled=False)
    loss = ember.ones(())
    assert off.scale(loss) is loss and off.get_scale() == 1.0 and off.state_dict() == {}
    with pytest.raises(RuntimeError, match="empty"):
        s2.load_state_dict({})


def test_misuse_raises_torch_errors():
    w = ember.ones(2, requires_grad=True)
    opt = ember.optim.SGD([w], lr=0.1)
    s = ember.amp.GradScaler("cpu")
    s.scale(w.sum()).backward()
    s.unscale_(opt)
    with pytest.raises(RuntimeError, match="already been called on this optimizer"):
        s.unscale_(opt)
    s.step(opt)
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        s.step(opt)
    with pytest.raises(RuntimeError, match="Closure"):
        s.step(opt, closure=lambda: None)
    with pytest.raises(ValueError, match="FP16"):
        h = ember.ones(2, dtype=ember.float16, requires_grad=True)
        opt16 = ember.optim.SGD([h], lr=0.1)
        s.update()
        s.scale(h.sum()).backward()
        s.unscale_(opt16)


def test_cuda_scaler_without_cuda_disables_itself_like_torch():
    with pytest.warns(UserWarning, match="CUDA is not available"):
        s = ember.amp.GradScaler("cuda")
    assert not s.is_enabled()
    with pytest.warns(FutureWarning):
        assert not ember.cuda.amp.GradScaler().is_enabled()
