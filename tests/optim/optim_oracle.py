"""Run the same optimizer in ember and torch on the same quadratic loss and compare the parameters."""
import numpy as np
import torch

import ember

SHAPES = ((3, 4), (5,), ())


def make_params(lib, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    return [lib.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True) for s in SHAPES]


def quadratic(lib, params, seed=1):
    """sum_i w_i * (p_i - t_i)^2 + 0.1 * (sum p_0)^2: a loss whose gradients differ per element and per step."""
    rng = np.random.default_rng(seed)
    total = 0.1 * params[0].sum() ** 2
    for p in params:
        t = lib.tensor(rng.standard_normal(p.shape).astype(np.float32), dtype=p.dtype)
        w = lib.tensor(rng.uniform(0.5, 2.0, p.shape).astype(np.float32), dtype=p.dtype)
        total = total + (w * (p - t) ** 2).sum()
    return total


def build(lib, name, kwargs, params, groups=None):
    """``groups``: None (one group), or a list of option dicts, one per parameter."""
    if groups is not None:
        params = [{"params": [p], **opts} for p, opts in zip(params, groups)]
    return getattr(lib.optim, name)(params, **kwargs)


def train(lib, opt, params, steps):
    for _ in range(steps):
        opt.zero_grad()
        quadratic(lib, params).backward()
        opt.step()


def run(lib, name, kwargs, steps=5, groups=None, dtype=np.float32):
    params = make_params(lib, dtype)
    opt = build(lib, name, kwargs, params, groups)
    train(lib, opt, params, steps)
    return [p.detach().cpu().numpy() for p in params], opt


def assert_matches_torch(name, kwargs, steps=5, groups=None, dtype=np.float32):
    mine, _ = run(ember, name, kwargs, steps, groups, dtype)
    ref, _ = run(torch, name, kwargs, steps, groups, dtype)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)
    for a, b in zip(mine, ref):
        assert a.dtype == b.dtype
        np.testing.assert_allclose(a, b, **tol)


def assert_state_dicts_match(mine, ref):
    """Same layout, same hyper-parameters, state tensors equal in value and dtype."""
    assert mine["param_groups"] == ref["param_groups"]
    assert list(mine["state"]) == list(ref["state"])
    for i, s in ref["state"].items():
        assert list(mine["state"][i]) == list(s)
        for key, value in s.items():
            assert str(mine["state"][i][key].dtype) == str(value.dtype).replace("torch.", "ember.")
            np.testing.assert_allclose(mine["state"][i][key].cpu().numpy(), value.cpu().numpy(), rtol=1e-5, atol=1e-6)
