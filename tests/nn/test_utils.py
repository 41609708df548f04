"""nn.utils gradient clipping and parameter/vector conversion against torch."""
import numpy as np
import pytest
import torch

import ember
from tests.oracle import assert_same, rand

SHAPES = [(3, 4), (5,), (2, 2, 2), ()]


def _params(lib, scale=1.0, dtypes=None):
    ps = []
    for i, s in enumerate(SHAPES):
        dtype = getattr(lib, dtypes[i]) if dtypes else lib.float32
        p = lib.nn.Parameter(lib.tensor(rand(*s, seed=i)).to(dtype))
        p.grad = lib.tensor(rand(*s, seed=10 + i) * scale).to(dtype)
        ps.append(p)
    ps.append(lib.nn.Parameter(lib.ones(2)))  # no grad: skipped
    return ps


@pytest.mark.parametrize("norm_type", [2.0, 1, 3.0, float("inf"), "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
@pytest.mark.parametrize("foreach", [None, True])
def test_clip_grad_norm(norm_type, max_norm, foreach):
    ep, tp = _params(ember), _params(torch)
    nt = float(norm_type)
    e_total = ember.nn.utils.clip_grad_norm_(ep, max_norm, norm_type=norm_type, foreach=foreach)
    t_total = torch.nn.utils.clip_grad_norm_(tp, max_norm, norm_type=nt)
    assert_same(e_total, t_total)
    for e, t in zip(ep, tp):
        if t.grad is not None:
            assert_same(e.grad, t.grad)


def test_clip_grad_norm_single_tensor_mixed_dtypes_and_empty():
    ep, tp = _params(ember, dtypes=["float64", "float32", "float32", "float64"]), \
        _params(torch, dtypes=["float64", "float32", "float32", "float64"])
    assert_same(ember.nn.utils.clip_grad_norm_(ep, 1.0), torch.nn.utils.clip_grad_norm_(tp, 1.0))
    assert_same(ember.nn.utils.clip_grad_norm_(ep[0], 0.1), torch.nn.utils.clip_grad_norm_(tp[0], 0.1))
    assert_same(ep[0].grad, tp[0].grad)
    assert_same(ember.nn.utils.clip_grad_norm_([ember.nn.Parameter(ember.ones(2))], 1.0),
                torch.nn.utils.clip_grad_norm_([torch.nn.Parameter(torch.ones(2))], 1.0))


def test_get_total_norm_and_clip_with_norm():
    ep, tp = _params(ember), _params(torch)
    e_total = ember.nn.utils.get_total_norm([p.grad for p in ep if p.grad is not None], 3.0)
    t_total = torch.nn.utils.get_total_norm([p.grad for p in tp if p.grad is not None], 3.0)
    assert_same(e_total, t_total)
    ember.nn.utils.clip_grads_with_norm_(ep, 0.3, e_total)
    torch.nn.utils.clip_grads_with_norm_(tp, 0.3, t_total)
    for e, t in zip(ep, tp):
        if t.grad is not None:
            assert_same(e.grad, t.grad)


def test_clip_grad_norm_nonfinite():
    for lib in (ember, torch):
        p = lib.nn.Parameter(lib.ones(2))
        p.grad = lib.tensor([float("inf"), 1.0])
        with pytest.raises(RuntimeError, match="The total norm of order 2.0 for gradients from `parameters` is "
                                               "non-finite"):
            lib.nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
        total = lib.nn.utils.clip_grad_norm_([p], 1.0)
        assert float(total) == float("inf")


def test_clip_grad_value():
    ep, tp = _params(ember, scale=3.0), _params(torch, scale=3.0)
    assert ember.nn.utils.clip_grad_value_(ep, 1.5) is None
    torch.nn.utils.clip_grad_value_(tp, 1.5)
    for e, t in zip(ep, tp):
        if t.grad is not None:
            assert_same(e.grad, t.grad)
    assert max(float(p.grad.abs().max()) for p in ep if p.grad is not None) == 1.5


def test_parameters_to_vector_roundtrip():
    ep, tp = _params(ember), _params(torch)
    ev, tv = ember.nn.utils.parameters_to_vector(ep), torch.nn.utils.parameters_to_vector(tp)
    assert_same(ev, tv)
    new = np.arange(ev.shape[0], dtype=np.float32)
    ember.nn.utils.vector_to_parameters(ember.tensor(new), ep)
    torch.nn.utils.vector_to_parameters(torch.tensor(new), tp)
    for e, t in zip(ep, tp):
        assert_same(e.detach(), t.detach())
        assert isinstance(e, ember.nn.Parameter) and e.requires_grad
    lin = ember.nn.Linear(3, 2)
    (ember.nn.utils.parameters_to_vector(lin.parameters()) ** 2).sum().backward()
    assert_same(lin.weight.grad, torch.tensor(2 * lin.weight.detach().cpu().numpy()))
    for lib in (ember, torch):
        with pytest.raises(TypeError, match="expected torch.Tensor, but got: list"):
            lib.nn.utils.vector_to_parameters([1.0], [])
