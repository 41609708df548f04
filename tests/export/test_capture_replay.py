"""Capture -> replay gives eager's values and gradients, on a broad set of ops."""
import numpy as np
import pytest

import ember
from ember.nn import functional as F  # noqa: N812 - the PyTorch idiom
from tests.export.helpers import assert_replay_matches

rng = np.random.default_rng(0)


def t(*shape, dtype=np.float64):
    return ember.tensor(rng.standard_normal(shape).astype(dtype))


ROWS = ember.tensor([0, 2])


CASES = {
    "add_broadcast": (lambda a, b: a + b, [t(3, 1, 4), t(5, 4)]),
    "sub_alpha_mul_div": (lambda a, b: ember.sub(a, b, alpha=2) * a / (b.abs() + 1), [t(2, 3), t(3)]),
    "pow_scalar_and_tensor": (lambda a, b: a ** 2 + a.abs() ** b, [t(4), t(4)]),
    "rsub_scalar": (lambda a: 2 - a * 3.5, [t(3, 2)]),
    "promotion_int_float": (lambda a, i: a * i + i, [t(3), ember.tensor([1, 2, 3])]),
    "promotion_f32_f64": (lambda a, b: a + b, [t(3), t(3, dtype=np.float32)]),
    "unary_chain": (lambda a: (a.exp().log1p() + a.sin() * a.tanh()).sqrt(), [t(2, 5)]),
    "activations": (lambda a: F.gelu(a) + F.silu(a) + F.softplus(a) + F.elu(a) + F.leaky_relu(a, 0.1), [t(6)]),
    "reductions": (lambda a: a.sum(1) + a.mean(1) + a.amax(1) + a.std(1) + a.logsumexp(1), [t(3, 4)]),
    "max_with_indices": (lambda a: a.max(dim=1), [t(3, 4)]),
    "sort_topk": (lambda a: (a.sort(dim=-1)[0], a.topk(2).values), [t(2, 5)]),
    "views": (lambda a: a.t().reshape(6, 2).unsqueeze(0).permute(2, 0, 1).squeeze(1).flatten(), [t(3, 4)]),
    "transpose_noncontiguous": (lambda a: a.transpose(0, 1)[1:, ::2].contiguous() * 2, [t(4, 5)]),
    "indexing": (lambda a: a[ROWS] + a[1:3, None, -1:], [t(4, 3)]),  # an index from the inputs is a value read
    "gather_scatter": (lambda a: a.gather(1, ember.tensor([[0, 1], [1, 0]])).scatter_add(
        1, ember.tensor([[0, 0], [1, 1]]), a[:, :2]), [t(2, 3)]),
    "cat_stack_split": (lambda a, b: [p * 2 for p in ember.cat([a, b]).split(2)] + [ember.stack([a, b]).sum(0)],
                        [t(2, 3), t(2, 3)]),
    "unbind_chunk": (lambda a: list(a.unbind(0)) + list(a.chunk(3, 1)), [t(2, 3)]),
    "where_masked": (lambda a, b: ember.where(a > b, a, b * 2).masked_fill(a < -1, 0.5), [t(3, 3), t(3, 3)]),
    "matmul_family": (lambda a, b, c: (a @ b) @ c.mT + ember.bmm(a.unsqueeze(0), b.unsqueeze(0))[0].sum(),
                      [t(3, 4), t(4, 5), t(2, 5)]),
    "einsum": (lambda a, b: ember.einsum("ij,jk->ik", a, b), [t(2, 3), t(3, 4)]),
    "softmax_norms": (lambda a: F.softmax(a, -1) + F.log_softmax(a, 0) + F.layer_norm(a, (4,)) + F.normalize(a),
                      [t(3, 4)]),
    "conv_pool": (lambda x, w: F.max_pool2d(F.conv2d(x, w, padding=1), 2) + F.avg_pool2d(F.conv2d(x, w, padding=1), 2),
                  [t(2, 1, 6, 6), t(3, 1, 3, 3)]),
    "conv1d_adaptive": (lambda x, w: F.adaptive_avg_pool1d(F.conv1d(x, w, stride=2), 3), [t(2, 2, 9), t(4, 2, 3)]),
    "interpolate_pad": (lambda x: F.pad(F.interpolate(x, scale_factor=2, mode="bilinear"), (1, 1, 0, 2)),
                        [t(1, 2, 3, 3)]),
    "cumsum_cumprod": (lambda a: a.cumsum(0) + a.cumprod(1), [t(3, 3)]),
    "clamp_minmax": (lambda a, b: a.clamp(-0.5, 0.5) + ember.maximum(a, b) - ember.minimum(a, b), [t(4), t(4)]),
    "inplace_ops": (lambda a: a.clone().mul_(2).add_(1).relu_(), [t(5)]),
    "losses": (lambda a, b: F.mse_loss(a, b) + F.smooth_l1_loss(a, b) + F.binary_cross_entropy_with_logits(a, b.sigmoid()),
               [t(4, 3), t(4, 3)]),
    "cross_entropy": (lambda a: F.cross_entropy(a, ember.tensor([0, 2, 1])), [t(3, 4)]),
    "embedding": (lambda w: F.embedding(ember.tensor([[0, 2], [1, 1]]), w), [t(3, 4)]),
    "zero_dim_and_empty": (lambda a, e: a * 3 + a.exp() + e.sum(), [t(), t(0, 3)]),
    "linalg": (lambda a: ember.linalg.inv(a @ a.mT + ember.eye(3, dtype=ember.float64)).trace(), [t(3, 3)]),
    "detach_in_middle": (lambda a: a * a.detach() + a, [t(3)]),
    "setitem": (lambda a: _setitem(a), [t(3, 3)]),
    "inplace_on_view": (lambda a: _inplace_on_view(a), [t(3, 3)]),
    "augmented_setitem": (lambda a: _augmented(a), [t(3, 3)]),
    "inplace_on_view_of_view": (lambda a: _view_of_view(a), [t(3, 4)]),
}


