"""ember.jit: trace, warnings naming the line, save/load (in a fresh process too), script, freeze."""
import io
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import ember
from ember import nn

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def mlp():
    ember.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


def test_trace_has_graph_code_and_matches():
    m = mlp()
    x = ember.randn(2, 4)
    traced = ember.jit.trace(m, x)
    assert "def forward(self, input)" in traced.code
    assert "0 (Linear)" in traced.code and "ops.relu" in traced.code
    np.testing.assert_array_equal(traced(x).detach().numpy(), m(x).detach().numpy())
    assert {k for k, _ in traced.named_parameters()} == {k for k, _ in m.named_parameters()}


def test_traced_module_trains_its_parameters():
    m = mlp()
    traced = ember.jit.trace(m, ember.randn(2, 4))
    x = ember.randn(2, 4)
    traced(x).sum().backward()
    m(x).sum().backward()
    for (k, p), (_, q) in zip(traced.named_parameters(), m.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-6, err_msg=k)


def test_trace_refuses_other_shapes_clearly():
    traced = ember.jit.trace(mlp(), ember.randn(2, 4))
    with pytest.raises(RuntimeError, match=r"shape \[5, 4\].*captured for dtype float32 and shape \[2, 4\]"):
        traced(ember.randn(5, 4))


def _branchy(x):
    if x.sum() > 0:  # the line the warning must name
        return x * 2
    return x - 1


def test_trace_warns_on_data_dependent_branch_with_its_line():
    line = _branchy.__code__.co_firstlineno + 1
    with pytest.warns(ember.jit.TracerWarning, match=r"bool\(tensor\)") as record:
        ember.jit.trace(_branchy, ember.ones(3))
    hit = [w for w in record if issubclass(w.category, ember.jit.TracerWarning)][0]
    assert hit.filename == __file__ and hit.lineno == line


@pytest.mark.parametrize("read", [lambda t: t.item(), lambda t: t.tolist(), lambda t: float(t.sum()),
                                  lambda t: t.detach().numpy(), lambda t: np.asarray(t.detach())],
                         ids=["item", "tolist", "float", "numpy", "array"])
def test_trace_warns_on_value_reads(read):
    def f(x):
        y = x * 2
        read(y)
        return y
    with pytest.warns(ember.jit.TracerWarning, match="Python constant"):
        ember.jit.trace(f, ember.ones(1))


def test_no_warning_for_reading_a_constant():
    w = ember.tensor([2.0])

    def f(x):
        return x * w.item()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ember.jit.TracerWarning)
        ember.jit.trace(f, ember.ones(2))


def test_trace_warns_on_inplace_write_into_input():
    def f(x):
        x.add_(1)
        return x * 2
    with pytest.warns(ember.jit.TracerWarning, match="in-place write into an input"):
        ember.jit.trace(f, ember.ones(2), check_trace=False)


def test_save_load_round_trip_and_map_location(tmp_path):
    m = mlp()
    x = ember.randn(3, 4)
    traced = ember.jit.trace(m, x)
    path = tmp_path / "m.pt"
    ember.jit.save(traced, path)
    loaded = ember.jit.load(str(path), map_location="cpu")
    np.testing.assert_array_equal(loaded(x).detach().numpy(), m(x).detach().numpy())
    assert loaded.code == traced.code


