"""After a graph break on a value, ember.compile runs the function as compiled segments: every call must
compute what eager code computes (values, gradients, module state), and the segments must really run."""
import random

import numpy as np
import pytest

import ember
from ember import nn
from ember.compiler import config

compiled_graphs = []


def counting(gm, example_inputs):
    """A backend that replays the graph and remembers each graph it was given."""
    compiled_graphs.append(gm.graph)
    return gm.forward


BACKENDS = ["inductor", counting]


def close(a, b, tol=1e-4):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=tol, atol=1e-5)


def tree_of(compiled):
    (entry,) = compiled.cache.values()
    return entry.segments


def branchy(x, w):
    h = (x @ w).tanh() * 2
    if h.sum() > 0:
        y = h.relu() * 3
    else:
        y = h.sigmoid() - 1
    return y.exp().sum(1) * 0.5


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_branch_is_a_compiled_segment(backend):
    compiled_graphs.clear()
    f = ember.compile(branchy, backend=backend)
    w = ember.randn(4, 5)
    for step in range(6):
        x = (ember.randn(3, 4).abs() * (1 if step % 2 else -1)).requires_grad_()
        out, ref = f(x, w), branchy(x, w)
        close(out, ref)
        close(ember.autograd.grad(out.sum(), x)[0], ember.autograd.grad(ref.sum(), x)[0])
    tree = tree_of(f)
    assert f.counters["graph_breaks"] == 1 and f.counters["segmented_calls"] == 6
    assert tree.size == 3 and tree.divergences == 0 and not tree.disabled  # the head and one segment per branch
    if backend is counting:  # each segment compiled once, on its first replay
        ops = [[n.target for n in g.nodes if n.op == "call_function"] for g in compiled_graphs]
        assert sorted(ops) == sorted([["matmul", "tanh", "mul", "sum", "gt"], ["relu", "mul", "exp", "sum", "mul"],
                                      ["sigmoid", "sub", "exp", "sum", "mul"]])
    else:
        assert type(out.grad_fn).__name__ == "CompiledBackward"  # the last segment ran compiled


def looping(x):
    halvings = 0
    while x.abs().max() > 1:
        x = x * 0.5
        halvings += 1
    return x + halvings


def inplace_and_alias(x):
    h = x * 2
    h.relu_()
    h += 1
    kept = h.detach()  # an alias of a placeholder that outlives its segment
    if h.mean() > 1.5:
        h = h * kept
    return h.sum(), kept


def printed(x):
    y = x.sin()
    text = f"{y.sum():.3f}"
    return y * len(text)


def value_dependent_shape(x):
    where = ember.nonzero(x > 0)
    return (where.float() * 2).sum() + x.sum()


SINK = {"escaped": ember.zeros(0)}  # a global holding tensors is keyed by identity


def escaping(x):
    h = x.exp()
    SINK["escaped"] = h * 2
    if h.sum() > 3:
        return SINK["escaped"] + 1
    return SINK["escaped"] - 1


def indexed(x, i):
    rows = x[i]  # the index is read in Python: each index value is its own branch
    return rows.sum() * x


