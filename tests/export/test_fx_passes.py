"""ember.fx (symbolic_trace, GraphModule) and the graph passes."""
import warnings

import numpy as np
import pytest

import ember
from ember import nn
from ember.export import eliminate_dead_code, fold_constants
from ember.export.program import Program, capture


class WithConstant(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x):
        return self.fc(x) + ember.ones(3) * 2  # a tensor made inside forward


def test_symbolic_trace_with_examples_and_graph_module():
    m = WithConstant()
    x = ember.randn(2, 3)
    gm = ember.fx.symbolic_trace(m, example_inputs=(x,))
    np.testing.assert_allclose(gm(x).detach().numpy(), m(x).detach().numpy(), rtol=1e-6)
    again = ember.fx.GraphModule(gm, gm.graph)
    np.testing.assert_allclose(again(x).detach().numpy(), m(x).detach().numpy(), rtol=1e-6)
    assert [n.op for n in gm.graph.nodes][0] == "placeholder" and gm.graph.nodes[-1].op == "output"
    assert gm.print_readable(print_output=False) == gm.code


def test_symbolic_trace_without_examples_captures_per_shape():
    m = WithConstant()
    lazy = ember.fx.symbolic_trace(m)
    with pytest.raises(RuntimeError, match="first call"):
        _ = lazy.graph
    for n in (2, 5, 2):
        x = ember.randn(n, 3)
        np.testing.assert_allclose(lazy(x).detach().numpy(), m(x).detach().numpy(), rtol=1e-6)
    assert len(lazy._graphs) == 2


def test_graph_module_refuses_a_graph_reading_missing_state():
    gm = ember.fx.symbolic_trace(nn.Linear(2, 2), example_inputs=(ember.randn(1, 2),))
    with pytest.raises(RuntimeError, match="root doesn't have"):
        ember.fx.GraphModule({}, gm.graph)


def test_dead_code_elimination():
    def f(x):
        unused = x.exp() * 3  # noqa: F841
        return x + 1
    graph, state, spec, _ = capture(f, (ember.randn(3),))
    before = len(graph)
    assert eliminate_dead_code(graph) == 2 and len(graph) == before - 2
    assert "exp" not in graph.code
    x = ember.randn(3)
    np.testing.assert_allclose(Program(graph, state, spec)(x).detach().numpy(), (x + 1).numpy())


def test_constant_folding_keeps_parameters_and_folds_constants():
    m = WithConstant()
    x = ember.randn(2, 3)
    graph, state, spec, _ = capture(m, (x,), module=m)
    calls = sum(n.op == "call_function" for n in graph.nodes)
    folded = fold_constants(graph, state, keep={"fc.weight", "fc.bias"})
    assert folded >= 1 and sum(n.op == "call_function" for n in graph.nodes) == calls - folded
    assert "fc.weight" in state
    np.testing.assert_allclose(Program(graph, state, spec)(x).detach().numpy(), m(x).detach().numpy(), rtol=1e-6)


def test_graph_code_prints_ops_shapes_and_modules():
    m = nn.Sequential(nn.Linear(2, 3))
    traced = ember.jit.trace(m, ember.randn(4, 2))
    code = traced.code
    assert code.startswith("def forward(self, input):")
    assert "float32[4, 3]" in code and "0 (Linear)" in code and "return " in code


def test_constant_folding_never_folds_random_ops():
    def f(x):
        return x + ember.zeros_like(x).uniform_()  # a fresh draw on every run (a recorded random op)

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a recorded random op: nothing to report
        graph, state, spec, _ = capture(f, (ember.zeros(3),))
    assert fold_constants(graph, state) == 0
    program = Program(graph, state, spec)
    a, b = program(ember.zeros(3)), program(ember.zeros(3))
    assert not np.array_equal(a.detach().numpy(), b.detach().numpy())


def test_random_draws_outside_the_graph_are_reported():
    def f(x):
        return x + ember.rand(3)  # drawn by a creation function: the graph can only hold its value

    with pytest.warns(ember.jit.TracerWarning, match="random numbers outside its ops"):
        capture(f, (ember.zeros(3),))
