"""Each pass on its own: CSE, DCE, constant folding, fusion's kernel count, buffer reuse, the kernel cache."""
import os
import subprocess
import sys

import numpy as np

import ember
from ember.compiler.inductor import compile_graph, fusion, kernel_cache, optimize
from ember.export.passes import eliminate_common_subexpressions, eliminate_dead_code
from ember.export.program import capture


def _graph(fn, *inputs, module=None):
    graph, state, _, _ = capture(fn, inputs, module=module, differentiable=True, mirror_inputs=True)
    return graph, state


def _calls(graph, target=None):
    return [n for n in graph.nodes if n.op == "call_function" and (target is None or n.target == target)]


def test_cse_merges_duplicates_but_not_random_draws():
    x = ember.randn(3, 4)
    F = ember.nn.functional
    graph, _ = _graph(lambda x: (x.exp() + x.exp(), F.dropout(x, 0.5, True) + F.dropout(x, 0.5, True)), x)
    assert len(_calls(graph, "exp")) == 2
    draws = len(_calls(graph, "sample_bernoulli"))
    merged = eliminate_common_subexpressions(graph)
    assert merged >= 1 and len(_calls(graph, "exp")) == 1
    assert draws == 2 and len(_calls(graph, "sample_bernoulli")) == 2
    add = _calls(graph, "add")[0]
    assert add.args[0] is add.args[1]


def test_dce_removes_dead_nodes():
    x = ember.randn(3)

    def f(x):
        (x * 5).sin()  # computed and dropped
        return x + 1
    graph, _ = _graph(f, x)
    assert eliminate_dead_code(graph) == 2
    assert [n.target for n in _calls(graph)] == ["add"]


def test_constant_folding_folds_constants_but_never_parameters():
    m = ember.nn.Linear(3, 3)
    table = ember.arange(3.0)

    def f(x):
        return m(x) * (table.exp() + 1) + m.weight.sum()
    graph, state = _graph(f, ember.randn(2, 3), module=m)
    folded, new_state = optimize(graph, state)
    assert not _calls(folded, "exp")  # exp(constant) + 1 became one constant
    assert _calls(folded, "sum")  # a parameter's sum stays live
    assert "weight" in new_state and new_state["weight"] is m.weight
    assert set(state) <= set(new_state) or "weight" in state  # the caller's mapping is untouched


def test_fusion_makes_the_known_number_of_kernels():
    x, w = ember.randn(4, 5), ember.randn(5, 5)

    def f(x, w):
        a = (x * 2 + 1).tanh()          # kernel 1 (ends where the matmul reads it)
        b = a @ w
        return (b.exp() - 1).sum(-1)    # kernel 2, ends with the reduction
    graph, _ = _graph(f, x, w)
    steps = fusion.partition(graph, set())
    groups = [s for s in steps if isinstance(s, fusion.Group)]
    assert len(groups) == 2
    assert [n.target for n in groups[0].nodes] == ["mul", "add", "tanh"]
    assert groups[1].reduction is not None and groups[1].reduction.target == "sum"


def test_buffer_reuse_writes_into_a_dead_intermediate():
    x, w = ember.randn(64, 64), ember.randn(64, 64) * 0.1

    def f(x, w):
        a = (x * 0.2).exp()
        b = a @ w          # an opaque op between two kernels closes the first
        c = (a + 1).tanh() + b
        return (c * 3 - b).tanh() * 2
    graph, state = _graph(f, x, w)
    compiled = compile_graph(graph, state, [x, w])
    with ember.no_grad():
        out = compiled(x, w)
        np.testing.assert_allclose(out.numpy(), f(x, w).numpy(), rtol=1e-5, atol=1e-5)
    source = next(iter(compiled.plans.values())).forward.source
    assert any(line.strip().startswith("o") and "= p" in line for line in source.splitlines()), source


def test_second_compile_reuses_kernels():
    x = ember.randn(7, 3, requires_grad=True)
    graph, state = _graph(lambda x: (x * 1.25 + 0.5).sigmoid().sum(-1), x)
    compile_graph(graph, state, [x])(x).sum().backward()
    written = kernel_cache.STATS["written"]
    reused = kernel_cache.STATS["reused"]
    compile_graph(graph, state, [x])(x).sum().backward()
    assert kernel_cache.STATS["written"] == written
    assert kernel_cache.STATS["reused"] == reused + 2


def test_warm_start_loads_kernels_from_the_disk_cache(tmp_path):
    script = (
        "import ember, time\n"
        "from ember.export.program import capture\n"
        "from ember.compiler.inductor import compile_graph, kernel_cache\n"
        "x = ember.randn(5, 6)\n"
        "g, s, _, _ = capture(lambda x: (x * 3.5 - 1).cos().sum(-1), (x,))\n"
        "c = compile_graph(g, s, [x]); c(x)\n"
        "k = next(iter(c.plans.values())).g\n"
        "print(kernel_cache.STATS['written'], [v for n, v in k.items() if n.startswith('KF')][0]._compiled.stats.cache_hits)\n")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    first = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    second = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert first.stdout.split()[0] == "1"
    written, hits = second.stdout.split(maxsplit=1)
    assert written == "0" and "1" in hits, second.stdout
