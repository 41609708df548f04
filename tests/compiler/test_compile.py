"""ember.compile's frontend: guards never give a stale result, graph breaks, explain, decorator forms."""
import argparse
import dataclasses
import types
import warnings

import numpy as np
import pytest

import ember
from ember import nn, optim
from ember.compiler import Unsupported, config

calls = []


def counting_backend(gm, example_inputs):
    calls.append(len(gm.graph.nodes))
    return gm.forward


BACKENDS = ["eager", counting_backend]


def close(a, b, tol=1e-6):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=tol, atol=tol)


def pair(seed=0):
    ember.manual_seed(seed)
    make = lambda: nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.0), nn.Linear(8, 3))  # noqa
    a = make()
    b = make()
    b.load_state_dict(a.state_dict())
    return a, b


@pytest.mark.parametrize("backend", BACKENDS)
def test_guard_matrix_never_stale(backend):
    model, ref = pair()
    compiled = ember.compile(model, backend=backend)
    counters = compiled._compiled_forward.counters
    x = ember.randn(5, 4)

    def check():
        close(compiled(x), ref(x))
        close(model[1].running_mean, ref[1].running_mean)

    check()
    check()  # BatchNorm's running stats updated by the compiled graph as eagerly
    assert counters["captures"] == 1
    x = ember.randn(7, 4)  # shape
    check()
    x = x.double()  # dtype
    model.double(), ref.double()
    check()
    model.float(), ref.float()
    x = ember.randn(5, 4)
    model.eval(), ref.eval()  # train/eval
    check()
    with ember.no_grad():  # grad mode
        out = compiled(x)
        assert not out.requires_grad
        close(out, ref(x))
    x.requires_grad_()  # requires_grad
    out = compiled(x)
    out.sum().backward()
    ref_x = x.detach().requires_grad_()
    ref(ref_x).sum().backward()
    close(x.grad, ref_x.grad)
    x = ember.randn(5, 4)
    new = nn.Parameter(ember.randn(3, 8))  # a parameter replaced
    model[4].weight, ref[4].weight = new, nn.Parameter(new.detach().clone())
    check()
    model[1].eps = ref[1].eps = 0.5  # an attribute changed
    check()
    for m in (model, ref):  # an in-place update by an optimizer: no recompile needed, the weights are live
        opt = optim.SGD(m.parameters(), lr=0.5)
        m(x).sum().backward()
        opt.step()
    before = counters["captures"]
    check()
    assert counters["captures"] == before
    assert counters["recompiles"] >= 6


CONFIG = {"scale": 2.0, "shifts": [1.0]}


class _Padded(nn.Module):
    def __init__(self):
        super().__init__()
        self.offsets = [1.0, 2.0]
        self.bias = ember.zeros(3)

    def forward(self, x):
        return x * CONFIG["scale"] + CONFIG["shifts"][0] + self.offsets[1] + self.bias


@pytest.mark.parametrize("backend", BACKENDS)
def test_values_read_through_mutable_containers_are_guarded(backend):
    model = _Padded()
    compiled = ember.compile(model, backend=backend)
    x = ember.randn(3)
    close(compiled(x), x * 2 + 3)
    CONFIG["scale"] = 5.0  # a global dict's entry
    close(compiled(x), x * 5 + 3)
    CONFIG["shifts"][0] = -1.0  # a list inside it
    close(compiled(x), x * 5 + 1)
    model.offsets[1] = 10.0  # a module's list attribute
    close(compiled(x), x * 5 + 9)
    model.bias = ember.full((3,), 4.0)  # a plain tensor attribute (not a buffer) rebound
    close(compiled(x), x * 5 + 13)
    CONFIG.update(scale=2.0)
    CONFIG["shifts"][0] = 1.0


@dataclasses.dataclass
class _Config:
    scale: float = 2.0
    shift: float = 1.0


@dataclasses.dataclass(slots=True)
class _Slotted:
    power: int = 1


SETTINGS = argparse.Namespace(offset=0.0, inner=_Slotted())


class _Configured(nn.Module):
    def __init__(self):
        super().__init__()
        self.cfg = _Config()

    def forward(self, x):
        return x * self.cfg.scale + self.cfg.shift + SETTINGS.offset + x ** SETTINGS.inner.power


