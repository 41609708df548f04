"""Custom ops in capture/export (one IR call that replays and saves), ONNX (clear error, or the user's
symbolic run in onnxruntime), opcheck, and the Library/define/impl API."""
import numpy as np
import onnxruntime as ort
import pytest

import ember
from ember import Tensor, nn
from ember.library import Library, OpCheckError, custom_op, opcheck


@pytest.fixture
def scaled_tanh():
    @custom_op("emexport::scaled_tanh", mutates_args=())
    def op(x: Tensor, alpha: float) -> Tensor:
        return ember.tanh(x) * alpha

    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * (ctx.alpha - y * y / ctx.alpha), None

    def setup(ctx, inputs, output):
        ctx.save_for_backward(output)
        ctx.alpha = inputs[1]

    op.register_autograd(backward, setup_context=setup)
    op.register_fake(lambda x, alpha: ember.empty_like(x))
    yield op
    op.remove()
    ember.onnx.unregister_custom_op_symbolic("emexport::scaled_tanh", 18)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)

    def forward(self, x):
        return ember.ops.emexport.scaled_tanh(self.fc(x), 2.0).sum(-1)


def test_export_records_one_call_that_replays_saves_and_trains(scaled_tanh, tmp_path):
    net, x = Net(), ember.randn(5, 3)
    ep = ember.export.export(net, (x,))
    calls = [n for n in ep.graph.nodes if n.op == "call_function" and n.target == "emexport.scaled_tanh"]
    assert len(calls) == 1 and calls[0].kwargs == {"alpha": 2.0}
    assert "ops.emexport.scaled_tanh(linear, alpha=2.0)" in ep.graph.code
    assert ember.allclose(ep.module()(x), net(x))
    path = tmp_path / "net.ember"
    ember.export.save(ep, str(path))
    loaded = ember.export.load(str(path))
    out = loaded.module()(x)
    assert ember.allclose(out, net(x))
    scaled_tanh.remove()  # a program naming an op this process doesn't have no longer loads
    with pytest.raises(Exception, match="emexport.scaled_tanh"):
        ember.export.load(str(path))


def test_replayed_graph_is_differentiable_through_the_custom_backward(scaled_tanh):
    net, x = Net(), ember.randn(5, 3)
    ep = ember.export.export(net, (x,))
    m = ep.module()
    m(x).sum().backward()
    net(x).sum().backward()
    grads = [p.grad for p in m.parameters()]
    assert all(g is not None for g in grads)
    for g, p in zip(grads, net.parameters()):
        np.testing.assert_allclose(g.numpy(), p.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_onnx_names_the_op_until_a_symbolic_is_registered(scaled_tanh):
    net, x = Net(), ember.randn(5, 3)
    with pytest.raises(RuntimeError, match=r"emexport::scaled_tanh.*register_custom_op_symbolic"):
        ember.onnx.export(net, (x,))

    def symbolic(g, x, alpha):
        return g.op("Mul", g.op("Tanh", x), g.op("Constant", value_t=ember.tensor(alpha)))

    ember.onnx.register_custom_op_symbolic("emexport::scaled_tanh", symbolic, 18)
    model = ember.onnx.export(net, (x,))
    sess = ort.InferenceSession(model.SerializeToString())
    got = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})[0]
    np.testing.assert_allclose(got, net(x).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_opcheck_passes_and_reports_failures(scaled_tanh):
    x = ember.randn(4, dtype=ember.float64, requires_grad=True)
    assert set(opcheck(scaled_tanh, (x, 1.5)).values()) == {"SUCCESS"}

    @custom_op("emexport::wrong_fake", mutates_args=())
    def wrong_fake(x: Tensor) -> Tensor:
        return x.sum(0)

    wrong_fake.register_fake(lambda x: ember.empty_like(x))
    try:
        result = opcheck(wrong_fake, (ember.randn(3, 2),), raise_exception=False)
        assert result["test_faketensor"].startswith("RuntimeError: output 0: the fake function gives")
        assert result["test_schema"] == "SUCCESS"
        with pytest.raises(OpCheckError, match="test_autograd_registration failed"):
            opcheck(wrong_fake, (ember.randn(3, 2, requires_grad=True),), test_utils="test_autograd_registration")
    finally:
        wrong_fake.remove()


def test_opcheck_gradcheck_catches_a_wrong_backward():
    @custom_op("emexport::cube", mutates_args=())
    def cube(x: Tensor) -> Tensor:
        return x * x * x

    cube.register_autograd(lambda ctx, g: g * 2 * ctx.x, setup_context=lambda ctx, i, o: setattr(ctx, "x", i[0]))
    try:
        with pytest.raises(OpCheckError, match="test_gradcheck failed"):
            opcheck(cube, (ember.randn(3, dtype=ember.float64, requires_grad=True),), test_utils=["test_gradcheck"])
    finally:
        cube.remove()


def test_library_define_impl_and_errors():
    lib = Library("emlib", "DEF")
    try:
        assert lib.define("foo(Tensor x, float a) -> Tensor") == "foo"
        with pytest.raises(RuntimeError, match="multiple times"):
            lib.define("foo(Tensor x) -> Tensor")
        with pytest.raises(RuntimeError):
            lib.define("bad schema")
        lib.impl("foo", lambda x, a: x * a, "CPU")
        assert ember.ops.emlib.foo(ember.ones(2), 3.0).tolist() == [3.0, 3.0]
        with pytest.raises(TypeError, match="missing a required argument: 'a'"):
            ember.ops.emlib.foo(ember.ones(2))
        with pytest.raises(AttributeError, match="has no attribute 'nothere'"):
            ember.ops.emlib.nothere  # noqa: B018
        ember.library.define("emlib::bar", "(Tensor x) -> Tensor")

        @ember.library.register_fake("emlib::bar")
        def _(x):
            return ember.empty_like(x)

        with pytest.raises(NotImplementedError, match="Could not run 'emlib::bar'"):
            ember.ops.emlib.bar(ember.ones(2))
        assert ember.ops.emlib.bar(ember.empty(2, device="meta")).is_meta
        ember.library.impl("emlib::bar", "cpu", lambda x: x + 1)
        assert ember.ops.emlib.bar(ember.ones(2)).tolist() == [2.0, 2.0]
    finally:
        lib._destroy()
        ember.ops.emlib._ops.clear()
    with pytest.raises(ValueError, match="Unsupported kind: XXX"):
        Library("emlib2", "XXX")


def test_strict_export_checks_the_fake_against_the_kernel():
    @custom_op("emexport::halve_rows", mutates_args=())
    def halve_rows(x: Tensor) -> Tensor:
        return x[: x.shape[0] // 2].clone()

    halve_rows.register_fake(lambda x: ember.empty_like(x))  # wrong: keeps every row

    class M(nn.Module):
        def forward(self, x):
            return ember.ops.emexport.halve_rows(x) + 1

    try:
        with pytest.raises(ember.export.ExportError, match=r"fake function gives float32\[4, 3\].*float32\[2, 3\]"):
            ember.export.export(M(), (ember.randn(4, 3),))
        halve_rows.register_fake(lambda x: ember.empty(x.shape[0] // 2, x.shape[1]))
        ep = ember.export.export(M(), (ember.randn(4, 3),))
        assert [n.target for n in ep.graph.nodes if n.op == "call_function"] == ["emexport.halve_rows", "add"]
    finally:
        halve_rows.remove()
