"""The fused exact GELU (ember/ops/activation_kernels.py) against torch."""
import numpy as np
import pytest
import scipy.special
import torch

import ember
from tests.oracle import check, check_layouts, gradcheck, rand


def gelu(lib, x):
    return lib.nn.functional.gelu(x)


@pytest.mark.parametrize("shape", [(), (0, 3), (7,), (4, 5), (2, 3, 65)])
def test_gelu_matches_torch(shape):
    check(gelu, rand(*shape, low=-6, high=6))


def test_gelu_layouts_and_float64():
    check_layouts(gelu, rand(5, 6, low=-4, high=4))
    check(gelu, rand(3, 4, dtype=np.float64, low=-8, high=8))


def test_gelu_gradcheck_and_gradgradcheck():
    gradcheck(gelu, rand(3, 4, dtype=np.float64, low=-3, high=3))


def test_gelu_double_backward_matches_torch():
    def second(lib, x):
        (g,) = lib.autograd.grad(lib.nn.functional.gelu(x).sum(), x, create_graph=True)
        return g
    check(second, rand(4, 5, dtype=np.float64, low=-4, high=4))


def test_gelu_node_names():
    x = ember.tensor([0.5, -1.0], requires_grad=True)
    y = ember.nn.functional.gelu(x)
    assert y.grad_fn.name() == "GeluBackward0"
    (g,) = ember.autograd.grad(y.sum(), x, create_graph=True)
    assert g.grad_fn.name() == "GeluBackwardBackward0"


def test_gelu_tail_relative_accuracy():
    """Far negative tail: GELU is tiny but must keep float32 relative accuracy (not round to 0)."""
    x = np.linspace(-10, 10, 200_001).astype(np.float32)
    got = ember.nn.functional.gelu(ember.tensor(x)).numpy().astype(np.float64)
    ref = x.astype(np.float64) * scipy.special.ndtr(x.astype(np.float64))
    keep = ref != 0
    assert np.max(np.abs(got[keep] - ref[keep]) / np.abs(ref[keep])) < 4e-7


def test_gelu_half_precision():
    x = rand(6, low=-3, high=3)
    for e_dt, t_dt in ((ember.float16, torch.float16), (ember.bfloat16, torch.bfloat16)):
        got = ember.nn.functional.gelu(ember.tensor(x).to(e_dt))
        want = torch.nn.functional.gelu(torch.tensor(x).to(t_dt))
        assert got.dtype == e_dt
        np.testing.assert_allclose(got.float().numpy(), want.float().numpy(), rtol=1e-2, atol=1e-3)


def test_gelu_integer_error():
    with pytest.raises(NotImplementedError, match="\"GeluKernelImpl\" not implemented for 'Long'"):
        ember.nn.functional.gelu(ember.tensor([1, 2]))


def test_gelu_large_and_transposed():
    """A large array and a transposed one give float32-accurate values."""
    x = rand(700, 400, low=-9, high=9)
    for arr in (x, x.T):
        got = ember.nn.functional.gelu(ember.tensor(arr)).numpy()
        ref = arr.astype(np.float64) * scipy.special.ndtr(arr.astype(np.float64))
        np.testing.assert_allclose(got, ref, rtol=4e-7, atol=1e-30)
