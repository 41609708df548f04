"""vmap itself against torch.func.vmap: in_dims/out_dims (pytrees, None, negative), nesting,
chunk_size, randomness modes, in-place ops and the errors PyTorch raises."""
import numpy as np
import pytest
import torch

import ember
from ember.func import vmap

from func.helpers import close, close_tree, pair

RNG = np.random.default_rng(1)


def test_in_dims_out_dims_and_pytrees():
    (ex, tx), (ey, ty) = pair(RNG.standard_normal((3, 4))), pair(RNG.standard_normal((2, 4, 3)))

    def f(d, s):
        return {"sum": d["a"] + d["b"].sum(0), "scaled": d["a"] * s}, d["a"].norm()
    got = vmap(f, in_dims=({"a": 0, "b": -1}, None), out_dims=({"sum": 1, "scaled": 0}, 0))({"a": ex, "b": ey}, 2.0)
    want = torch.func.vmap(f, in_dims=({"a": 0, "b": -1}, None), out_dims=({"sum": 1, "scaled": 0}, 0))(
        {"a": tx, "b": ty}, 2.0)
    close_tree(got, want, atol=1e-12, rtol=1e-12)


def test_unbatched_outputs_are_broadcast_and_out_dims_none_passes_them_through():
    (ex, tx), (ey, ty) = pair(RNG.standard_normal((3, 4))), pair(RNG.standard_normal(4))
    got = vmap(lambda x, y: (x * 2, y), in_dims=(0, None), out_dims=(0, None))(ex, ey)
    close_tree(got, torch.func.vmap(lambda x, y: (x * 2, y), in_dims=(0, None), out_dims=(0, None))(tx, ty))
    close(vmap(lambda x, y: y, in_dims=(0, None))(ex, ey), torch.func.vmap(lambda x, y: y, in_dims=(0, None))(tx, ty))


def test_nested_vmap_is_an_outer_product_of_batches():
    (ex, tx), (ey, ty) = pair(RNG.standard_normal((3, 5))), pair(RNG.standard_normal((4, 5)))
    got = vmap(vmap(ember.dot, in_dims=(None, 0)), in_dims=(0, None))(ex, ey)
    close(got, torch.func.vmap(torch.func.vmap(torch.dot, in_dims=(None, 0)), in_dims=(0, None))(tx, ty), atol=1e-12)
    close(got, ex @ ey.T, atol=1e-12)
    # both levels batched on the same tensor, through several rule families
    (ez, tz) = pair(RNG.standard_normal((2, 3, 4, 5)))

    def g(z):
        return (z.softmax(-1) @ z.transpose(0, 1)).cumsum(0).amax(1) + z.mean()
    close(vmap(vmap(g, in_dims=1), in_dims=0)(ez), torch.func.vmap(torch.func.vmap(g, in_dims=1), in_dims=0)(tz),
          atol=1e-12)


@pytest.mark.parametrize("chunk_size", [1, 2, 5])
def test_chunk_size_gives_the_same_result(chunk_size):
    ex, tx = pair(RNG.standard_normal((5, 3)))
    got = vmap(lambda x: (x.sin(), x.sum()), chunk_size=chunk_size, out_dims=(1, 0))(ex)
    close_tree(got, torch.func.vmap(lambda x: (x.sin(), x.sum()), out_dims=(1, 0))(tx), atol=1e-12)


def test_top_level_vmap_is_the_same_transform():
    assert ember.vmap is vmap


def test_convolution_with_per_sample_weights_folds_into_groups():
    (ex, tx), (ew, tw), (eb, tb) = (pair(RNG.standard_normal((3, 2, 2, 6, 6))), pair(RNG.standard_normal((3, 4, 2, 3, 3))),
                                    pair(RNG.standard_normal((3, 4))))
    f_e = lambda x, w, b: ember.nn.functional.conv2d(x, w, b, padding=1)  # noqa: E731
    f_t = lambda x, w, b: torch.nn.functional.conv2d(x, w, b, padding=1)  # noqa: E731
    close(vmap(f_e)(ex, ew, eb), torch.func.vmap(f_t)(tx, tw, tb), atol=1e-10)
    close(vmap(f_e, in_dims=(None, 0, None))(ex[0], ew, eb[0]), torch.func.vmap(f_t, in_dims=(None, 0, None))(tx[0], tw, tb[0]),
          atol=1e-10)


def test_batched_index_tensors():
    (ew, tw), (ei, ti) = pair(RNG.standard_normal((7, 3))), pair(RNG.integers(0, 7, (4, 2)))
    close(vmap(lambda i: ew[i])(ei), torch.func.vmap(lambda i: tw[i])(ti))
    close(vmap(lambda i: ember.nn.functional.embedding(i, ew))(ei),
          torch.func.vmap(lambda i: torch.nn.functional.embedding(i, tw))(ti))