@pytest.mark.parametrize("backend", BACKENDS)
def test_attributes_of_config_objects_are_guarded(backend):
    model = _Configured()
    compiled = ember.compile(model, backend=backend)
    x = ember.randn(3)
    close(compiled(x), x * 3 + 1)
    model.cfg.scale = 5.0  # a dataclass field on the module
    close(compiled(x), x * 6 + 1)
    SETTINGS.offset = 2.0  # a global namespace's attribute
    close(compiled(x), x * 6 + 3)
    SETTINGS.inner.power = 2  # a slotted object inside it
    close(compiled(x), x * 5 + 3 + x * x)
    SETTINGS.offset, SETTINGS.inner.power = 0.0, 1


SETTINGS_MODULE = types.ModuleType("settings")
SETTINGS_MODULE.SCALE, SETTINGS_MODULE.UNREAD = 2.0, 0


def test_a_python_module_is_keyed_by_the_names_the_function_reads():
    f = ember.compile(lambda x: x * SETTINGS_MODULE.SCALE, backend="eager")
    x = ember.ones(2)
    assert f(x).tolist() == [2.0, 2.0]
    SETTINGS_MODULE.UNREAD = 1  # not read: no recompile
    assert f(x).tolist() == [2.0, 2.0] and f.counters["captures"] == 1
    SETTINGS_MODULE.SCALE = 3.0
    try:
        assert f(x).tolist() == [3.0, 3.0] and f.counters["captures"] == 2
    finally:
        SETTINGS_MODULE.SCALE = 2.0


def test_graph_break_gives_eager_results_and_fullgraph_names_the_line():
    def f(x):
        y = x * 2
        if y.sum() > 0:
            return y + 1
        return y - 1

    x = ember.randn(6)
    for sign in (1, -1):
        compiled = ember.compile(f, backend="eager")
        close(compiled(x * sign), f(x * sign))
        assert compiled.counters["graph_breaks"] == 1
    with pytest.raises(Unsupported, match=r"test_compile.py:\d+: .*bool\(tensor\)"):
        ember.compile(f, backend="eager", fullgraph=True)(x)
    for bad in (lambda t: t * t.sum().item(), lambda t: t + len(t.tolist()), lambda t: print(t) or t,
                lambda t: t + float(np.asarray(t).sum())):
        with pytest.raises(Unsupported):
            ember.compile(bad, backend="eager", fullgraph=True)(x)
        close(ember.compile(bad, backend="eager")(x), bad(x))


ARANGE = ember.arange(5.0)


def _written_at(y, i):
    y[i] = -1.0
    return y


VALUE_DEPENDENT = {  # name: (fn, reason, first input, second input)
    "index tensor": (lambda i: ARANGE[i] * 2, r"a tensor used as an index", [0, 1], [3, 4]),
    "index tensor written": (lambda i: _written_at(ARANGE.clone(), i), r"a tensor used as an index", [0, 1], [3, 4]),
    "boolean mask": (lambda x: x[x > 0] + 1, r"a tensor used as an index", [1.0, -1.0, 2.0], [1.0, 1.0, 1.0]),
    "bincount": (lambda i: ember.bincount(i) * 2, r"computes on a tensor's values", [1, 2, 2], [0, 0, 1]),
    "repeat_interleave": (lambda i: ember.repeat_interleave(ARANGE[:3], i) + 1, r"computes on a tensor's values",
                          [1, 2, 2], [0, 0, 1]),
    "nonzero": (lambda x: ember.nonzero(x) + 1, r"output shape: ops\.nonzero", [1.0, 0.0, 2.0], [1.0, 1.0, 1.0]),
    "masked_select": (lambda x: ember.masked_select(x, x > 0) * 2, r"output shape: ops\.masked_select",
                      [1.0, -1.0, 2.0], [1.0, 1.0, 1.0]),
    "unique": (lambda x: ember.unique(x) * 2, r"output shape: ops\.unique", [1.0, 1.0, 2.0], [1.0, 2.0, 3.0]),
    "allclose": (lambda x: x + ember.allclose(x, ember.ones(3)), r"ember\.allclose", [1.0, -1.0, 2.0],
                 [1.0, 1.0, 1.0]),
    "equal": (lambda x: x + ember.equal(x, ember.ones(3)), r"ember\.equal", [1.0, -1.0, 2.0], [1.0, 1.0, 1.0]),
}


