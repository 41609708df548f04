"""Selective activation checkpointing: same gradients as without checkpointing, saved ops are not re-run
in the backward and recomputed ones are (counted in ember and, with a dispatch mode, in torch)."""
import functools

import numpy as np
import pytest
import torch
import torch.utils.checkpoint as tcp
from torch.utils._python_dispatch import TorchDispatchMode

import ember
import ember.utils.checkpoint as ecp
from ember.ops import dispatch
from tests.oracle import rand


class _TorchCount(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.calls = {}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.calls[func.__name__.split(".")[0]] = self.calls.get(func.__name__.split(".")[0], 0) + 1
        return func(*args, **(kwargs or {}))


@pytest.fixture
def forward_calls(monkeypatch):
    """Counts the forwards of ember's sin and exp primitives that actually compute."""
    calls = {"sin": 0, "exp": 0}
    for name in calls:
        prim = dispatch.PRIMITIVES[name]
        real = prim.forward

        def counted(ctx, xp, *arrays, _name=name, _real=real, **params):
            calls[_name] += 1
            return _real(ctx, xp, *arrays, **params)
        monkeypatch.setattr(prim, "forward", counted)
    return calls


def _fn(lib):
    return lambda x, w: ((x @ w).sin().exp() * w.tanh().sum(0)).sum()


def _save_sin_policy(lib):
    def policy(ctx, op, *args, **kwargs):
        is_sin = op is dispatch.PRIMITIVES["sin"] if lib is ember else op == torch.ops.aten.sin.default
        return lib.utils.checkpoint.CheckpointPolicy.MUST_SAVE if is_sin else \
            lib.utils.checkpoint.CheckpointPolicy.MUST_RECOMPUTE
    return policy


def _run(lib, policy, checkpointed=True):
    x = lib.tensor(rand(4, 3, seed=1), requires_grad=True)
    w = lib.tensor(rand(3, 3, seed=2), requires_grad=True)
    cp = lib.utils.checkpoint
    if checkpointed:
        out = cp.checkpoint(_fn(lib), x, w, use_reentrant=False,
                            context_fn=functools.partial(cp.create_selective_checkpoint_contexts, policy))
    else:
        out = _fn(lib)(x, w)
    return out, x, w


def test_saved_op_not_rerun_recomputed_op_rerun_and_gradients_match_torch(forward_calls):
    out, x, w = _run(ember, _save_sin_policy(ember))
    assert forward_calls == {"sin": 1, "exp": 1}
    out.backward()
    assert forward_calls == {"sin": 1, "exp": 2}  # sin's output came from the cache, exp ran again

    t_out, tx, tw = _run(torch, _save_sin_policy(torch))
    with _TorchCount() as counter:
        t_out.backward()
    assert counter.calls.get("sin", 0) == 0 and counter.calls["exp"] == 1  # torch does the same
    np.testing.assert_allclose(out.item(), t_out.item(), rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("ops", [["sin"], ["SinBackward0"], [dispatch.PRIMITIVES["sin"]]])
def test_list_policy_saves_the_listed_ops(forward_calls, ops):
    out, x, w = _run(ember, ops)
    out.backward()
    assert forward_calls == {"sin": 1, "exp": 2}
    plain, px, pw = _run(ember, None, checkpointed=False)
    plain.backward()
    np.testing.assert_allclose(x.grad.numpy(), px.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(w.grad.numpy(), pw.grad.numpy(), rtol=1e-6)


def test_saving_every_op_of_a_network_gives_the_plain_gradients():
    """Ops that stash values on their node during the forward (layer norm, max pool, dropout's mask...)
    still find them when their cached output is recorded again."""
    ember.manual_seed(0)
    net = ember.nn.Sequential(ember.nn.Conv1d(2, 4, 3), ember.nn.LayerNorm(6), ember.nn.ReLU(),
                              ember.nn.MaxPool1d(2), ember.nn.Flatten(), ember.nn.Dropout(0.3),
                              ember.nn.Linear(12, 2), ember.nn.Softmax(-1))
    x = ember.tensor(rand(5, 2, 8, seed=3))
    seen = []

    def save_all(ctx, op, *args, **kwargs):
        seen.append(op.name)
        assert ctx.is_recompute is False and ctx.op_output is not None
        return ecp.CheckpointPolicy.PREFER_SAVE

    def grads(checkpointed):
        net.zero_grad()
        ember.manual_seed(7)
        if checkpointed:
            out = ecp.checkpoint(net, x, use_reentrant=False,
                                 context_fn=functools.partial(ecp.create_selective_checkpoint_contexts, save_all))
        else:
            out = net(x)
        (out * ember.arange(2.0)).sum().backward()
        return [p.grad.numpy().copy() for p in net.parameters()]

    for a, b in zip(grads(False), grads(True)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert seen and not set(seen) & ecp.SAC_IGNORED_OPS


def test_ignored_ops_are_view_ops_and_never_reach_the_policy():
    assert "transpose" in ecp.SAC_IGNORED_OPS and "sin" not in ecp.SAC_IGNORED_OPS
    seen = []

    def policy(ctx, op, *args, **kwargs):
        seen.append(op.name)
        return True  # a bool is accepted, as in torch: True is PREFER_SAVE
    x = ember.tensor(rand(3, 4, seed=0), requires_grad=True)
    out = ecp.checkpoint(lambda t: t.t().sin().sum(), x, use_reentrant=False,
                         context_fn=functools.partial(ecp.create_selective_checkpoint_contexts, policy))
    out.backward()
    assert seen == ["sin", "sum"]
    np.testing.assert_allclose(x.grad.numpy(), np.cos(rand(3, 4, seed=0)), rtol=1e-6)


def _mutating(t):
    y = t.sin()
    y.mul_(2)
    return y.exp().sum()


def test_mutated_cache_entry_raises_like_torch_unless_allowed():
    x = ember.tensor(rand(3, seed=0), requires_grad=True)
    out = ecp.checkpoint(_mutating, x, use_reentrant=False,
                         context_fn=functools.partial(ecp.create_selective_checkpoint_contexts, ["sin"]))
    with pytest.raises(RuntimeError, match="modified in place"):
        out.backward()
    tx = torch.tensor(rand(3, seed=0), requires_grad=True)
    t_out = tcp.checkpoint(_mutating, tx, use_reentrant=False, context_fn=functools.partial(
        tcp.create_selective_checkpoint_contexts, [torch.ops.aten.sin.default]))
    with pytest.raises(RuntimeError, match="mutated"):
        t_out.backward()

    x.grad = None
    out = ecp.checkpoint(_mutating, x, use_reentrant=False, context_fn=functools.partial(
        ecp.create_selective_checkpoint_contexts, ["sin"], allow_cache_entry_mutation=True))
    out.backward()
    plain = torch.tensor(rand(3, seed=0), requires_grad=True)
    _mutating(plain).backward()
    np.testing.assert_allclose(x.grad.numpy(), plain.grad.numpy(), rtol=1e-6)


def test_bad_policies_raise_torchs_errors():
    with pytest.raises(TypeError, match="function or a list of ops"):
        ecp.create_selective_checkpoint_contexts(3)
    with pytest.raises(TypeError, match="int"):
        ecp.create_selective_checkpoint_contexts([3])
    x = ember.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="CheckpointPolicy"):
        ecp.checkpoint(lambda t: t.sin(), x, use_reentrant=False, context_fn=functools.partial(
            ecp.create_selective_checkpoint_contexts, lambda ctx, op, *a, **k: "save"))


def test_policy_enum_matches_torch():
    assert [(p.name, p.value) for p in ecp.CheckpointPolicy] == [(p.name, p.value) for p in tcp.CheckpointPolicy]
    ctx = ecp.SelectiveCheckpointContext(is_recompute=False, op_output=1)
    assert ctx.is_recompute is False and ctx.op_output == 1


@pytest.mark.parametrize("lib", [ember, torch])
def test_graph_exec_group_recomputes_a_region_once_across_backward_calls(lib):
    cp = lib.utils.checkpoint
    calls = [0]

    def two(t):
        calls[0] += 1
        return t.sin(), t.cos()
    x = lib.tensor(rand(4, seed=5), requires_grad=True)
    with cp.GraphExecGroup():
        a, b = cp.checkpoint(two, x, use_reentrant=False)
        a.sum().backward()
        b.sum().backward()
    assert calls[0] == 2
    np.testing.assert_allclose(x.grad.numpy(), np.cos(rand(4, seed=5)) - np.sin(rand(4, seed=5)), rtol=1e-6)
    a, b = cp.checkpoint(two, x, use_reentrant=False)
    a.sum().backward(retain_graph=True)
    b.sum().backward()
    assert calls[0] == 5  # outside a group every backward recomputes


@pytest.mark.parametrize("enable", [True, False])
def test_set_checkpoint_early_stop_is_a_scoped_switch_with_the_same_gradients(enable):
    x = ember.tensor(rand(3, 2, seed=4), requires_grad=True)
    with ecp.set_checkpoint_early_stop(enable):
        assert ecp._early_stop[0] is enable
        ecp.checkpoint(lambda t: (t.exp() * t).sum(), x, use_reentrant=False).backward()
    assert ecp._early_stop[0] is True
    tx = torch.tensor(rand(3, 2, seed=4), requires_grad=True)
    with tcp.set_checkpoint_early_stop(enable):
        tcp.checkpoint(lambda t: (t.exp() * t).sum(), tx, use_reentrant=False).backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6)
