"""Compiled graphs against eager ember: values and gradients on many graphs, and the fallbacks."""
import numpy as np
import pytest

import ember
from ember.backend import compiled
from ember.compiler.inductor import compile_graph
from ember.export.program import capture

F = ember.nn.functional
rng = np.random.default_rng(0)


def _t(*shape, dtype=np.float32, grad=True, low=-1.0):
    a = (rng.random(shape) * (1 - low) + low).astype(dtype)
    return ember.tensor(a, requires_grad=grad)


def _flat(value):
    if isinstance(value, ember.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _flat(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _flat(v)]
    return []


def check(fn, *inputs, module=None, rtol=1e-5, atol=1e-6):
    """fn's outputs and input/parameter gradients, compiled against eager."""
    graph, state, _, _ = capture(fn, inputs, module=module, differentiable=True, mirror_inputs=True)
    compiled = compile_graph(graph, state, list(inputs))
    leaves = [t for t in inputs if t.requires_grad] + (list(module.parameters()) if module is not None else [])
    results = []
    for run in (fn, compiled):
        for t in leaves:
            t.grad = None
        out = run(*inputs)
        tensors = _flat(out)
        loss = sum((t.float() * (k + 1.5)).sum() for k, t in enumerate(tensors) if t.requires_grad)
        if isinstance(loss, ember.Tensor):
            loss.backward()
        results.append(([t.detach().numpy().copy() for t in tensors],
                         [None if t.grad is None else t.grad.numpy().copy() for t in leaves]))
    (eo, eg), (co, cg) = results
    assert len(eo) == len(co)
    for a, b in zip(eo, co):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(b, a, rtol=rtol, atol=atol)
    for a, b in zip(eg, cg):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(b, a, rtol=rtol, atol=atol)
    return compiled


def kernels(compiled):
    return sum(p.kernels for p in compiled.plans.values())


def test_elementwise_chain_with_broadcasting_is_one_kernel():
    x, b, s = _t(5, 7), _t(7), _t(5, 1)
    c = check(lambda x, b, s: ((x * 2 + b).exp().tanh() * s).sigmoid() - 0.5, x, b, s)
    assert kernels(c) == 2  # one forward and one backward kernel


def test_nan_propagates_like_numpy():
    x = ember.tensor([1.0, float("nan"), -2.0, 3.0])
    y = ember.tensor([float("nan"), 0.5, -1.0, 2.0])
    check(lambda x, y: (x.relu() * 1, ember.maximum(x * 1, y), ember.minimum(x * 1, y), (x * 2) ** 2), x, y)


def test_non_contiguous_and_0d_inputs():
    x = _t(6, 4).detach().t().requires_grad_()
    check(lambda x, y: (x * y + x.relu()).cos(), x, _t())


def test_reductions_over_last_dim_fuse():
    x = _t(4, 9)
    c = check(lambda x: ((x * x).sum(-1), (x.exp() + 1).mean(-1, keepdim=True)), x)
    assert kernels(c) == 4
    check(lambda x: (x * 3 - 1).amax(-1), _t(3, 5, grad=False))


@pytest.mark.parametrize("cols", [1, 255, 256, 257, 1000])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_sums_in_chunks_cover_every_column(cols, dtype):
    """Float sums add 256-column chunks of the fused values (so the loop vectorises): the last, partial
    chunk, a row shorter than one chunk and exactly one chunk must all count."""
    x = _t(3, cols, dtype=dtype)
    check(lambda x: ((x * 2 + 1).sum(-1), (x - 0.5).mean(-1)), x, rtol=1e-5 if dtype == np.float32 else 1e-12)


def test_softmax_style_chain():
    x = _t(3, 8)
    check(lambda x: (x - x.amax(-1, keepdim=True).detach()).exp() / (x - 1).exp().sum(-1, keepdim=True), x)


def test_matmul_conv_layer_norm_softmax():
    x, w = _t(2, 3, 6, 6), _t(4, 3, 3, 3)
    check(lambda x, w: F.softmax(F.layer_norm(F.conv2d(x, w, padding=1).relu(), (6,)), -1), x, w, rtol=1e-4,
          atol=1e-5)
    check(lambda a, b: (a @ b).tanh() + a.sum(), _t(3, 4), _t(4, 5), rtol=1e-4, atol=1e-5)


def test_module_parameters_are_read_live():
    m = ember.nn.Linear(4, 3)
    x = _t(2, 4, grad=False)
    graph, state, _, _ = capture(m, (x,), module=m, differentiable=True, mirror_inputs=True)
    c = compile_graph(graph, state, [x])
    with ember.no_grad():
        m.weight.mul_(2)
    np.testing.assert_allclose(c(x).detach().numpy(), m(x).detach().numpy(), rtol=1e-6)
    check(lambda x: (m(x) * 2).relu(), x, module=m)


def test_multiple_outputs_and_outputs_that_are_inputs():
    x, y = _t(3, 4), _t(3, 4)
    out = check(lambda x, y: {"a": x * y, "b": [x + y, x], "c": (x * y).exp()}, x, y)
    res = out(x, y)
    assert res["b"][1] is x


def test_int_and_bool_dtypes_and_scalars():
    i = ember.tensor(rng.integers(-5, 5, (4, 3)))
    x = _t(4, 3)
    check(lambda i, x: ((i * 2 + 1) > 0, (i + 3) * x, ember.where(x > 0, x, 0.5 * x), (i % 3 == 0).logical_not()),
          i, x)


def test_float64_gradcheck_through_compiled():
    x, b = _t(3, 4, dtype=np.float64), _t(4, dtype=np.float64)

    def f(x, b):
        return ((x * b).sin() + x.exp() / (1 + b * b)).sum(-1)
    graph, state, _, _ = capture(f, (x, b), differentiable=True, mirror_inputs=True)
    c = compile_graph(graph, state, [x, b])
    assert ember.autograd.gradcheck(c, (x, b))


def test_dropout_draws_anew_in_training_and_is_identity_in_eval():
    m = ember.nn.Dropout(0.5)
    x = _t(400, grad=False) + 2
    graph, state, _, _ = capture(m, (x,), module=m, differentiable=True, mirror_inputs=True)
    c = compile_graph(graph, state, [x])
    a, b = c(x).numpy(), c(x).numpy()
    assert not np.array_equal(a, b)
    for out in (a, b):
        kept = out != 0
        assert 0.4 < kept.mean() < 0.6
        np.testing.assert_allclose(out[kept], 2 * x.numpy()[kept], rtol=1e-6)
    x.requires_grad_()
    out = c(x)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), (out.detach().numpy() != 0) * 2.0)
    m.eval()
    graph, state, _, _ = capture(m, (x,), module=m, differentiable=True, mirror_inputs=True)
    np.testing.assert_array_equal(compile_graph(graph, state, [x])(x).detach().numpy(), x.detach().numpy())


