"""The LSTM/GRU sequence kernels (ember/ops/rnn_kernels.py) against the NumPy reference path and torch."""
import numpy as np
import pytest
import torch

import ember
from ember.backend import compiled, threads

pytest.importorskip("numba")


def _run(lib, mode, dtype, x, reverse, seed=0):
    """Outputs and every gradient of a one-layer (bidirectional when ``reverse``) LSTM or GRU."""
    lib.manual_seed(seed)
    layer = getattr(lib.nn, mode)(x.shape[-1], 13, bidirectional=reverse).to(getattr(lib, dtype))
    inp = lib.tensor(x, requires_grad=True)
    out, state = layer(inp)
    h = state[0] if mode == "LSTM" else state
    loss = (out * out).sum() + (h * 1.5).sum()
    loss.backward()
    return [out.detach().numpy(), inp.grad.numpy()] + [p.grad.numpy() for p in layer.parameters()]


@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reverse", [False, True])
def test_kernel_matches_numpy_reference(mode, dtype, reverse):
    x = np.random.default_rng(1).normal(size=(7, 3, 5)).astype(dtype) * 3  # odd sizes, large pre-activations
    fast = _run(ember, mode, dtype, x, reverse)
    with compiled.disabled():
        ref = _run(ember, mode, dtype, x, reverse)
    # the kernels' inline tanh and NumPy's differ by a few ulp, which the gradients' sums over steps carry:
    # within a float32 (float64) rounding of each array's largest value, as both are from the float64 truth
    tol = 1e-6 if dtype == "float32" else 1e-13
    for a, b in zip(fast, ref):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol * max(1.0, np.abs(b).max()))


@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_kernel_matches_torch(mode):
    x = np.random.default_rng(2).normal(size=(6, 4, 5))
    layer = getattr(ember.nn, mode)(5, 13).double()
    t_layer = getattr(torch.nn, mode)(5, 13).double()
    with torch.no_grad():
        for p, q in zip(t_layer.parameters(), layer.parameters()):
            p.copy_(torch.tensor(q.detach().numpy()))
    outs = []
    for lib, net in ((ember, layer), (torch, t_layer)):
        inp = lib.tensor(x, requires_grad=True)
        out = net(inp)[0]
        (out * out).sum().backward()
        outs.append([out.detach().numpy(), inp.grad.numpy()] + [p.grad.numpy() for p in net.parameters()])
    for a, b in zip(*outs):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_same_bits_for_one_and_two_threads(mode, monkeypatch):
    monkeypatch.setattr(compiled, "MIN_ELEMENTS_PER_THREAD", 1)  # split even this small step
    x = np.random.default_rng(3).normal(size=(5, 4, 6)).astype(np.float32)
    before = threads.get_num_threads()
    try:
        threads.set_num_threads(1)
        one = _run(ember, mode, "float32", x, False)
        threads.set_num_threads(2)
        two = _run(ember, mode, "float32", x, False)
    finally:
        threads.set_num_threads(before)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_gradcheck_through_the_kernels(mode):
    layer = getattr(ember.nn, mode)(3, 4).double()
    x = ember.tensor(np.random.default_rng(4).normal(size=(4, 2, 3)), requires_grad=True)
    assert ember.autograd.gradcheck(lambda x: layer(x)[0], (x,))
