"""optim.LBFGS against torch: the same iterates on least squares and Rosenbrock, with and without line search."""
import numpy as np
import pytest
import torch

import ember

A = np.random.default_rng(0).normal(size=(8, 3))
B = np.random.default_rng(1).normal(size=(8,))


def _least_squares(lib, w):
    return ((lib.tensor(A) @ w - lib.tensor(B)) ** 2).sum()


def _rosenbrock(lib, w):
    return (1 - w[0]) ** 2 + 100 * (w[1] - w[0] ** 2) ** 2


def _run(lib, objective, start, steps, **kw):
    w = lib.tensor(start, requires_grad=True)
    opt = lib.optim.LBFGS([w], **kw)

    def closure():
        opt.zero_grad()
        loss = objective(lib, w)
        loss.backward()
        return loss

    out = []
    for _ in range(steps):
        loss = opt.step(closure)
        out.append((loss.item(), w.detach().cpu().numpy().copy()))
    return out, opt


@pytest.mark.parametrize("line_search", [None, "strong_wolfe"])
@pytest.mark.parametrize("objective,start,kw", [
    (_least_squares, np.zeros(3), {"max_iter": 4}),
    (_least_squares, np.ones(3), {"history_size": 2, "lr": 0.5}),
    (_rosenbrock, np.array([-1.5, 2.0]), {"max_iter": 5, "history_size": 3}),
    (_rosenbrock, np.array([-1.2, 1.0]), {"lr": 0.3, "max_iter": 20}),
], ids=["ls", "ls-hist2", "rosen", "rosen-lr"])
def test_lbfgs_iterates_match_torch(objective, start, kw, line_search):
    e, eopt = _run(ember, objective, start, 6, line_search_fn=line_search, **kw)
    t, topt = _run(torch, objective, start, 6, line_search_fn=line_search, **kw)
    for (el, ew), (tl, tw) in zip(e, t):
        np.testing.assert_allclose(ew, tw, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(el, tl, rtol=1e-6, atol=1e-8)
    es, ts = eopt.state_dict()["state"][0], topt.state_dict()["state"][0]
    assert es["func_evals"] == ts["func_evals"] and es["n_iter"] == ts["n_iter"]


def test_lbfgs_converges_and_state_dict_roundtrip():
    out, opt = _run(ember, _rosenbrock, np.array([-1.2, 1.0]), 10, line_search_fn="strong_wolfe")
    np.testing.assert_allclose(out[-1][1], [1.0, 1.0], atol=1e-4)
    sd = opt.state_dict()
    assert sd["param_groups"][0]["max_eval"] == 25 and sd["param_groups"][0]["history_size"] == 100
    w = ember.tensor(out[-1][1], requires_grad=True)
    other = ember.optim.LBFGS([w], line_search_fn="strong_wolfe")
    other.load_state_dict(sd)
    assert other.state_dict()["state"][0]["n_iter"] == sd["state"][0]["n_iter"]


def test_lbfgs_errors():
    for lib in (ember, torch):
        a, b = lib.zeros(1, requires_grad=True), lib.zeros(1, requires_grad=True)
        with pytest.raises(ValueError, match="doesn't support per-parameter options"):
            lib.optim.LBFGS([{"params": [a]}, {"params": [b]}])
        with pytest.raises(ValueError, match="Invalid learning rate"):
            lib.optim.LBFGS([a], lr=-1.0)
