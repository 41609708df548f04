"""Module full backward hooks (register_full_backward_hook / _pre_hook) against torch."""
import numpy as np
import pytest
import torch

import ember
from tests.oracle import assert_same, rand

X, Y = rand(4, 3, seed=1), rand(4, 3, seed=2)


def _make(lib, kind):
    nn = lib.nn

    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 3)

        def forward(self, a, scale, b):
            return self.lin(a) * scale + b, (a * b).sum(1)

    lib.manual_seed(0)
    if kind == "linear":
        m = nn.Linear(3, 2)
    elif kind == "two":
        m = Two()
    else:
        m = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2))
    return m


def _sync(e, t):
    e.load_state_dict({k: ember.tensor(v.detach().cpu().numpy()) for k, v in t.state_dict().items()})


def _run(lib, m, kind, log, grad_a=True, grad_b=True):
    a = lib.tensor(X, requires_grad=grad_a)
    b = lib.tensor(Y, requires_grad=grad_b)
    if kind == "two":
        out, extra = m(a, 2.0, b)
        loss = (out * lib.tensor(rand(4, 3, seed=3))).sum() + (extra * lib.tensor(rand(4, seed=4))).sum()
    else:
        loss = (m(a) * lib.tensor(rand(4, 2, seed=5))).sum()
    loss.backward()
    return a.grad, b.grad


def _np(g):
    return None if g is None else np.asarray(g.detach().cpu().numpy() if hasattr(g, "detach") else g)


def _recorder(log, scale=None, replace_pre=False):
    def full(module, grad_input, grad_output):
        log.append(("full", [_np(g) for g in grad_input], [_np(g) for g in grad_output]))
        if scale is not None:
            return tuple(None if g is None else g * scale for g in grad_input)

    def pre(module, grad_output):
        log.append(("pre", [_np(g) for g in grad_output]))
        if replace_pre:
            return tuple(None if g is None else g * 3 for g in grad_output)
    return full, pre


def _compare_logs(elog, tlog):
    assert [x[0] for x in elog] == [x[0] for x in tlog]
    for e, t in zip(elog, tlog):
        for eg, tg in zip(e[1:], t[1:]):
            assert len(eg) == len(tg)
            for a, b in zip(eg, tg):
                assert (a is None) == (b is None)
                if a is not None:
                    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["linear", "two", "seq"])
@pytest.mark.parametrize("scale,replace_pre", [(None, False), (0.5, False), (None, True), (2.0, True)])
@pytest.mark.parametrize("grads", [(True, True), (True, False), (False, False)])
@pytest.mark.filterwarnings("ignore:Full backward hook is firing")
def test_full_backward_hooks_match_torch(kind, scale, replace_pre, grads):
    e, t = _make(ember, kind), _make(torch, kind)
    _sync(e, t)
    results = []
    for lib, m in ((ember, e), (torch, t)):
        log = []
        full, pre = _recorder(log, scale if grads[0] else None, replace_pre)
        m.register_full_backward_pre_hook(pre)
        m.register_full_backward_hook(full)
        results.append((log, _run(lib, m, kind, log, *grads), m))
    (elog, (ea, eb), em), (tlog, (ta, tb), tm) = results
    _compare_logs(elog, tlog)
    for eg, tg in ((ea, ta), (eb, tb)):
        assert (eg is None) == (tg is None)
        if tg is not None:
            assert_same(eg, tg)
    for (n, ep), (_, tp) in zip(em.named_parameters(), tm.named_parameters()):
        assert_same(ep.grad, tp.grad, what=n)


def test_hook_removal_order_and_no_cost_without_hooks():
    lin = ember.nn.Linear(3, 2)
    x = ember.tensor(X, requires_grad=True)
    assert lin(x).grad_fn.name() == "AddmmBackward0"
    calls = []
    h1 = lin.register_full_backward_hook(lambda m, gi, go: calls.append(1))
    lin.register_full_backward_hook(lambda m, gi, go: calls.append(0), prepend=True)
    out = lin(x)
    assert out.grad_fn.name() == "BackwardHookFunctionBackward"
    out.sum().backward()
    assert calls == [0, 1]
    h1.remove()
    lin(x).sum().backward()
    assert calls == [0, 1, 0]


def test_hook_errors():
    for lib in (ember, torch):
        lin = lib.nn.Linear(3, 2)
        lin.register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0]))
        with pytest.raises(RuntimeError, match="Backward hook returned an invalid number of grad_input, got 2, "
                                               "but expected 1"):
            lin(lib.ones(4, 3, requires_grad=True)).sum().backward()
        lin = lib.nn.Linear(3, 2)
        lin.register_full_backward_hook(lambda m, gi, go: (lib.ones(4, 3),))
        with pytest.raises(RuntimeError, match="no input requires gradient should always return None"), \
                pytest.warns(UserWarning, match="Full backward hook is firing when gradients are computed"):
            lin(lib.ones(4, 3)).sum().backward()
