"""ember.export.export: strict errors naming the line, dynamic dims with guards, save/load."""
import io

import numpy as np
import pytest

import ember
from ember import nn
from ember.export import Dim, ExportError, export


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 3)
        self.gru = nn.GRU(6, 4, batch_first=True)
        self.register_buffer("scale", ember.tensor(0.5))

    def forward(self, x):
        batch, seq, width = x.shape
        y = self.fc(x.reshape(batch * seq, width)).reshape(batch, seq, 3)
        out, _ = self.gru(x)
        return y.sum(-1) * self.scale + out.mean(-1)


def test_export_program_surface():
    m = Net().eval()
    x = ember.randn(2, 5, 6)
    ep = export(m, (x,))
    np.testing.assert_allclose(ep.module()(x).detach().numpy(), m(x).detach().numpy(), rtol=1e-6)
    sig = ep.graph_signature
    assert sig.user_inputs == ["x"] and "fc.weight" in sig.parameters and sig.buffers == ["scale"]
    assert set(ep.state_dict) == {k for k, _ in m.state_dict().items()}
    assert ep.run_decompositions() is ep and "ExportedProgram" in str(ep)


def test_dynamic_batch_and_seq_run_at_other_sizes():
    m = Net().eval()
    batch, seq = Dim("batch", min=1, max=32), Dim("seq", min=2, max=16)
    ep = export(m, (ember.randn(3, 5, 6),), dynamic_shapes={"x": {0: batch, 1: seq}})
    assert "s0" in ep.graph.code and "s1" in ep.graph.code
    mod = ep.module()
    for b, t in [(1, 2), (7, 9), (32, 16)]:
        x = ember.randn(b, t, 6)
        np.testing.assert_allclose(mod(x).detach().numpy(), m(x).detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape, message", [
    ((33, 5, 6), r"shape\[0\] \(Dim 'batch'\) to be in \[1, 32\], but got 33"),
    ((3, 5, 7), r"shape\[2\] to be equal to 6, but got 7"),
    ((3, 5), r"expected dtype float32 with 3 dims"),
])
def test_guards_reject_out_of_range_shapes(shape, message):
    ep = export(Net().eval(), (ember.randn(3, 5, 6),), dynamic_shapes=({0: Dim("batch", min=1, max=32)},))
    with pytest.raises(RuntimeError, match=message):
        ep.module()(ember.randn(*shape))


def test_shared_dim_must_agree():
    class Add(nn.Module):
        def forward(self, a, b):
            return a + b
    d = Dim("n", max=10)
    ep = export(Add(), (ember.randn(4), ember.randn(4)), dynamic_shapes={"a": {0: d}, "b": {0: d}})
    np.testing.assert_allclose(ep.module()(ember.ones(6), ember.ones(6)).numpy(), 2 * np.ones(6))
    with pytest.raises(RuntimeError, match="other dims of Dim 'n'"):
        ep.module()(ember.ones(6), ember.ones(5))


def _branch(x):
    if x.mean() > 0:  # strict export must name this line
        return x.relu()
    return x


class Branchy(nn.Module):
    def forward(self, x):
        return _branch(x)


def test_strict_export_error_names_the_line():
    line = _branch.__code__.co_firstlineno + 1
    with pytest.raises(ExportError, match=rf"test_export.py:{line}: bool\(tensor\)"):
        export(Branchy(), (ember.randn(3),))
    with pytest.warns(ember.export.TracerWarning):
        export(Branchy(), (ember.randn(3),), strict=False)


def test_strict_export_refuses_an_index_tensor_computed_from_the_inputs():
    class Gather(nn.Module):
        def forward(self, x, i):
            return x[i] * 2

    with pytest.raises(ExportError, match=r"a tensor used as an index \(x\[idx\]\)"):
        export(Gather(), (ember.randn(4), ember.tensor([0, 1])))


def test_strict_export_refuses_inplace_write_into_input():
    class Mut(nn.Module):
        def forward(self, x):
            x.mul_(2)
            return x
    with pytest.raises(ExportError, match="in-place write into an input"):
        export(Mut(), (ember.randn(3),))


def test_size_dependent_branch_with_dynamic_dim_is_refused():
    class BySize(nn.Module):
        def forward(self, x):
            return x * 2 if x.shape[0] > 4 else x.exp()
    with pytest.raises(ExportError, match="different ops"):
        export(BySize(), (ember.randn(4),), dynamic_shapes={"x": {0: Dim("n")}})


def test_non_linear_size_use_is_refused():
    class Square(nn.Module):
        def forward(self, x):
            n = x.shape[0]
            return x.repeat(n)  # n * n elements
    with pytest.raises(ExportError, match="linear"):
        export(Square(), (ember.randn(3),), dynamic_shapes={"x": {0: Dim("n", min=1, max=9)}})


def test_bad_dynamic_shapes_arguments():
    with pytest.raises(ValueError, match="not inputs"):
        export(Net(), (ember.randn(2, 3, 6),), dynamic_shapes={"y": {0: Dim("b")}})
    with pytest.raises(ValueError, match="min 5 is larger than max 2"):
        Dim("b", min=5, max=2)
    with pytest.raises(ExportError, match="outside its range"):
        export(Net(), (ember.randn(2, 3, 6),), dynamic_shapes={"x": {0: Dim("b", min=3, max=8)}})


def test_save_load_keeps_dynamic_dims_and_guards(tmp_path):
    m = Net().eval()
    ep = export(m, (ember.randn(3, 5, 6),), dynamic_shapes={"x": {0: Dim("batch", min=1, max=8)}})
    buf = io.BytesIO()
    ember.export.save(ep, buf)
    buf.seek(0)
    loaded = ember.export.load(buf)
    x = ember.randn(6, 5, 6)
    np.testing.assert_allclose(loaded.module()(x).detach().numpy(), m(x).detach().numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(RuntimeError, match=r"in \[1, 8\], but got 9"):
        loaded.module()(ember.randn(9, 5, 6))
    path = tmp_path / "p.ep"
    ember.export.save(ep, str(path))
    traced_view = ember.jit.load(str(path))  # one file format for both faces
    np.testing.assert_allclose(traced_view(x).detach().numpy(), m(x).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_export_requires_tuple_args():
    with pytest.raises(TypeError, match="tuple"):
        export(Net(), ember.randn(2, 3, 6))


def test_failed_capture_leaves_no_observer_behind():
    from ember import _tensor
    from ember.ops import dispatch

    class Broken(nn.Module):
        def forward(self, x):
            raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        export(Broken(), (ember.randn(2),))
    assert dispatch.observer is None and _tensor.value_observer is None
    assert (ember.ones(2) + 1).sum().item() == 4.0


def test_structured_inputs_and_outputs():
    class Dicty(nn.Module):
        def forward(self, pair, scale=None):
            a, b = pair
            return {"sum": a + b, "both": (a * scale, b)}

    a, b, s = ember.randn(2), ember.randn(2), ember.randn(2)
    ep = export(Dicty(), ((a, b),), {"scale": s})
    out = ep.module()((a, b), scale=s)
    np.testing.assert_allclose(out["sum"].numpy(), (a + b).numpy())
    np.testing.assert_allclose(out["both"][0].numpy(), (a * s).numpy())
    with pytest.raises(TypeError, match="structured as"):
        ep.module()(a, scale=s)
