"""The fused optimizer kernels (ember/optim/_fused.py): against PyTorch, against the NumPy reference step,
for any thread count, on non-contiguous parameters, and through a state_dict round trip."""
import numpy as np
import pytest
import torch

import ember
from ember.backend import compiled
from ember.optim import _fused

CASES = [
    ("SGD", dict(lr=0.05)), ("SGD", dict(lr=0.05, momentum=0.9)), ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.1)), ("SGD", dict(lr=0.05, maximize=True,
                                                                                          weight_decay=0.1)),
    ("Adam", dict(lr=0.05)), ("Adam", dict(lr=0.05, amsgrad=True, weight_decay=0.1)),
    ("Adam", dict(lr=0.05, maximize=True)), ("Adam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict(lr=0.05, weight_decay=0.1)), ("AdamW", dict(lr=0.05, amsgrad=True, betas=(0.3, 0.9))),
    ("RMSprop", dict(lr=0.01)), ("RMSprop", dict(lr=0.01, centered=True)), ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.1, maximize=True)),
    ("Adagrad", dict(lr=0.1)), ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.2)),
    ("Adagrad", dict(lr=0.1, maximize=True)),
    ("Adadelta", dict(lr=1.0)), ("Adadelta", dict(lr=1.0, weight_decay=0.1, maximize=True)),
    ("Adamax", dict(lr=0.05)), ("Adamax", dict(lr=0.05, weight_decay=0.1, maximize=True)),
    ("NAdam", dict(lr=0.05)), ("NAdam", dict(lr=0.05, weight_decay=0.1)),
    ("NAdam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict(lr=0.05)), ("RAdam", dict(lr=0.05, weight_decay=0.1)),
    ("RAdam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for name, kw in CASES]
TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-11, atol=1e-12)}


def _params(lib, dtype, seed=0):
    """A matrix, a transposed (non-contiguous) view made a leaf, a vector and a scalar."""
    rng = np.random.default_rng(seed)
    matrix = lib.tensor(rng.standard_normal((5, 7)).astype(dtype), requires_grad=True)
    transposed = lib.tensor(rng.standard_normal((6, 4)).astype(dtype)).t().detach().requires_grad_()
    vector = lib.tensor(rng.standard_normal(9).astype(dtype), requires_grad=True)
    scalar = lib.tensor(np.asarray(0.7, dtype), requires_grad=True)
    return [matrix, transposed, vector, scalar]


def _loss(lib, params, step):
    rng = np.random.default_rng(100 + step)
    total = 0.1 * params[0].sum() ** 2
    for p in params:
        target = lib.tensor(rng.standard_normal(tuple(p.shape)), dtype=p.dtype)
        total = total + ((p - target) ** 2 * (1 + step % 3)).sum()
    return total


def _train(lib, name, kwargs, dtype, steps=20):
    params = _params(lib, dtype)
    opt = getattr(lib.optim, name)(params, **kwargs)
    for step in range(steps):
        opt.zero_grad()
        _loss(lib, params, step).backward()
        opt.step()
    return params, opt


def _numpy(t):
    return t.detach().cpu().numpy()


