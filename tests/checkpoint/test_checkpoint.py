"""ember.utils.checkpoint: the same gradients as without checkpointing (dropout included), and torch's errors."""
import warnings

import numpy as np
import pytest
import torch
import torch.utils.checkpoint as tcp

import ember
import ember.utils.checkpoint as ecp
from tests.oracle import rand

MODES = [True, False]


def _block(lib):
    lib.manual_seed(0)
    return lib.nn.Sequential(lib.nn.Linear(6, 8), lib.nn.GELU(), lib.nn.Linear(8, 6), lib.nn.Dropout(0.3))


def _grads(lib, net, x, use_reentrant, checkpointed, seed=3):
    lib.manual_seed(seed)
    net.zero_grad()
    x = lib.tensor(x, requires_grad=True)
    h = x * 2
    if checkpointed:
        out = ecp.checkpoint(net, h, use_reentrant=use_reentrant) if lib is ember else \
            tcp.checkpoint(net, h, use_reentrant=use_reentrant)
    else:
        out = net(h)
    (out.tanh() * lib.arange(6.0)).sum().backward()
    return out.detach().numpy(), x.grad.numpy(), [p.grad.numpy().copy() for p in net.parameters()]


@pytest.mark.parametrize("use_reentrant", MODES)
def test_same_values_and_gradients_as_without_checkpointing_dropout_included(use_reentrant):
    x = rand(5, 6, seed=0)
    net = _block(ember)
    plain = _grads(ember, net, x, use_reentrant, checkpointed=False)
    ckpt = _grads(ember, net, x, use_reentrant, checkpointed=True)
    np.testing.assert_array_equal(plain[0], ckpt[0])
    np.testing.assert_allclose(plain[1], ckpt[1], rtol=1e-6, atol=1e-7)
    for a, b in zip(plain[2], ckpt[2]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert (plain[0] == 0).any()  # dropout dropped something: the replay really drew the same mask


@pytest.mark.parametrize("use_reentrant", MODES)
def test_gradients_match_torch_without_dropout(use_reentrant):
    x, w = rand(4, 5, seed=1), rand(5, 5, seed=2)

    def run(lib, cp):
        xt, wt = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        out = cp.checkpoint(lambda a: (a @ wt).sin() @ wt, xt * 1.5, use_reentrant=use_reentrant)
        out.pow(2).sum().backward()
        return xt.grad.numpy(), wt.grad.numpy()

    for e, t in zip(run(ember, ecp), run(torch, tcp)):
        np.testing.assert_allclose(e, t, rtol=1e-4, atol=1e-4)


def test_non_reentrant_supports_autograd_grad_kwargs_and_parameters_only():
    w = ember.tensor(rand(3, 3, seed=4), requires_grad=True)
    x = ember.tensor(rand(2, 3, seed=5))  # no input requires grad: the parameter still gets its gradient
    out = ecp.checkpoint(lambda a, scale=1.0: (a @ w).exp() * scale, x, use_reentrant=False, scale=3.0)
    (g,) = ember.autograd.grad(out.sum(), [w])
    wt = torch.tensor(w.detach().numpy(), requires_grad=True)
    (gt,) = torch.autograd.grad(((torch.tensor(x.numpy()) @ wt).exp() * 3.0).sum(), [wt])
    np.testing.assert_allclose(g.numpy(), gt.numpy(), rtol=1e-5)


@pytest.mark.parametrize("use_reentrant", MODES)
def test_nested_checkpoints(use_reentrant):
    w = ember.tensor(rand(4, 4, seed=6), requires_grad=True)
    x = ember.tensor(rand(3, 4, seed=7), requires_grad=True)

    def inner(a):
        return (a @ w).tanh()

    def outer(a):
        return ecp.checkpoint(inner, a * 2, use_reentrant=use_reentrant) @ w

    ecp.checkpoint(outer, x, use_reentrant=use_reentrant).sum().backward()
    got = x.grad.numpy(), w.grad.numpy()
    x.grad = w.grad = None
    ((x * 2 @ w).tanh() @ w).sum().backward()
    np.testing.assert_allclose(got[0], x.grad.numpy(), rtol=1e-5)
    np.testing.assert_allclose(got[1], w.grad.numpy(), rtol=1e-5)


def test_checkpoint_sequential_matches_plain_run():
    net = _block(ember)
    net.eval()
    x = ember.tensor(rand(4, 6, seed=8), requires_grad=True)
    ecp.checkpoint_sequential(net, 2, x, use_reentrant=False).sum().backward()
    got = x.grad.numpy().copy()
    x.grad = None
    net(x).sum().backward()
    np.testing.assert_allclose(got, x.grad.numpy(), rtol=1e-6)


def test_context_fn_and_autocast_are_replayed():
    calls = []

    class Mark:
        def __init__(self, name):
            self.name = name

        def __enter__(self):
            calls.append(self.name)

        def __exit__(self, *exc):
            return False

    w = ember.ones(3, 3, requires_grad=True)
    with ember.autocast("cpu"):
        out = ecp.checkpoint(lambda a: a @ w, ember.ones(2, 3), use_reentrant=False,
                             context_fn=lambda: (Mark("forward"), Mark("recompute")))
    assert out.dtype is ember.bfloat16
    out.float().sum().backward()
    assert calls == ["forward", "recompute"] and w.grad.dtype is ember.float32


def test_errors_and_warnings_as_torch():
    x = ember.ones(2, requires_grad=True)
    for lib, cp, t in ((ember, ecp, x), (torch, tcp, torch.ones(2, requires_grad=True))):
        with pytest.raises(ValueError, match="only supported when use_reentrant=False"):
            cp.checkpoint(lambda a: a * 2, t, use_reentrant=True, debug=True)
        with pytest.raises(ValueError, match="Unexpected keyword arguments: b"):
            cp.checkpoint(lambda a, b=1: a * b, t, use_reentrant=True, b=2)
        with pytest.raises(ValueError, match="determinism_check should be one of"):
            cp.checkpoint(lambda a: a, t, use_reentrant=False, determinism_check="x")
        with pytest.raises(RuntimeError, match="Only tuple of tensors is supported"):
            cp.detach_variable([t])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = cp.checkpoint(lambda a: a * 2, lib.ones(2), use_reentrant=True)
        assert not out.requires_grad
        assert any("None of the inputs have requires_grad=True" in str(w.message) for w in caught)
        with pytest.warns(UserWarning, match="use_reentrant"):
            cp.checkpoint(lambda a: a * 2, t)


def test_nondeterministic_recompute_raises_checkpoint_error_with_debug_ops():
    state = {"n": 0}

    def changing(a):
        state["n"] += 1
        return a.repeat(state["n"])

    x = ember.ones(2, requires_grad=True)
    out = ecp.checkpoint(changing, x, use_reentrant=False, debug=True)
    with pytest.raises(ecp.CheckpointError, match="different metadata") as err:
        out.sum().backward()
    assert "ops in the first run" in str(err.value)
    state["n"] = 0
    out = ecp.checkpoint(changing, x, use_reentrant=False, determinism_check="none")
    with pytest.raises(RuntimeError):  # no check: the engine meets the wrong shape instead
        out.sum().backward()