def _setitem(a):
    y = a.clone()
    y[0] = 5.0
    y[1:, 2] = a[0, :2] * 3
    return y * 2


def _inplace_on_view(a):
    y = a.clone()
    v = y[0]
    v.mul_(2)
    return y.exp()


def _augmented(a):
    y = a * 1
    y[:, 1] += a[:, 0]
    return y.sum(0)


def _view_of_view(a):
    y = a.clone()
    y.t()[1:].zero_()
    return y


@pytest.mark.parametrize("name", sorted(CASES))
def test_replay_matches_eager(name):
    fn, inputs = CASES[name]
    assert_replay_matches(fn, inputs)


@pytest.mark.parametrize("module", [
    lambda: ember.nn.LSTM(4, 5, num_layers=2, batch_first=True),
    lambda: ember.nn.GRU(4, 5, bidirectional=True),
    lambda: ember.nn.TransformerEncoderLayer(4, 2, dim_feedforward=8, dropout=0.0, batch_first=True),
    lambda: ember.nn.Sequential(ember.nn.BatchNorm1d(3).eval(), ember.nn.Linear(4, 3), ember.nn.Tanh()),
    lambda: ember.nn.MultiheadAttention(4, 2, batch_first=True),
], ids=["lstm", "gru", "transformer_layer", "bn_linear", "mha"])
def test_modules_replay_with_parameter_grads(module):
    ember.manual_seed(0)
    m = module().double()
    x = t(2, 3, 4)
    fn = (lambda x: m(x, x, x)[0]) if isinstance(m, ember.nn.MultiheadAttention) else m
    from ember.export.program import Program, capture
    eager = fn(x)
    eager = eager[0] if isinstance(eager, tuple) else eager
    eager.sum().backward()
    expected = {k: p.grad.numpy().copy() for k, p in m.named_parameters()}
    m.zero_grad()
    graph, state, in_spec, _ = capture(fn, (x,), module=m)
    out = Program(graph, state, in_spec)(x)
    out = out[0] if isinstance(out, tuple) else out
    np.testing.assert_allclose(out.detach().numpy(), eager.detach().numpy(), atol=1e-12)
    out.sum().backward()
    for k, p in m.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), expected[k], atol=1e-10, err_msg=k)


def test_replayed_graph_is_differentiable_twice():
    fn = lambda a: (a ** 3).sum()  # noqa: E731
    from ember.export.program import Program, capture
    x = t(3)
    graph, state, spec, _ = capture(fn, (x,))
    y = x.detach().clone().requires_grad_()
    (g,) = ember.autograd.grad(Program(graph, state, spec)(y), y, create_graph=True)
    (gg,) = ember.autograd.grad(g.sum(), y)
    np.testing.assert_allclose(gg.numpy(), 6 * x.numpy())


def test_promotion_cast_is_recorded():
    graph = assert_replay_matches(lambda a, i: a * i, [t(3), ember.tensor([1, 2, 3])])
    casts = [n for n in graph.nodes if n.op == "call_function" and n.meta["_prim"].node_name == "ToCopyBackward0"]
    assert len(casts) == 1 and casts[0].kwargs["dtype"] is ember.float64


def test_rnn_backward_side_channels_replay():
    """nn.RNN passes its recurrent weight (a tensor) and a list filled after the op to its
    primitives' backward: the graph holds both and the replayed gradients match."""
    ember.manual_seed(0)
    m = ember.nn.RNN(3, 4, num_layers=2).double()
    x = t(5, 2, 3)
    from ember.export.program import Program, capture
    eager = m(x)[0]
    eager.sum().backward()
    expected = {k: p.grad.numpy().copy() for k, p in m.named_parameters()}
    m.zero_grad()
    graph, state, spec, _ = capture(m, (x,), module=m)
    assert "late[" in graph.code
    out = Program(graph, state, spec)(x)[0]
    out.sum().backward()
    for k, p in m.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), expected[k], atol=1e-10, err_msg=k)


def test_noncontiguous_inputs_keep_their_layout_in_capture():
    """Ops choose a view or a copy by the input's layout: capture must see the caller's layout."""
    from ember.export.program import Program, capture
    base = t(4, 3)
    x = base.t()  # (3, 4), not contiguous: reshape must copy

    def f(a):
        return a.reshape(12) * 2

    graph, state, spec, _ = capture(f, (x,))
    got = Program(graph, state, spec)(x)
    np.testing.assert_array_equal(got.numpy(), f(x).numpy())
    y = x.detach().requires_grad_()
    Program(graph, state, spec)(y).sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), np.full((3, 4), 2.0))