CASES = {
    "loop": (looping, lambda s: (ember.randn(5) * (s + 1),)),
    "in place and alias": (inplace_and_alias, lambda s: (ember.randn(6) * (s % 3),)),
    "printing": (printed, lambda s: (ember.randn(4) * 10 ** (s % 3),)),
    "value-dependent shape": (value_dependent_shape, lambda s: (ember.randn(7),)),
    "escaping through a global": (escaping, lambda s: (ember.randn(3) * (s % 2),)),
    "tensor index": (indexed, lambda s: (ember.randn(4, 3), ember.tensor([s % 2, 2]))),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_segments_compute_what_eager_computes(case, backend):
    fn, make = CASES[case]
    f = ember.compile(fn, backend=backend)
    for step in range(8):
        ember.manual_seed(step)
        args = [a.requires_grad_() if a.dtype.is_floating_point else a for a in make(step)]
        got = f(*args)
        got_escaped = SINK.get("escaped")
        want = fn(*args)
        if case == "escaping through a global":
            close(got_escaped, SINK["escaped"])
        for g, w in zip(*((v if isinstance(v, tuple) else (v,)) for v in (got, want))):
            close(g, w)
        first = got[0] if isinstance(got, tuple) else got
        reference = want[0] if isinstance(want, tuple) else want
        close(ember.autograd.grad(first.sum(), args[0])[0], ember.autograd.grad(reference.sum(), args[0])[0])
    assert f.counters["segmented_calls"] == 8
    assert not tree_of(f).disabled


class Gated(nn.Module):
    """BatchNorm's running statistics are written in place, dropout draws random numbers, and the forward
    branches on a value."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.3))
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        h = self.body(x)
        if h.mean() > 0.4:
            h = h * 0.5
        return self.head(h)


def test_module_trains_like_eager():
    ember.manual_seed(0)
    model, twin = Gated(), Gated()
    twin.load_state_dict(model.state_dict())
    model.compile(backend="eager")
    opts = [ember.optim.SGD(m.parameters(), lr=0.1) for m in (model, twin)]
    for step in range(6):
        x = ember.randn(16, 4) + step % 2
        losses = []
        for m, opt in zip((model, twin), opts):
            ember.manual_seed(100 + step)  # the same dropout masks
            loss = m(x).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss)
        close(*losses)
    for a, b in zip(model.state_dict().values(), twin.state_dict().values()):
        close(a, b)  # weights and running statistics
    assert model.forward.counters["segmented_calls"] == 6 and not tree_of(model.forward).disabled


def test_backward_inside_the_compiled_step():
    """``loss.backward()`` inside a compiled function is a value read: the segment before it runs, then the
    gradients land in .grad on every call (before, only the capturing call's did)."""
    ember.manual_seed(0)
    model = nn.Linear(3, 2)
    twin = nn.Linear(3, 2)
    twin.load_state_dict(model.state_dict())

    def step(m, x):
        m.zero_grad()
        loss = m(x).pow(2).sum()
        loss.backward()
        with ember.no_grad():
            for p in m.parameters():
                p -= 0.05 * p.grad
        return loss

    compiled = ember.compile(step)
    for _ in range(4):
        x = ember.randn(5, 3)
        close(compiled(model, x), step(twin, x))
    close(model.weight, twin.weight)
    close(model.bias, twin.bias)


def test_an_op_unlike_the_recording_runs_the_rest_eagerly(monkeypatch):
    """Python state no guard sees (here a random choice) changes the ops inside a segment: the pending
    ops run eagerly and so does the rest of the call; past the limit the function stays eager."""
    monkeypatch.setattr(config, "segment_limit", 3)

    def moody(x):
        h = x * 2
        h = h.sin() if random.random() < 0.5 else h.cos()
        if h.sum() > 0:
            return h + 1
        return h - 1

    f = ember.compile(moody, backend="eager")
    for seed in range(12):
        x = ember.randn(4)
        random.seed(seed)
        got = f(x)
        random.seed(seed)
        close(got, moody(x))
    tree = tree_of(f)
    assert tree.divergences > 0
    assert tree.disabled and f.counters["eager_calls"] > 0


def test_a_write_into_a_view_runs_eagerly():
    def through_view(x):
        h = x * 2
        h[1:].mul_(h[0])  # a write through a view of a placeholder
        if h.mean() > 0:
            return h + 1
        return h

    f = ember.compile(through_view, backend="eager")
    for _ in range(3):
        x = ember.randn(3)
        close(f(x), through_view(x))
    assert tree_of(f).disabled and "view" in tree_of(f).reason


def test_a_disabled_function_runs_eagerly_between_segments():
    calls = []

    @ember.compiler.disable
    def logged(h):
        calls.append(h.sum().item())  # Python work a graph can't hold
        return h.cos()

    def f(x):
        return logged(x * 2).exp() + 1

    compiled_graphs.clear()
    g = ember.compile(f, backend=counting)
    for _ in range(3):
        x = ember.randn(4)
        close(g(x), f(x))
    assert len(calls) == 6 and g.counters["segmented_calls"] == 3  # the helper ran on every call
    ops = sorted(n.target for graph in compiled_graphs for n in graph.nodes if n.op == "call_function")
    assert ops == ["add", "exp", "mul"]  # its ops ran eagerly, in no segment
