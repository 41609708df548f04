"""The fused norm primitives (ember.layer_norm, ember.group_norm, ember.batch_norm) against torch."""
import numpy as np
import pytest
import torch

import ember
from tests.oracle import check, check_layouts, gradcheck, rand

LAYER = [((3, 5), (5,)), ((2, 3, 4), (4,)), ((2, 3, 4), (3, 4)), ((4,), (4,)), ((0, 3), (3,)), ((2, 1), (1,))]


@pytest.mark.parametrize("shape,norm_shape", LAYER)
@pytest.mark.parametrize("affine", ["both", "weight", "none"])
def test_layer_norm(shape, norm_shape, affine):
    x = rand(*shape, seed=1)
    w, b = rand(*norm_shape, seed=2), rand(*norm_shape, seed=3)
    if affine == "both":
        check(lambda lib, x, w, b: lib.layer_norm(x, norm_shape, w, b), x, w, b)
    elif affine == "weight":
        check(lambda lib, x, w: lib.layer_norm(x, list(norm_shape), w, None, 1e-3), x, w)
    else:
        check(lambda lib, x: lib.layer_norm(x, norm_shape), x)


def test_layer_norm_layouts_and_large():
    check_layouts(lambda lib, x, w, b: lib.layer_norm(x, [6], w, b), rand(4, 6, seed=4), rand(6, seed=5),
                  rand(6, seed=6))
    check(lambda lib, x, w: lib.layer_norm(x, [256], w), rand(64, 256, seed=7) * 50 + 3, rand(256, seed=8),
          atol=1e-4)


@pytest.mark.parametrize("shape,groups", [((2, 4, 5), 2), ((3, 6), 3), ((2, 4, 3, 3), 4), ((2, 4, 2, 2), 1)])
def test_group_norm(shape, groups):
    c = shape[1]
    check(lambda lib, x, w, b: lib.group_norm(x, groups, w, b), rand(*shape, seed=9), rand(c, seed=10),
          rand(c, seed=11))
    check(lambda lib, x: lib.group_norm(x, groups, None, None, 1e-2), rand(*shape, seed=12))
    check_layouts(lambda lib, x: lib.group_norm(x, groups), rand(*shape, seed=13))


@pytest.mark.parametrize("shape", [(4, 3), (3, 2, 5), (2, 3, 2, 2), (2, 2, 2, 2, 2)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm(shape, training):
    c = shape[1]

    def fn(lib, x, w, b):
        rm = lib.tensor(rand(c, seed=14)).to(x.dtype)
        rv = lib.tensor(rand(c, seed=15, low=0.5, high=2.0)).to(x.dtype)
        out = lib.batch_norm(x, w, b, rm, rv, training, 0.3, 1e-5, False)
        return out, rm, rv
    check(fn, rand(*shape, seed=16), rand(c, seed=17), rand(c, seed=18))
    check_layouts(lambda lib, x: lib.batch_norm(x, None, None, None, None, True, 0.1, 1e-5, False),
                  rand(*shape, seed=19))


def test_node_names():
    x = torch.randn(2, 4, 3, requires_grad=True)
    e = ember.tensor(x.detach().numpy(), requires_grad=True)
    for name, fn in [("NativeLayerNormBackward0", lambda lib, x: lib.layer_norm(x, [3])),
                     ("NativeGroupNormBackward0", lambda lib, x: lib.group_norm(x, 2)),
                     ("NativeBatchNormBackward0", lambda lib, x: lib.batch_norm(x, None, None, None, None, True,
                                                                               0.1, 1e-5, False))]:
        assert fn(ember, e).grad_fn.name() == fn(torch, x).grad_fn.name() == name


def test_gradcheck_layer_norm():
    gradcheck(lambda lib, x, w, b: lib.layer_norm(x, [3], w, b), rand(2, 3, seed=20), rand(3, seed=21),
              rand(3, seed=22))
    gradcheck(lambda lib, x: lib.layer_norm(x, [2, 2]), rand(2, 2, 2, seed=23))


def test_gradcheck_group_norm():
    gradcheck(lambda lib, x, w, b: lib.group_norm(x, 2, w, b), rand(2, 4, 2, seed=24), rand(4, seed=25),
              rand(4, seed=26))


@pytest.mark.parametrize("training", [True, False])
def test_gradcheck_batch_norm(training):
    rm, rv = ember.tensor(rand(3, seed=27)).double(), ember.tensor(rand(3, seed=28, low=0.5)).double()
    gradcheck(lambda lib, x, w, b: lib.batch_norm(x, w, b, rm.clone(), rv.clone(), training, 0.1, 1e-5, False),
              rand(4, 3, 2, seed=29), rand(3, seed=30), rand(3, seed=31))


def test_double_backward_matches_torch():
    x, w = rand(3, 4, seed=32).astype(np.float64), rand(4, seed=33).astype(np.float64)

    def fn(lib, x, w):
        y = lib.layer_norm(x, [4], w, None)
        (gx,) = lib.autograd.grad((y * y * y).sum(), x, create_graph=True)
        return gx
    check(fn, x, w)


def test_errors():
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match=r"Given normalized_shape=\[5\], expected input with shape \[\*, 5\], "
                                               r"but got input of size\[3, 4, 6\]"):
            lib.layer_norm(lib.ones(3, 4, 6), [5])
        with pytest.raises(RuntimeError, match=r"Expected weight to be of same shape as normalized_shape, but got "
                                               r"weight of shape \[4\] and normalized_shape = \[5\]"):
            lib.layer_norm(lib.ones(3, 4, 5), [5], lib.ones(4))
        with pytest.raises(RuntimeError, match=r"divisible by num_groups, but got input of shape \[3, 4, 5\] "
                                               r"and num_groups=3"):
            lib.group_norm(lib.ones(3, 4, 5), 3)
        with pytest.raises(RuntimeError, match=r"got weight of shape \[3\] and input of shape \[3, 4, 5\]"):
            lib.group_norm(lib.ones(3, 4, 5), 2, lib.ones(3))
        with pytest.raises(RuntimeError, match="running_mean should contain 4 elements not 3"):
            lib.batch_norm(lib.ones(2, 4), None, None, lib.zeros(3), lib.ones(3), True, 0.1, 1e-5, False)


def test_instance_and_rms_norm_top_level():
    def fn(lib, x, w):
        rm, rv = lib.zeros(3, dtype=x.dtype), lib.ones(3, dtype=x.dtype)
        return lib.instance_norm(x, w, None, rm, rv, True, 0.3, 1e-5, False), rm, rv
    check(fn, rand(2, 3, 4, seed=40), rand(3, seed=41))
    check(lambda lib, x, w: lib.rms_norm(x, [2, 3], w), rand(4, 2, 3, seed=42), rand(2, 3, seed=43))
    check(lambda lib, x: lib.rms_norm(x, (3,), eps=0.1), rand(4, 3, seed=44))
    with pytest.raises(RuntimeError, match=r"Given normalized_shape=\[4\], expected input with shape \[\*, 4\]"):
        ember.rms_norm(ember.ones(2, 3), [4])
