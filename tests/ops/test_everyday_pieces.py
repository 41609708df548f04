"""Pieces a new user's first program meets: index_put_, arrays as operands, pin_memory."""
import numpy as np
import pytest
import torch

import ember
from oracle import assert_same


@pytest.mark.parametrize("accumulate", [False, True])
@pytest.mark.parametrize("shape, make_idx, values", [
    ((3, 4), lambda lib: (lib.tensor([0, 0, 2]), lib.tensor([1, 1, 3])), [1.0, 2.0, 3.0]),
    ((3, 4), lambda lib: (lib.tensor([2, 0]),), [[1.0, 2.0, 3.0, 4.0]]),
    ((3, 4), lambda lib: (lib.tensor([1]),), 7.0),
    ((3, 3, 4), lambda lib: (lib.tensor([1, 0]), lib.tensor([[2], [0]])), [5.0, 6.0, 7.0, 8.0]),
    ((4,), lambda lib: (lib.tensor([True, False, True, False]),), [1.0, 2.0]),
])
def test_index_put_matches_torch_with_gradients(shape, make_idx, values, accumulate):
    base = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    outs = []
    for lib in (ember, torch):
        x = lib.tensor(base, requires_grad=True)
        v = lib.tensor(values, requires_grad=True)
        y = x.index_put(make_idx(lib), v, accumulate=accumulate)
        z = x.detach().clone().index_put_(make_idx(lib), v.detach(), accumulate=accumulate)
        (y * lib.arange(y.numel(), dtype=y.dtype).reshape(y.shape)).sum().backward()
        outs.append((y, z, x.grad, v.grad))
    for e, t in zip(*outs):
        assert_same(e, t)


def test_index_put_errors_like_torch():
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="Index put requires the source and destination dtypes match, got "
                                               "Float for the destination and Double for the source"):
            lib.zeros(2).index_put_((lib.tensor([0]),), lib.tensor([1.0], dtype=lib.float64))
        with pytest.raises(IndexError):
            lib.zeros(2).index_put_((lib.tensor([5]),), lib.tensor([1.0]))
        with pytest.raises(TypeError):
            lib.zeros(2).index_put_([0], lib.tensor([1.0]))


@pytest.mark.parametrize("code", [
    "lib.ones(2) + np.ones(2)", "lib.ones(2, 3) * np.arange(3.0)", "lib.ones(2) - np.ones((3, 1))",
    "lib.arange(4) + np.arange(4)", "lib.ones(2, dtype=lib.float64) / np.full(2, 4.0)",
    "lib.ones(2) + np.ones(2, np.float32)",
])
def test_tensor_with_array_operand(code):
    e = eval(code, {"lib": ember, "np": np})
    t = eval(code, {"lib": torch, "np": np})
    assert_same(e, t)


def test_array_operand_keeps_gradients_and_reflects():
    x = ember.ones(3, requires_grad=True)
    (x * np.array([1.0, 2.0, 3.0], np.float32)).sum().backward()
    assert x.grad.tolist() == [1.0, 2.0, 3.0]
    r = np.ones(3, np.float32) + ember.ones(3)
    assert isinstance(r, ember.Tensor) and r.tolist() == [2.0, 2.0, 2.0]
    with pytest.raises(TypeError):
        ember.ones(2) + np.array(["a", "b"])


def test_pinning_without_a_gpu_raises_as_torch_does(no_cuda):
    x = ember.arange(4.0)
    assert x.is_pinned() is torch.ones(1).is_pinned() is False
    with pytest.raises(RuntimeError, match="Cannot access accelerator device"):
        torch.ones(1).pin_memory()
    with pytest.raises(RuntimeError, match="Cannot access accelerator device"):
        x.pin_memory()