def test_no_grad_and_inputs_unlike_the_examples_fall_back():
    x = _t(3, 4)
    graph, state, _, _ = capture(lambda x: (x * 2).exp() + 1, (x,), differentiable=True, mirror_inputs=True)
    c = compile_graph(graph, state, [x])
    with ember.no_grad():
        y = c(x)
    assert not y.requires_grad
    np.testing.assert_allclose(y.numpy(), ((x * 2).exp() + 1).detach().numpy(), rtol=1e-6)
    bigger = _t(5, 4)
    np.testing.assert_allclose(c(bigger).detach().numpy(), ((bigger * 2).exp() + 1).detach().numpy(), rtol=1e-6)


def test_float16_ops_run_unfused_and_agree():
    x = _t(3, 4, dtype=np.float16)
    c = check(lambda x: (x * 2 + 1).exp() @ x.t(), x, rtol=1e-3, atol=1e-3)
    assert c.reason is None and kernels(c) == 0


def test_kernels_against_the_reference_path():
    x, b = _t(6, 5), _t(5)

    def f(x, b):
        return ((x - b).exp() * 0.5 + x.sigmoid()).sum(-1)
    graph, state, _, _ = capture(f, (x, b), differentiable=True, mirror_inputs=True)
    c = compile_graph(graph, state, [x, b])
    fused = c(x, b)
    with compiled.disabled():
        reference = c(x, b)
    assert fused.grad_fn.name() == "CompiledFunctionBackward" and reference.grad_fn.name() == "SumBackward1"
    np.testing.assert_allclose(fused.detach().numpy(), reference.detach().numpy(), rtol=1e-6)


def test_backward_twice_needs_retain_graph():
    x = _t(3)
    graph, state, _, _ = capture(lambda x: (x * x).exp(), (x,), differentiable=True, mirror_inputs=True)
    y = compile_graph(graph, state, [x])(x).sum()
    y.backward(retain_graph=False)
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def _double_backward(run, x, params):
    """A gradient penalty: d/d(x, params) of |d out / d x|^2, through ``run``."""
    out = run(x)
    (gx,) = ember.autograd.grad(out.sum(), x, create_graph=True)
    return ember.autograd.grad((gx * gx).sum(), [x, *params])