@pytest.mark.parametrize("backend", ["eager", "inductor"])
@pytest.mark.parametrize("case", sorted(VALUE_DEPENDENT))
def test_values_that_decide_shapes_or_indices_break_the_graph(case, backend):
    """Index values, value-dependent output shapes and ops computing on host values are never baked
    into a compiled graph: a second call with other values (same shapes) must not see the first's."""
    fn, reason, first, second = VALUE_DEPENDENT[case]
    compiled = ember.compile(fn, backend=backend)
    for values in (first, second):
        x = ember.tensor(values)
        expected = fn(x)
        got = compiled(x)
        assert got.tolist() == expected.tolist()
    assert compiled.counters["graph_breaks"] == 1
    with pytest.raises(Unsupported, match=reason):
        ember.compile(fn, backend=backend, fullgraph=True)(ember.tensor(first))


def test_module_break_keeps_children_compiled():
    """A break that segments can't follow (an in-place write into the input) runs the module's own forward
    eagerly, with its children compiled."""
    class Gate(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Linear(3, 3)

        def forward(self, x):
            x.mul_(1.0)
            return self.body(x).relu()

    m = Gate()
    m.compile(backend="eager")
    x = ember.randn(4, 3)
    close(m(x), type(m).forward(m, x))
    assert m.forward.counters["graph_breaks"] == 1 and m.forward.counters["segmented_calls"] == 0
    assert m.forward._children["body"].counters["captures"] == 1


def test_explain():
    def f(x):
        y = x.exp()
        if y.sum() > 1:
            y = y * 2
        return y.sum().item()

    out = ember.compiler.explain(f)(ember.randn(3))
    assert out.graph_count == 2 and out.graph_break_count == 2
    assert "test_compile.py" in out.break_reasons[0].user_stack[0]
    assert out.ops_per_graph[0][0] == "exp"
    assert "Graph Break Count: 2" in str(out)


def test_decorator_forms_and_disable():
    @ember.compile
    def a(x):
        return x + 1

    @ember.compile(fullgraph=True, backend="eager")
    def b(x):
        return x * 2

    x = ember.ones(2)
    assert b(x).tolist() == [2.0, 2.0]
    assert ember.compile(a, disable=True) is a
    assert ember.compile(lambda t: t, backend="eager", disable=True)(x) is x

    @ember.compiler.disable
    def opaque(t):
        return t - 1

    with pytest.raises(Unsupported, match="disable"):
        ember.compile(lambda t: opaque(t * 2), backend="eager", fullgraph=True)(x)


def test_recompile_limit_warns_once_then_eager(monkeypatch):
    monkeypatch.setattr(config, "recompile_limit", 2)
    f = ember.compile(lambda x, k: x * k, backend="eager")
    x = ember.ones(2)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        for k in range(5):
            assert f(x, k).tolist() == [k, k]
    assert sum(issubclass(w.category, ember.compiler.RecompileLimitWarning) for w in seen) == 1
    assert f.counters["captures"] == 2 and f.counters["eager_calls"] == 3


def test_stances():
    f = ember.compile(lambda x: x + 1, backend="eager")
    x = ember.ones(2)
    f(x)
    with ember.compiler.set_stance("fail_on_recompile"):
        with pytest.raises(Unsupported):
            f(ember.ones(3))
    with ember.compiler.set_stance("force_eager"):
        f(ember.ones(4))
    assert f.counters["captures"] == 1
    ember.compiler.reset()
    assert f.cache == {}


def test_user_backend_sees_the_graph():
    calls.clear()
    f = ember.compile(lambda x: (x * 2).relu(), backend=counting_backend)
    f(ember.randn(3))
    f(ember.randn(3))
    assert len(calls) == 1 and calls[0] >= 3
    with pytest.raises(ValueError, match="unknown compiler backend"):
        ember.compile(lambda x: x, backend="nope")


def test_training_compiled_matches_eager_over_20_steps():
    ember.manual_seed(1)
    make = lambda: nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 3))  # noqa: E731
    eager = make()
    compiled = make()
    compiled.load_state_dict(eager.state_dict())
    compiled.compile(backend="eager")
    opts = [optim.Adam(m.parameters(), lr=1e-2) for m in (eager, compiled)]
    x, y = ember.randn(32, 10), ember.randint(0, 3, (32,))
    for _ in range(20):
        losses = []
        for m, opt in zip((eager, compiled), opts):
            loss = nn.functional.cross_entropy(m(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        assert abs(losses[0] - losses[1]) < 1e-5
    close(eager[0].weight, compiled[0].weight, 1e-5)
    assert compiled.forward.counters["captures"] == 1


def test_inductor_backend():
    pytest.importorskip("ember.compiler.inductor")
    f = ember.compile(lambda x: (x * 2 + 1).tanh().sum(1))
    x = ember.randn(4, 5)
    close(f(x), (x * 2 + 1).tanh().sum(1), 1e-5)
