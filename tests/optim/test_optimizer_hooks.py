"""Optimizer hooks against torch: the order the step, state_dict and load_state_dict hooks run in, what
their return values do, removal, and the global step hooks."""
import numpy as np
import pytest
import torch

import ember
import ember.optim.optimizer
from torch.optim import optimizer as torch_optimizer_module  # torch.optim deletes the attribute ``optimizer``


def _module(lib):
    return ember.optim.optimizer if lib is ember else torch_optimizer_module


def _setup(lib, cls="SGD"):
    w = lib.ones(3, requires_grad=True)
    opt = getattr(lib.optim, cls)([w], lr=0.1)
    w.sum().backward()
    return w, opt


def _record_step_hooks(lib, cls):
    calls = []
    w, opt = _setup(lib, cls)
    g1 = _module(lib).register_optimizer_step_pre_hook(lambda o, a, k: calls.append(("gpre", len(a))))
    g2 = _module(lib).register_optimizer_step_post_hook(lambda o, a, k: calls.append(("gpost", len(a))))
    try:
        opt.register_step_post_hook(lambda o, a, k: calls.append(("post", o is opt, w.detach().cpu().numpy()[0].item())))
        opt.register_step_pre_hook(lambda o, a, k: calls.append(("pre", o is opt, w.detach().cpu().numpy()[0].item())))
        opt.register_step_pre_hook(lambda o, a, k: calls.append(("pre2", type(a[0]).__name__)))
        h = opt.register_step_post_hook(lambda o, a, k: calls.append("removed"))
        h.remove()
        opt.step()
    finally:
        g1.remove()
        g2.remove()
    opt.step()  # global hooks gone
    return calls


@pytest.mark.parametrize("cls", ["SGD", "Adam", "Rprop"])
def test_step_hooks_run_in_torchs_order(cls):
    mine = _record_step_hooks(ember, cls)
    ref = _record_step_hooks(torch, cls)
    def normalise(c):  # parameter values rounded, the optimizer's class name kept
        return c[:-1] + (round(c[-1], 5),) if c[0] in ("pre", "post") else c

    assert [normalise(c) for c in mine] == [normalise(c) for c in ref]
    assert [c[0] for c in mine] == ["gpre", "pre", "pre2", "post", "gpost", "pre", "pre2", "post"]


def test_step_pre_hook_may_replace_the_arguments():
    for lib in (ember, torch):
        w, opt = _setup(lib)
        seen = []
        opt.register_step_pre_hook(lambda o, a, k: ((a[0],), {"closure": lambda: seen.append(1) or 5.0}))
        assert opt.step() == 5.0 and seen == [1]
        opt.register_step_pre_hook(lambda o, a, k: 3)
        with pytest.raises(RuntimeError, match="must return None or a tuple of"):
            opt.step()


def test_subclass_step_calling_super_runs_hooks_once():
    class Counting(ember.optim.SGD):
        def step(self, closure=None):
            return super().step(closure)

    w = ember.ones(2, requires_grad=True)
    opt = Counting([w], lr=0.1)
    calls = []
    opt.register_step_pre_hook(lambda *a: calls.append("pre"))
    opt.register_step_post_hook(lambda *a: calls.append("post"))
    w.sum().backward()
    opt.step()
    assert calls == ["pre", "post"]
    np.testing.assert_allclose(w.detach().cpu().numpy(), [0.9, 0.9])


def _state_dict_hooks(lib):
    calls = []
    w, opt = _setup(lib, "Adam")
    opt.step()
    opt.register_state_dict_pre_hook(lambda o: calls.append("sd_pre"))
    opt.register_state_dict_pre_hook(lambda o: calls.append("sd_pre_first"), prepend=True)
    opt.register_state_dict_post_hook(lambda o, sd: calls.append(("sd_post", sorted(sd))))
    opt.register_state_dict_post_hook(lambda o, sd: {**sd, "extra": 1})
    sd = opt.state_dict()
    calls.append(("extra", sd.get("extra")))

    def load_pre(o, s):
        calls.append(("load_pre", sorted(s)))
        s = dict(s)
        s.pop("extra")
        s["param_groups"] = [{**g, "lr": 0.25} for g in s["param_groups"]]
        return s

    opt.register_load_state_dict_pre_hook(load_pre)
    opt.register_load_state_dict_post_hook(lambda o: calls.append(("load_post", o.param_groups[0]["lr"])))
    opt.register_load_state_dict_post_hook(lambda o: calls.append("load_post_first"), prepend=True)
    opt.load_state_dict(sd)
    return calls


def test_state_dict_hooks_match_torch():
    assert _state_dict_hooks(ember) == _state_dict_hooks(torch)
