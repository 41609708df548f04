"""The examples from the seed article give torch's results."""
import numpy as np
import torch

import ember
from oracle import assert_same


def _both(fn):
    e_out, t_out = fn(ember), fn(torch)
    assert len(e_out) == len(t_out)
    for i, (e, t) in enumerate(zip(e_out, t_out)):
        if t is None:
            assert e is None, f"result {i}: torch gives None"
        else:
            assert_same(e, t, what=f"result {i}")


def test_linear_layer_gradients():
    rng = np.random.default_rng(0)
    xs, ws, bs = (rng.standard_normal(s).astype(np.float32) for s in [(4, 3), (3, 2), (2,)])

    def run(lib):
        x = lib.tensor(xs)
        w = lib.tensor(ws, requires_grad=True)
        b = lib.tensor(bs, requires_grad=True)
        y = x.mm(w) + b
        y.sum().backward()
        return [y, w.grad, b.grad, x.grad]
    _both(run)


def test_dynamic_control_flow():
    def run(lib):
        x = lib.tensor([0.5, 1.5, -1.0], requires_grad=True)
        y = x * 2
        steps = 0
        while y.sum() < 100:
            y = lib.relu(y ** 2 + 1)
            steps += 1
        y.sum().backward()
        return [y, x.grad, steps]
    _both(run)


def test_boolean_mask_indexing():
    def run(lib):
        x = lib.tensor([[1.0, 7.0, 3.0], [9.0, 5.5, 6.0]], requires_grad=True)
        picked = x[x > 5]
        (picked * picked).sum().backward()
        return [picked, x.grad]
    _both(run)


def test_in_place_add():
    def run(lib):
        x = lib.tensor([1.0, 2.0, 3.0])
        y = lib.tensor([10.0, 20.0, 30.0])
        out = x.add_(y)
        return [x, out is x]
    _both(run)


def test_from_numpy_shares_memory():
    for lib in (ember, torch):
        a = np.arange(4.0)
        t = lib.from_numpy(a)
        a[0] = 42.0
        t[1] = -1.0
        assert t.dtype == lib.float64
        assert t.tolist() == [42.0, -1.0, 2.0, 3.0]
        assert a.tolist() == [42.0, -1.0, 2.0, 3.0]