def test_inplace_into_a_batched_tensor_writes_every_sample():
    ex, tx = pair(RNG.standard_normal((3, 4)))
    ey, ty = pair(RNG.standard_normal(4))

    def f(x, y):
        z = x.clone()
        z.mul_(y).add_(1.0)
        z[0] = 5.0
        return z
    close(vmap(f, in_dims=(0, None))(ex, ey), torch.func.vmap(f, in_dims=(0, None))(tx, ty))


def test_inplace_into_an_unbatched_tensor_from_a_batched_one_raises():
    ex, _ = pair(RNG.standard_normal((3, 2)))
    with pytest.raises(RuntimeError, match=r"output with shape \[2\] doesn't match the broadcast shape \[3, 2\]"):
        vmap(lambda x, y: y.add_(x), in_dims=(0, None))(ex, ember.zeros(2, dtype=ember.float64))


def test_randomness_modes():
    x = ember.zeros(4, 3)
    with pytest.raises(RuntimeError, match="vmap: called random operation while in randomness error mode"):
        vmap(lambda t: ember.nn.functional.dropout(t + 1, 0.5))(x)
    with pytest.raises(RuntimeError, match="randomness error mode"):
        vmap(lambda t: t.normal_())(x.clone())
    same = vmap(lambda t: ember.nn.functional.dropout(t + 1, 0.5), randomness="same")(ember.zeros(4, 50))
    assert all(ember.equal(same[0], same[i]) for i in range(4))
    diff = vmap(lambda t: ember.nn.functional.dropout(t + 1, 0.5), randomness="different")(ember.zeros(4, 50))
    assert not all(ember.equal(diff[0], diff[i]) for i in range(1, 4))
    assert set(np.unique(diff.numpy())) <= {0.0, 2.0}
    normal = vmap(lambda m: ember.normal(m, ember.ones(200)), randomness="same")(ember.arange(3.0)[:, None] * ember.ones(200))
    close(normal[1] - normal[0], np.ones(200), atol=1e-6)  # one draw, shifted by each sample's mean
    with pytest.raises(RuntimeError, match="Only allowed values for randomness"):
        vmap(lambda t: t, randomness="foo")
    with pytest.raises(RuntimeError, match="different inplace randomness on an unbatched tensor"):
        vmap(lambda t: ember.zeros(3).normal_() + t, randomness="different")(x)


def test_data_dependent_control_flow():
    x = ember.tensor([[1.0, -1.0], [2.0, -3.0]])
    assert ember.equal(vmap(lambda t: t * 2 if (t[0] > 0) else t)(x), x * 2)  # every sample takes the branch
    with pytest.raises(RuntimeError, match="data-dependent control flow"):
        vmap(lambda t: t * 2 if (t[0] > 1) else t)(x)
    with pytest.raises(RuntimeError, match=r"calling \.item\(\)"):
        vmap(lambda t: t.sum().item())(x)


@pytest.mark.parametrize("call, error, message", [
    (lambda: vmap(lambda x: x, in_dims=1)(ember.zeros(3)), ValueError,
     r"Got in_dim=1 for some input, but that input is a Tensor of dimensionality 1 so expected in_dim to satisfy "
     r"-1 <= in_dim < 1"),
    (lambda: vmap(lambda x, y: x + y)(ember.zeros(3), ember.zeros(4)), ValueError,
     r"Expected all tensors to have the same size in the mapped dimension, got sizes \[3, 4\] for the mapped dimension"),
    (lambda: vmap(lambda x: x, in_dims=(0, 0))(ember.zeros(3)), ValueError, "in_dims is not compatible with the structure"),
    (lambda: vmap(lambda x: x)(5.0), ValueError, "We cannot vmap over non-Tensor arguments"),
    (lambda: vmap(lambda: 1)(), ValueError, "got no inputs"),
    (lambda: vmap(lambda x: 5)(ember.zeros(3)), ValueError, "must only return Tensors"),
    (lambda: vmap(lambda x: x, out_dims=None)(ember.zeros(3)), ValueError, "can not return a BatchedTensor when out_dim is None"),
    (lambda: vmap(lambda x: x, in_dims="a")(ember.zeros(3)), ValueError, "expected `in_dims` to be int or a"),
    (lambda: vmap(lambda x: (x, x), out_dims=(0,))(ember.zeros(3)), ValueError, "out_dims is not compatible"),
    (lambda: vmap(lambda x: x, chunk_size=0)(ember.zeros(3)), ValueError, "chunk_size should be None or greater than 0"),
])
def test_errors_as_torch(call, error, message):
    with pytest.raises(error, match=message):
        call()
