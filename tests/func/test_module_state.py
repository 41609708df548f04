"""functional_call, stack_module_state, replace_all_batch_norm_modules_, rearrange, debug_unwrap and
functionalize against torch.func."""
import numpy as np
import pytest
import torch

import ember
import ember.nn as enn
from ember.func import (
    debug_unwrap, functional_call, functionalize, rearrange, replace_all_batch_norm_modules_, stack_module_state, vmap,
)

from func.helpers import close, copy_weights, pair

RNG = np.random.default_rng(4)


def test_functional_call_swaps_state_and_restores_it():
    t, e = torch.nn.Linear(3, 2).double(), enn.Linear(3, 2).double()
    copy_weights(t, e)
    (ex, tx), (ew, tw) = pair(RNG.standard_normal((4, 3))), pair(RNG.standard_normal((2, 3)))
    before = e.weight.detach().clone()
    close(functional_call(e, {"weight": ew}, (ex,)), torch.func.functional_call(t, {"weight": tw}, (tx,)))
    close(functional_call(e, ({"weight": ew}, {"bias": ew[:, 0]}), ex),
          torch.func.functional_call(t, ({"weight": tw}, {"bias": tw[:, 0]}), tx))
    assert ember.equal(e.weight, before) and isinstance(e.weight, enn.Parameter)
    close(functional_call(e, {}, args=(), kwargs={"input": ex}), t(tx))


def test_functional_call_ties_weights_and_checks_keys():
    class Tied(enn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = enn.Linear(2, 2, bias=False), enn.Linear(2, 2, bias=False)
            self.b.weight = self.a.weight

        def forward(self, x):
            return self.b(self.a(x))
    m, w, x = Tied(), ember.eye(2) * 2, ember.ones(1, 2)
    assert ember.equal(functional_call(m, {"a.weight": w}, (x,)), ember.full((1, 2), 4.0))
    untied = functional_call(m, {"a.weight": w}, (x,), tie_weights=False)
    assert ember.allclose(untied, (x @ w.T) @ m.a.weight.detach().T)
    lin = enn.Linear(2, 2)
    with pytest.raises(RuntimeError, match="Unexpected key\\(s\\): 'foo'.\n\tMissing key\\(s\\): 'bias'"):
        functional_call(lin, {"weight": ember.ones(2, 2), "foo": ember.ones(1)}, (ember.ones(2),), strict=True)
    with pytest.raises(ValueError, match="appeared in multiple dictionaries"):
        functional_call(lin, ({"weight": ember.ones(2, 2)}, {"weight": ember.ones(2, 2)}), (ember.ones(2),))


def test_stack_module_state_and_batch_norm_under_vmap():
    models = [enn.Sequential(enn.Linear(3, 4), enn.BatchNorm1d(4)) for _ in range(2)]
    params, buffers = stack_module_state(models)
    assert params["0.weight"].shape == (2, 4, 3) and buffers["1.running_mean"].shape == (2, 4)
    for m in models:
        replace_all_batch_norm_modules_(m)
        assert m[1].running_mean is None and not m[1].track_running_stats
    x = ember.randn(5, 3)
    out = vmap(lambda p: functional_call(models[0], p, (x,)))(params)
    for i, m in enumerate(models):
        assert ember.allclose(out[i], m(x), atol=1e-6)


@pytest.mark.parametrize("pattern, lengths", [
    ("b c h w -> b (c h w)", {}), ("b (h w) -> b h w", {"h": 2}), ("b c h w -> b h w c", {}),
    ("... w -> w ...", {}), ("b c h w -> (b c) 1 h w", {}),
])
def test_rearrange_matches_reshape_and_permute(pattern, lengths):
    ex, tx = pair(RNG.standard_normal((2, 6, 2, 3)) if "(h w) ->" not in pattern else RNG.standard_normal((2, 6)))
    want = {"b c h w -> b (c h w)": lambda t: t.reshape(2, -1), "b (h w) -> b h w": lambda t: t.reshape(2, 2, 3),
            "b c h w -> b h w c": lambda t: t.permute(0, 2, 3, 1), "... w -> w ...": lambda t: t.permute(3, 0, 1, 2),
            "b c h w -> (b c) 1 h w": lambda t: t.reshape(12, 1, 2, 3)}[pattern](tx)
    close(rearrange(ex, pattern, **lengths), want, atol=0, rtol=0)


def test_rearrange_errors():
    with pytest.raises(ValueError, match="cannot be split"):
        rearrange(ember.ones(2, 5), "b (h w) -> b h w", h=2)
    with pytest.raises(ValueError, match="same axes"):
        rearrange(ember.ones(2, 3), "a b -> a c")


def test_debug_unwrap_and_functionalize():
    x = ember.arange(6.0).reshape(2, 3)
    seen = []
    vmap(lambda t: seen.append(debug_unwrap(t)) or t)(x)
    assert ember.equal(seen[0], x)

    def f(t):
        t.add_(1)
        return t * 2
    y = x.clone()
    assert ember.equal(functionalize(f)(y), (x + 1) * 2) and ember.equal(y, x + 1)  # mutations still apply
    with pytest.raises(RuntimeError, match="received invalid argument for remove"):
        functionalize(f, remove="x")