def _assert_same_run(a, b, tol):
    (params_a, opt_a), (params_b, opt_b) = a, b
    for x, y in zip(params_a, params_b):
        np.testing.assert_allclose(_numpy(x), _numpy(y), **tol)
    state_a, state_b = opt_a.state_dict()["state"], opt_b.state_dict()["state"]
    assert list(state_a) == list(state_b)
    for i in state_b:
        assert list(state_a[i]) == list(state_b[i])
        for key, value in state_b[i].items():
            np.testing.assert_allclose(_numpy(state_a[i][key]), _numpy(value), **tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_twenty_steps_match_torch(name, kwargs, dtype):
    _assert_same_run(_train(ember, name, kwargs, dtype), _train(torch, name, kwargs, dtype), TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_kernel_matches_the_numpy_step(name, kwargs, dtype):
    fused = _train(ember, name, kwargs, dtype)
    with compiled.disabled():
        reference = _train(ember, name, kwargs, dtype)
    _assert_same_run(fused, reference, TOL[dtype])


def test_the_kernel_runs_for_host_float_arrays_only(monkeypatch):
    calls = []
    original = _fused.run
    monkeypatch.setattr(_fused, "run", lambda *args: calls.append(args[0]) or original(*args))
    _train(ember, "Adam", dict(lr=0.05), np.float32, steps=2)
    assert len(calls) == 8
    with compiled.disabled():
        _train(ember, "Adam", dict(lr=0.05), np.float32, steps=2)
    w = ember.ones(3, dtype=ember.float16, requires_grad=True)
    w.grad = ember.ones(3, dtype=ember.float16)
    ember.optim.Adam([w]).step()
    assert len(calls) == 8


@pytest.mark.parametrize("name,kwargs", [c for c in CASES if c[0] in ("SGD", "Adam", "RMSprop", "NAdam")][:8])
def test_results_do_not_depend_on_the_thread_count(name, kwargs):
    size = (1 << 19) + 3  # large enough to be split over the threads
    rng = np.random.default_rng(0)
    start, grads = rng.standard_normal(size).astype(np.float32), rng.standard_normal((4, size)).astype(np.float32)
    before, results = ember.get_num_threads(), []
    try:
        for threads in (1, 2):
            ember.set_num_threads(threads)
            w = ember.tensor(start, requires_grad=True)
            opt = getattr(ember.optim, name)([w], **kwargs)
            for g in grads:
                w.grad = ember.tensor(g)
                opt.step()
            results.append((_numpy(w), {k: _numpy(v) for k, v in opt.state.get(w, {}).items()}))
    finally:
        ember.set_num_threads(before)
    assert np.array_equal(results[0][0], results[1][0])
    assert all(np.array_equal(v, results[1][1][k]) for k, v in results[0][1].items())
    assert not np.array_equal(results[0][0], start)


@pytest.mark.parametrize("name,kwargs", [CASES[1], CASES[6], CASES[9], CASES[14]], ids=[IDS[1], IDS[6], IDS[9], IDS[14]])
def test_many_small_parameters_run_together_the_same_for_any_thread_count(name, kwargs):
    # the kernels wait for one multi-tensor run whose element ranges, cut over the threads, begin and end
    # inside tensors; a non-contiguous parameter (updated through copies, not queued) comes in between
    rng = np.random.default_rng(1)
    sizes = [1, 7, 300, 5000, 40_000, 100_000, 3, 70_000, (1 << 18) + 5, 11]
    starts = [rng.standard_normal(n).astype(np.float32) for n in sizes] + [rng.standard_normal((40, 30))]
    grads = [[rng.standard_normal(s.shape).astype(s.dtype) for s in starts] for _ in range(3)]
    before, runs = ember.get_num_threads(), []
    try:
        for threads, kernels in ((1, True), (2, True), (3, True), (2, False)):
            ember.set_num_threads(threads)
            params = [ember.tensor(s, requires_grad=True) for s in starts[:-1]]
            params.append(ember.tensor(starts[-1]).t().detach().requires_grad_())
            opt = getattr(ember.optim, name)(params, **kwargs)
            for step in grads:
                for p, g in zip(params, step):
                    p.grad = ember.tensor(g).reshape(p.shape) if g.ndim == 1 else ember.tensor(g).t()
                if kernels:
                    opt.step()
                else:
                    with compiled.disabled():
                        opt.step()
            runs.append([_numpy(p) for p in params])
    finally:
        ember.set_num_threads(before)
    for other in runs[1:3]:
        assert all(np.array_equal(a, b) for a, b in zip(runs[0], other))
    for a, b in zip(runs[0], runs[3]):  # the NumPy step: every queued kernel ran
        np.testing.assert_allclose(a, b, **TOL[np.float32])


@pytest.mark.parametrize("name,kwargs", [CASES[2], CASES[6], CASES[14], CASES[16], CASES[24]])
def test_state_dict_round_trip_continues_the_same_run(name, kwargs):
    params, opt = _train(ember, name, kwargs, np.float32, steps=5)
    copies = [p.detach().clone().requires_grad_() for p in params]
    restored = getattr(ember.optim, name)(copies, **kwargs)
    restored.load_state_dict(opt.state_dict())
    for step in range(5, 10):
        for o, ps in ((opt, params), (restored, copies)):
            o.zero_grad()
            _loss(ember, ps, step).backward()
            o.step()
    for a, b in zip(params, copies):
        assert np.array_equal(_numpy(a), _numpy(b))
