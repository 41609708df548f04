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
    e.load_state_dict({k: ember.tensor(v.detach().cpu().numpy()) for k, v in t.state_dict().items()})
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


BN = [("BatchNorm1d", (4, 3)), ("BatchNorm1d", (4, 3, 5)), ("BatchNorm2d", (2, 3, 4, 4)),
      ("BatchNorm3d", (2, 3, 2, 3, 2))]


@pytest.mark.parametrize("name,shape", BN)
@pytest.mark.parametrize("kwargs", [{}, {"momentum": None}, {"affine": False}, {"bias": False},
                                    {"track_running_stats": False}, {"momentum": 0.5, "eps": 1e-3}])
def test_batch_norm_module_train_then_eval(name, shape, kwargs):
    e, t = _pair(name, 3, **kwargs)
    assert repr(e) == repr(t) and list(e.state_dict()) == list(t.state_dict())
    for step in range(3):
        _compare(e, t, rand(*shape, seed=20 + step) * (step + 1) + step, seed=step)
    if "num_batches_tracked" in dict(t.named_buffers()):
        assert int(e.num_batches_tracked) == 3 and e.num_batches_tracked.dtype == ember.int64
    e.eval()
    t.eval()
    _compare(e, t, rand(*shape, seed=30), seed=4)


@pytest.mark.parametrize("name,shape", [("InstanceNorm1d", (2, 3, 5)), ("InstanceNorm1d", (3, 5)),
                                        ("InstanceNorm2d", (2, 3, 4, 4)), ("InstanceNorm2d", (3, 4, 4)),
                                        ("InstanceNorm3d", (2, 3, 2, 2, 3))])
@pytest.mark.parametrize("kwargs", [{}, {"affine": True}, {"track_running_stats": True, "affine": True},
                                    {"track_running_stats": True, "momentum": 0.4}])
def test_instance_norm_module(name, shape, kwargs):
    e, t = _pair(name, 3, **kwargs)
    assert repr(e) == repr(t) and list(e.state_dict()) == list(t.state_dict())
    for step in range(2):
        _compare(e, t, rand(*shape, seed=40 + step) + step, seed=step)
    e.eval()
    t.eval()
    _compare(e, t, rand(*shape, seed=50), seed=5)


def test_batch_norm_non_contiguous_and_functional():
    def fn(lib, x, w, b):
        rm, rv = lib.zeros(4, dtype=x.dtype), lib.ones(4, dtype=x.dtype)
        out = lib.nn.functional.batch_norm(x, rm, rv, w, b, True, 0.2)
        return out, rm, rv
    check_layouts(fn, rand(3, 4, 4, seed=60), rand(4, seed=61), rand(4, seed=62))
    check(lambda lib, x: lib.nn.functional.instance_norm(x), rand(2, 3, 4, seed=63))
    gradcheck(lambda lib, x, w: lib.nn.functional.instance_norm(x, weight=w), rand(2, 2, 3, seed=64),
              rand(2, seed=65))


def test_batch_norm_errors():
    for lib in (ember, torch):
        with pytest.raises(ValueError, match=r"expected 4D input \(got 3D input\)"):
            lib.nn.BatchNorm2d(4)(lib.ones(2, 4, 3))
        with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
            lib.nn.BatchNorm1d(4)(lib.ones(2, 4, 3, 3))
        with pytest.raises(ValueError, match=r"expected 5D input \(got 4D input\)"):
            lib.nn.BatchNorm3d(4)(lib.ones(2, 4, 3, 3))
        with pytest.raises(ValueError, match=r"Expected more than 1 value per channel when training, "
                                             r"got input size \w+\.Size\(\[1, 4\]\)"):
            lib.nn.BatchNorm1d(4)(lib.ones(1, 4))
        with pytest.raises(ValueError, match=r"Expected more than 1 spatial element when training"):
            lib.nn.InstanceNorm1d(4)(lib.ones(2, 4, 1))
        with pytest.raises(ValueError, match=r"expected input's size at dim=1 to match num_features \(4\), but "
                                             r"got: 3\."):
            lib.nn.InstanceNorm1d(4, affine=True)(lib.ones(2, 3, 5))
        bn = lib.nn.BatchNorm1d(4).eval()
        assert bn(lib.ones(1, 4)).shape == (1, 4)


@pytest.mark.parametrize("norm", ["BatchNorm2d", "GroupNorm", "LayerNorm"])
def test_inplace_relu_after_norm_backpropagates(norm):
    """The norm saves its input and statistics, not its output, so ReLU(inplace=True) after it is fine (as in torch)."""
    args = {"BatchNorm2d": (4,), "GroupNorm": (2, 4), "LayerNorm": ([4, 3, 3],)}[norm]
    x = np.random.default_rng(0).standard_normal((2, 4, 3, 3)).astype(np.float32)
    grads = []
    for lib in (ember, torch):
        layer = getattr(lib.nn, norm)(*args)
        inp = lib.tensor(x, requires_grad=True)
        (lib.nn.ReLU(inplace=True)(layer(inp)) * lib.arange(72.0).reshape(2, 4, 3, 3)).sum().backward()
        grads.append(inp.grad.cpu().numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-4, atol=1e-5)


def test_empty_normalized_shape_is_refused_as_torch():
    for fn in ("layer_norm", "rms_norm"):
        for lib in (torch, ember):
            with pytest.raises(RuntimeError, match=r"Expected normalized_shape to be at least 1-dimensional, i\.e\., "
                                                   r"containing at least one element, but got normalized_shape = \[\]"):
                getattr(lib.nn.functional, fn)(lib.ones(2, 3), [])


def test_normalize_writes_out():
    x = rand(3, 4, seed=70)
    outs = {}
    for lib in (torch, ember):
        out = lib.empty(3, 4)
        assert lib.nn.functional.normalize(lib.tensor(x), dim=0, out=out) is out
        outs[lib.__name__] = out
        with pytest.raises(RuntimeError, match="functions with out=... arguments don't support automatic "
                                               "differentiation"):
            lib.nn.functional.normalize(lib.tensor(x, requires_grad=True), out=lib.empty(3, 4))
    assert_same(outs["ember"], outs["torch"])