def test_double_backward_replays_the_graph_through_the_dispatcher():
    """A second derivative cannot come from the generated array code: the compiled node replays its graph
    through the dispatcher on the call's inputs and differentiates that, as eager mode would."""
    net = ember.nn.Sequential(ember.nn.Linear(4, 5), ember.nn.Tanh(), ember.nn.Linear(5, 2))
    x = _t(3, 4)
    fn = lambda x: (net(x) * x[:, :2]).exp()  # noqa: E731
    graph, state, _, _ = capture(fn, (x,), module=net, differentiable=True, mirror_inputs=True)
    fast = compile_graph(graph, state, [x])
    assert fast(x).grad_fn.name() == "CompiledFunctionBackward"
    got = _double_backward(fast, x, list(net.parameters()))
    want = _double_backward(fn, x, list(net.parameters()))
    for a, b in zip(got, want):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


def test_double_backward_through_several_outputs_in_a_structure():
    """Outputs of an op that returns several tensors, inside a dict: the replay finds each one."""
    x = _t(4, 6)
    fn = lambda x: {"parts": (x * x).exp().chunk(2, dim=1), "s": x.sin()}  # noqa: E731
    graph, state, _, _ = capture(fn, (x,), differentiable=True, mirror_inputs=True)
    fast = compile_graph(graph, state, [x])

    def penalty(run):
        out = run(x)
        a, b = out["parts"]
        (gx,) = ember.autograd.grad((a * 2).sum() + (b * 3).sum() + out["s"].sum(), x, create_graph=True)
        return ember.autograd.grad((gx * gx).sum(), x)[0].numpy()
    np.testing.assert_allclose(penalty(fast), penalty(fn), rtol=1e-5, atol=1e-6)


def test_double_backward_replays_the_same_random_numbers():
    x = _t(64, 8)
    fn = lambda x: F.dropout(x * x, 0.5, training=True).sin()  # noqa: E731
    graph, state, _, _ = capture(fn, (x,), differentiable=True, mirror_inputs=True)
    fast = compile_graph(graph, state, [x])
    results = []
    for run in (fast, fn):
        ember.manual_seed(7)
        results.append(_double_backward(run, x, [])[0].numpy())
    assert (results[0] == 0).mean() > 0.3  # the mask reached the second derivative
    np.testing.assert_allclose(results[0], results[1], rtol=1e-5, atol=1e-6)


def test_double_backward_refuses_a_parameter_changed_in_place():
    lin = ember.nn.Linear(3, 3)
    x = _t(2, 3)
    graph, state, _, _ = capture(lambda x: lin(x).tanh(), (x,), module=lin, differentiable=True, mirror_inputs=True)
    y = compile_graph(graph, state, [x])(x).sum()
    with ember.no_grad():
        lin.weight.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        ember.autograd.grad(y, x, create_graph=True)


def test_ops_handing_tensors_to_their_backward_run_through_the_dispatcher():
    rnn = ember.nn.RNN(3, 4)
    x = _t(5, 2, 3)
    c = check(lambda x: rnn(x)[0].tanh(), x, module=rnn, rtol=1e-5, atol=1e-6)
    assert "passes tensors to its backward" in c.reason


def _one_row(x, s):
    return ((x * s).exp() - x).tanh().sum()  # a single row of heavy work: its sum runs alone


SPLIT_CASES = {  # each splits over the threads (fusion.ELEMENTS_PER_THREAD)
    "rows": (lambda x, b: ((x * b).exp() - x).tanh().sum(-1), lambda: (_t(6000, 300), _t(300))),
    "one long row": (_one_row, lambda: (_t(1 << 18), _t())),
}


@pytest.mark.parametrize("case", sorted(SPLIT_CASES))
def test_split_kernels_give_the_same_bits_for_any_thread_count(case):
    f, make = SPLIT_CASES[case]
    x, b = make()
    c = check(f, x, b, rtol=1e-5, atol=1e-5)
    assert any("_parallel(" in plan.forward.source for plan in c.plans.values())
    before = ember.get_num_threads()
    try:
        results = []
        for n in (1, 2, 3):
            ember.set_num_threads(n)
            x.grad = None
            out = c(x, b)
            out.sum().backward()
            results.append((out.detach().numpy().copy(), x.grad.numpy().copy()))
    finally:
        ember.set_num_threads(before)
    for out, grad in results[1:]:
        np.testing.assert_array_equal(out, results[0][0])
        np.testing.assert_array_equal(grad, results[0][1])
