"""Memory: saved tensors are freed once their node ran, the graph holds no reference
cycles, and a training loop keeps the number of live tensors and the memory flat."""
import gc
import weakref

import numpy as np
import pytest

import ember


@pytest.fixture
def no_gc():
    """Run with the cycle collector off: whatever dies here dies by reference counting."""
    gc.collect()
    gc.disable()
    yield
    gc.enable()


def test_saved_intermediate_freed_after_backward(no_gc):
    x = ember.tensor([0.5, 1.0, 2.0], requires_grad=True)
    h = x * 2
    loss = h.sin().sum()  # SinBackward0 saves h
    ref = weakref.ref(h)
    del h
    assert ref() is not None  # kept alive for the backward
    loss.backward()
    assert ref() is None


def test_retain_graph_keeps_saved_tensors_until_last_backward(no_gc):
    x = ember.tensor([0.5, 1.0], requires_grad=True)
    h = x * 2
    loss = h.sin().sum()
    ref = weakref.ref(h)
    del h
    loss.backward(retain_graph=True)
    assert ref() is not None
    loss.backward()
    assert ref() is None


def test_graph_dies_with_its_output(no_gc):
    x = ember.tensor([0.5, 1.0], requires_grad=True)
    y = (x.exp() * x).tanh()  # exp and tanh save their outputs
    refs = [weakref.ref(y), weakref.ref(y.grad_fn), weakref.ref(y.grad_fn.next_functions[0][0])]
    del y
    assert all(r() is None for r in refs)


def test_custom_function_saving_output_makes_no_cycle(no_gc):
    class Exp(ember.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            y = a.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return g * y

    x = ember.tensor([1.0], requires_grad=True)
    y = Exp.apply(x)
    refs = [weakref.ref(y), weakref.ref(y.grad_fn)]
    del y
    assert all(r() is None for r in refs)


def test_in_place_on_view_makes_no_cycle(no_gc):
    x = ember.tensor(np.ones((3, 4)), requires_grad=True)
    y = x.clone()
    y[0].mul_(2)
    y[:, 1].add_(1)
    refs = [weakref.ref(y), weakref.ref(y.grad_fn)]
    (y * y).sum().backward()
    del y
    assert all(r() is None for r in refs)


def _mlp_step(params, xb, yb, lr=0.05):
    w1, b1, w2, b2 = params
    h = (xb @ w1 + b1).relu()
    loss = ((h @ w2 + b2 - yb) ** 2).mean()
    loss.backward()
    with ember.no_grad():
        for p in params:
            p.sub_(p.grad * lr)
            p.grad = None
    return loss.item()


def _live_tensors():
    return sum(1 for o in gc.get_objects() if isinstance(o, ember.Tensor))


def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


@pytest.mark.filterwarnings("ignore::FutureWarning")  # gc.get_objects touches torch's deprecated names
def test_training_loop_keeps_tensor_count_and_memory_flat():
    rng = np.random.default_rng(0)
    xb = ember.tensor(rng.standard_normal((32, 8)).astype(np.float32))
    yb = ember.tensor(rng.standard_normal((32, 1)).astype(np.float32))
    params = [ember.tensor(rng.standard_normal(s).astype(np.float32) * 0.3, requires_grad=True)
              for s in [(8, 64), (64,), (64, 1), (1,)]]
    losses = [_mlp_step(params, xb, yb) for _ in range(20)]
    gc.collect()
    tensors, rss = _live_tensors(), _rss_bytes()
    gc.disable()  # nothing may depend on the cycle collector
    try:
        losses += [_mlp_step(params, xb, yb) for _ in range(200)]
        assert _live_tensors() == tensors
    finally:
        gc.enable()
    assert _rss_bytes() - rss < 8 * 2**20
    assert losses[-1] < losses[0]


def test_no_ember_objects_in_cycles():
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        x = ember.tensor([0.5, 1.0, 2.0], requires_grad=True)
        h = x * 2
        h.retain_grad()
        h.register_hook(lambda g: g * 1)
        y = (h.exp() * h[1:2]).sum()
        (g,) = ember.autograd.grad(y, x, create_graph=True)
        g.sum().backward()
        del x, h, y, g
        gc.collect()
        leaked = [o for o in gc.garbage if type(o).__module__.startswith("ember")]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert leaked == []


def test_no_grad_forward_keeps_no_intermediates():
    """A forward run without recording stashes into a scratch ctx; nothing may stay there afterwards
    (the fused LSTM stashes its gate activations, megabytes for a long sequence)."""
    from ember.ops.dispatch import _NO_CTX

    lstm = ember.nn.LSTM(8, 16)
    with ember.no_grad():
        lstm(ember.randn(30, 4, 8))
    assert vars(_NO_CTX) == {}
    ember.ones(3).sum(0)  # a reduction that stashes its count while it runs
    assert vars(_NO_CTX) == {}
