"""The C custom-op example, run for real: gcc builds the kernels, gradcheck passes, training lowers the
loss, the op exports as one IR call, replays, and the saved program reloads."""
import numpy as np
import pytest
import torch

import ember
from ember.examples import custom_op_c
from ember.library import opcheck


@pytest.fixture(scope="module", autouse=True)
def build_in_tmp(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("EMBER_EXTENSIONS_DIR", str(tmp_path_factory.mktemp("ext")))
    custom_op_c.extension.cache_clear()
    yield
    custom_op_c.extension.cache_clear()
    mp.undo()


def test_values_and_gradients_match_torch():
    x = np.random.default_rng(0).standard_normal((4, 3))
    ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y = ember.ops.ember_examples.swish(ex, 1.5)
    ty = tx * torch.sigmoid(1.5 * tx)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-12)
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_gradcheck_and_opcheck():
    assert custom_op_c.check_gradient()
    x = ember.randn(5, dtype=ember.float64, requires_grad=True)
    assert set(opcheck(custom_op_c.swish, (x, 0.7)).values()) == {"SUCCESS"}


def test_training_lowers_the_loss():
    _, losses = custom_op_c.train(steps=60)
    assert losses[-1] < 0.3 * losses[0]


def test_exports_as_one_call_and_round_trips(tmp_path):
    model, _ = custom_op_c.train(steps=5)
    ep = custom_op_c.export_model(model)
    calls = [n.target for n in ep.graph.nodes if n.op == "call_function"]
    assert calls.count("ember_examples.swish") == 1
    x = ember.randn(8, 4)
    assert ember.allclose(ep.module()(x), model(x))
    ember.export.save(ep, str(tmp_path / "mlp.ember"))
    assert ember.allclose(ember.export.load(str(tmp_path / "mlp.ember")).module()(x), model(x))


def test_meta_device_uses_the_fake():
    out = custom_op_c.swish(ember.empty(3, 7, device="meta"))
    assert out.is_meta and out.shape == ember.Size([3, 7])


def test_dynamic_batch_export_replays_at_other_sizes():
    model = custom_op_c.SwishMLP()
    ep = ember.export.export(model, (ember.randn(8, 4),), dynamic_shapes=({0: ember.export.Dim("batch")},))
    for n in (1, 5):
        x = ember.randn(n, 4)
        assert ember.allclose(ep.module()(x), model(x))
