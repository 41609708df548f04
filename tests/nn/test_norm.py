"""Normalisation layers and their functional forms against torch."""
import numpy as np
import pytest
import torch

import ember
from tests.oracle import assert_same, check, check_layouts, gradcheck, rand


def _pair(name, *args, **kwargs):
    t = getattr(torch.nn, name)(*args, **kwargs)
    e = getattr(ember.nn, name)(*args, **kwargs)
    with torch.no_grad():
        for p in t.parameters():
            p.copy_(torch.tensor(rand(*p.shape, seed=p.numel())))
    e.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    return e, t


def _compare(e, t, x, seed=0):
    ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ey, ty = e(ex), t(tx)
    assert_same(ey, ty, atol=1e-4)
    up = rand(*ty.shape, seed=seed)
    (ey * ember.tensor(up)).sum().backward()
    (ty * torch.tensor(up)).sum().backward()
    assert_same(ex.grad, tx.grad, atol=1e-4, what="input grad")
    for (name, ep), (_, tp) in zip(e.named_parameters(), t.named_parameters()):
        assert_same(ep.grad, tp.grad, atol=1e-4, what=name)
    for (name, eb), (_, tb) in zip(e.named_buffers(), t.named_buffers()):
        assert_same(eb, tb, what=name)


@pytest.mark.parametrize("kwargs", [{}, {"bias": False}, {"elementwise_affine": False}, {"eps": 1e-3}])
@pytest.mark.parametrize("shape,norm", [((4, 6), 6), ((2, 3, 4), (3, 4))])
def test_layer_norm_module(kwargs, shape, norm):
    e, t = _pair("LayerNorm", norm, **kwargs)
    assert repr(e) == repr(t) and list(e.state_dict()) == list(t.state_dict())
    _compare(e, t, rand(*shape, seed=1))


@pytest.mark.parametrize("kwargs", [{}, {"affine": False}, {"bias": False}])
@pytest.mark.parametrize("shape", [(3, 4), (2, 4, 5), (2, 4, 3, 3)])
def test_group_norm_module(kwargs, shape):
    e, t = _pair("GroupNorm", 2, 4, **kwargs)
    assert repr(e) == repr(t) and list(e.state_dict()) == list(t.state_dict())
    _compare(e, t, rand(*shape, seed=2))


@pytest.mark.parametrize("kwargs", [{}, {"eps": 1e-3}, {"elementwise_affine": False}])
def test_rms_norm_module(kwargs):
    e, t = _pair("RMSNorm", [3, 4], **kwargs)
    assert repr(e) == repr(t)
    _compare(e, t, rand(2, 3, 4, seed=3))


@pytest.mark.parametrize("size", [1, 2, 3, 4])
def test_local_response_norm(size):
    e, t = _pair("LocalResponseNorm", size, alpha=0.1)
    assert repr(e) == repr(t)
    _compare(e, t, rand(2, 5, 3, 3, seed=4))
    _compare(e, t, rand(2, 5, 4, seed=5))


def test_functional_forms():
    check_layouts(lambda lib, x, w: lib.nn.functional.rms_norm(x, [4], w), rand(3, 4, seed=6), rand(4, seed=7))
    check(lambda lib, x: lib.nn.functional.rms_norm(x, [4], eps=1e-2), rand(3, 4, seed=8))
    for p, dim in [(2.0, 1), (1.0, 0), (3.0, -1)]:
        check_layouts(lambda lib, x: lib.nn.functional.normalize(x, p, dim), rand(3, 4, seed=9))
    check(lambda lib, x: lib.nn.functional.normalize(x), np.zeros((2, 3), np.float32))
    check(lambda lib, x, w, b: lib.nn.functional.layer_norm(x, (4,), w, b), rand(3, 4, seed=10),
          rand(4, seed=11), rand(4, seed=12))
    check(lambda lib, x, w, b: lib.nn.functional.group_norm(x, 3, w, b), rand(2, 6, 2, seed=13),
          rand(6, seed=14), rand(6, seed=15))


def test_gradchecks():
    gradcheck(lambda lib, x, w: lib.nn.functional.rms_norm(x, [3], w), rand(2, 3, seed=16), rand(3, seed=17))
    gradcheck(lambda lib, x: lib.nn.functional.normalize(x, dim=1), rand(2, 3, seed=18))
    gradcheck(lambda lib, x: lib.nn.functional.local_response_norm(x, 2, alpha=0.5), rand(1, 3, 2, seed=19))


def test_norm_errors():
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match=r"Given normalized_shape=\[5\], expected input with shape \[\*, 5\]"):
            lib.nn.LayerNorm(5)(lib.ones(3, 4))
        with pytest.raises(ValueError, match=r"num_channels \(4\) must be divisible by num_groups \(3\)"):
            lib.nn.GroupNorm(3, 4)
        with pytest.raises(ValueError, match=r"Expected 3D or higher dimensionality\s+input \(got 2 dimensions\)"):
            lib.nn.functional.local_response_norm(lib.ones(3, 4), 2)