def test_load_in_fresh_process_without_the_class(tmp_path):
    class Hidden(nn.Module):  # defined only here: the child process can't import it
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3)
            self.fc = nn.Linear(2 * 4 * 4, 5)

        def forward(self, x):
            return self.fc(self.conv(x).relu().flatten(1)).softmax(-1)

    ember.manual_seed(1)
    m = Hidden().eval()
    x = ember.randn(2, 1, 6, 6)
    path = tmp_path / "hidden.pt"
    ember.jit.trace(m, x).save(str(path))
    np.save(tmp_path / "x.npy", x.numpy())
    np.save(tmp_path / "want.npy", m(x).detach().numpy())
    script = textwrap.dedent(f"""
        import numpy as np, ember
        m = ember.jit.load({str(path)!r})
        x = ember.from_numpy(np.load({str(tmp_path / 'x.npy')!r}))
        got = m(x).detach().numpy()
        assert np.array_equal(got, np.load({str(tmp_path / 'want.npy')!r})), got
        print("same")
    """)
    env = dict(os.environ, PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "same"


def test_script_compiles_clean_code_by_tracing():
    m = mlp()
    scripted = ember.jit.script(m)
    x = ember.randn(2, 4)
    np.testing.assert_array_equal(scripted(x).detach().numpy(), m(x).detach().numpy())
    buf = io.BytesIO()
    scripted.save(buf)
    buf.seek(0)
    np.testing.assert_array_equal(ember.jit.load(buf)(x).detach().numpy(), m(x).detach().numpy())


def test_script_with_data_dependent_flow_runs_python_and_refuses_to_save():
    scripted = ember.jit.script(_branchy)
    pos, neg = ember.ones(3), -ember.ones(3)
    np.testing.assert_array_equal(scripted(pos).numpy(), _branchy(pos).numpy())
    np.testing.assert_array_equal(scripted(neg).numpy(), _branchy(neg).numpy())  # other branch: still right
    with pytest.raises(RuntimeError, match=r"data-dependent control flow.*test_jit.py:\d+.*ember.jit.trace"):
        scripted.save(io.BytesIO())


def test_script_save_before_any_call_explains():
    with pytest.raises(RuntimeError, match="first call"):
        ember.jit.script(mlp()).save(io.BytesIO())


def test_freeze_and_optimize_for_inference_fold_parameter_only_work():
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(ember.randn(4, 4))

        def forward(self, x):
            return x @ (self.w * 2).t()  # w * 2 and its transpose depend only on the parameter

    m = M().eval()
    x = ember.randn(3, 4)
    traced = ember.jit.trace(m, x)
    with pytest.raises(RuntimeError, match="eval mode"):
        ember.jit.freeze(traced.train())
    frozen = ember.jit.freeze(traced.eval())
    calls = [n for n in frozen.graph.nodes if n.op == "call_function"]
    assert len(calls) == 1 and list(frozen.parameters()) == []
    np.testing.assert_allclose(frozen(x).numpy(), m(x).detach().numpy(), rtol=1e-6)
    fast = ember.jit.optimize_for_inference(traced)
    np.testing.assert_allclose(fast(x).numpy(), m(x).detach().numpy(), rtol=1e-6)


def test_decorators_and_flags_accepted():
    @ember.jit.ignore
    def a(x):
        return x

    @ember.jit.unused
    def b(x):
        return x

    assert a(1) == 1 and b(2) == 2 and ember.jit.export(a) is a
    assert ember.jit.is_scripting() is False


def test_check_trace_warns_when_replay_differs():
    m = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5)).train()
    with pytest.warns(ember.jit.TracerWarning, match="does not match"):
        ember.jit.trace(m, ember.randn(64, 4))


def test_optimize_for_inference_recaptures_without_autograd():
    from ember.vision.models import LeNet5
    ember.manual_seed(0)
    m = LeNet5().eval()
    x = ember.randn(2, 1, 28, 28)
    traced = ember.jit.trace(m, x)
    fast = ember.jit.optimize_for_inference(traced)
    assert "max_pool_values" in fast.code and "max_pool_values" not in traced.code  # no indices for inference
    with ember.no_grad():
        np.testing.assert_allclose(fast(x).numpy(), m(x).numpy(), rtol=1e-5, atol=1e-6)
    assert m.training is False


def test_capture_leaves_running_statistics_as_they_were():
    m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).train()
    before = m[1].running_mean.numpy().copy()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        ember.jit.trace(m, ember.randn(8, 3), check_trace=False)
    assert any("'1.running_mean'" in str(w.message) for w in seen)
    np.testing.assert_array_equal(m[1].running_mean.numpy(), before)


def test_a_constant_used_twice_is_stored_once():
    c = ember.arange(3.0)

    def f(x):
        return x * c + c

    traced = ember.jit.trace(f, ember.ones(3))
    assert sum(n.op == "get_attr" for n in traced.graph.nodes) == 1


def test_capture_leaves_inputs_as_they_were():
    x = ember.ones(3)

    def f(a):
        a.mul_(3)
        return a + 1

    with pytest.warns(ember.jit.TracerWarning, match="in-place write into an input"):
        traced = ember.jit.trace(f, x, check_trace=False)
    np.testing.assert_array_equal(x.numpy(), np.ones(3))
    np.testing.assert_array_equal(traced(ember.ones(3)).numpy(), np.full(3, 4.0))
