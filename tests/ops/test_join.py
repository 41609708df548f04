"""cat/stack and friends, split/chunk/tensor_split/unbind, narrow/select against torch."""
import numpy as np
import pytest
import torch

import ember
from oracle import check, check_layouts, gradcheck, rand

A, B, C = rand(2, 3), rand(2, 3, seed=1), rand(2, 5, seed=2)
V = rand(4, seed=3)

JOIN = [
    ("cat0", lambda m, a, b, c: m.cat([a, b]), "CatBackward0"),
    ("cat1", lambda m, a, b, c: m.cat((a, b, c), 1), "CatBackward0"),
    ("cat_neg", lambda m, a, b, c: m.concat([a, c], dim=-1), "CatBackward0"),
    ("concatenate", lambda m, a, b, c: m.concatenate([c, a], -1), "CatBackward0"),
    ("cat_one", lambda m, a, b, c: m.cat([a]), "CatBackward0"),
    ("cat_legacy_empty", lambda m, a, b, c: m.cat([a, m.zeros(0), b]), "CatBackward0"),
    ("cat_empty_piece", lambda m, a, b, c: m.cat([a, c[:, :0], b], 1), "CatBackward0"),
    ("stack0", lambda m, a, b, c: m.stack([a, b]), "StackBackward0"),
    ("stack_last", lambda m, a, b, c: m.stack((a, b, a), -1), "StackBackward0"),
    ("hstack", lambda m, a, b, c: m.hstack([a, c]), "CatBackward0"),
    ("hstack_vec", lambda m, a, b, c: m.hstack([a[0], c[1]]), "CatBackward0"),
    ("vstack", lambda m, a, b, c: m.vstack([a, b[0]]), "CatBackward0"),
    ("row_stack", lambda m, a, b, c: m.row_stack([a[1], b[0]]), "CatBackward0"),
    ("dstack", lambda m, a, b, c: m.dstack([a, b]), "CatBackward0"),
]


@pytest.mark.parametrize("name,fn,node", JOIN, ids=[r[0] for r in JOIN])
def test_join(name, fn, node):
    out = check_layouts(fn, A, B, C) or check(fn, A, B, C)
    assert out.grad_fn.name() == node


@pytest.mark.parametrize("fn", [lambda m, a, b: m.cat([a, b], 1), lambda m, a, b: m.stack([a, b], 1),
                                lambda m, a, b: m.hstack([a, b]), lambda m, a, b: m.dstack([a, b])])
def test_join_gradcheck(fn):
    gradcheck(fn, A, B)


@pytest.mark.parametrize("da,db", [(np.int32, np.float32), (np.int64, np.bool_), (np.float32, np.float64),
                                   (np.bool_, np.bool_), (np.int32, np.int64)])
@pytest.mark.parametrize("op", ["cat", "stack"])
def test_join_promotes(da, db, op):
    check(lambda m, a, b: getattr(m, op)([a, b]), rand(2, 3, dtype=da), rand(2, 3, dtype=db, seed=1))


def test_cat_large_and_many():
    parts = [rand(7, 33, seed=i) for i in range(10)]
    check(lambda m, *xs: m.cat(xs, 1).sum(0), *parts)


@pytest.mark.parametrize("fn,exc", [
    (lambda m: m.cat([m.zeros(2, 2), m.zeros(3, 3)], 1), RuntimeError),
    (lambda m: m.cat([m.zeros(2, 2), m.zeros(2)]), RuntimeError),
    (lambda m: m.cat([]), ValueError),
    (lambda m: m.cat([m.zeros(2, 2)], 2), IndexError),
    (lambda m: m.cat([m.zeros(()), m.zeros(2)]), RuntimeError),
    (lambda m: m.cat(m.zeros(2)), TypeError),
    (lambda m: m.stack([m.zeros(2, 2), m.zeros(3, 3)]), RuntimeError),
    (lambda m: m.stack([]), RuntimeError),
    (lambda m: m.stack([m.zeros(2)], 2), IndexError),
    (lambda m: m.hstack([]), RuntimeError),
    (lambda m: m.zeros(2, 2).split(0), RuntimeError),
    (lambda m: m.zeros(2, 2).split(-1), RuntimeError),
    (lambda m: m.zeros(2, 2).split([1, 2], 1), RuntimeError),
    (lambda m: m.zeros(2, 2).chunk(0), RuntimeError),
    (lambda m: m.zeros(2, 2).tensor_split(0), RuntimeError),
    (lambda m: m.zeros(()).unbind(), IndexError),
    (lambda m: m.zeros(2, 2).narrow(0, 5, 1), IndexError),
    (lambda m: m.zeros(2, 2).narrow(0, 1, 2), RuntimeError),
    (lambda m: m.zeros(2, 2).narrow(0, 0, -1), RuntimeError),
    (lambda m: m.zeros(2, 2).narrow(3, 0, 1), IndexError),
    (lambda m: m.zeros(2, 2).select(0, 5), IndexError),
    (lambda m: m.zeros(2, 2).select(2, 0), IndexError),
])
def test_errors(fn, exc):
    with pytest.raises(exc) as t_err:
        fn(torch)
    with pytest.raises(exc) as e_err:
        fn(ember)
    assert str(e_err.value) == str(t_err.value)


# splitting ----------------------------------------------------------------------------------

X = rand(5, 6, seed=4)
SPLITS = [
    ("split_int", lambda m, x: x.split(2), "SplitBackward0"),
    ("split_int_dim", lambda m, x: m.split(x, 4, dim=1), "SplitBackward0"),
    ("split_big", lambda m, x: x.split(10), "SplitBackward0"),
    ("split_list", lambda m, x: x.split([1, 0, 4], 0), "SplitWithSizesBackward0"),
    ("split_list_dim", lambda m, x: m.split(x, [2, 4], -1), "SplitWithSizesBackward0"),
    ("chunk", lambda m, x: x.chunk(2), "SplitBackward0"),
    ("chunk_more", lambda m, x: m.chunk(x, 4, 1), "SplitBackward0"),
    ("chunk_uneven", lambda m, x: x.chunk(3, 0), "SplitBackward0"),
    ("unbind", lambda m, x: x.unbind(), "UnbindBackward0"),
    ("unbind_dim", lambda m, x: m.unbind(x, -1), "UnbindBackward0"),
    ("tensor_split_n", lambda m, x: x.tensor_split(4), "SliceBackward0"),
    ("tensor_split_idx", lambda m, x: m.tensor_split(x, [1, 4, 4, 9], dim=1), "SliceBackward0"),
    ("tensor_split_neg", lambda m, x: x.tensor_split([-2]), "SliceBackward0"),
    ("narrow", lambda m, x: x.narrow(1, 2, 3), "SliceBackward0"),
    ("narrow_neg", lambda m, x: m.narrow(x, 0, -2, 2), "SliceBackward0"),
    ("narrow_tensor_start", lambda m, x: x.narrow(0, m.tensor(1), 2), "SliceBackward0"),
    ("select", lambda m, x: x.select(1, 2), "SelectBackward0"),
    ("select_neg", lambda m, x: m.select(x, 0, -1), "SelectBackward0"),
]


@pytest.mark.parametrize("name,fn,node", SPLITS, ids=[r[0] for r in SPLITS])
def test_split_all_outputs(name, fn, node):
    out = check_layouts(fn, X) or check(fn, X)
    first = out[0] if isinstance(out, tuple) else out
    assert first.grad_fn.name() == node


@pytest.mark.parametrize("name,fn,node", [r for r in SPLITS if r[0] in ("split_int", "split_list", "chunk", "unbind")])
def test_gradient_flows_from_used_pieces_only(name, fn, node):
    check(lambda m, x: fn(m, x)[1] * 2, X)
    check(lambda m, x: fn(m, x)[-1].exp(), X)


@pytest.mark.parametrize("fn", [lambda m, x: x.split(2)[1], lambda m, x: x.split([1, 3], 1)[0],
                                lambda m, x: x.unbind(1)[2], lambda m, x: x.chunk(2)[0],
                                lambda m, x: m.stack(x.unbind(1)[::-1]), lambda m, x: x.narrow(1, 1, 2),
                                lambda m, x: x.select(0, 1)])
def test_split_gradcheck(fn):
    gradcheck(fn, rand(3, 4, seed=5))


def test_pieces_are_views():
    for m in (ember, torch):
        x = m.zeros(4, 3)
        a, b = x.split(2)
        u = x.unbind(1)
        b[0, 0] = 1.0
        u[2][3] = 2.0
        x.narrow(1, 1, 1)[0, 0] = 3.0
        x.select(0, 1)[2] = 4.0
        assert x[2, 0].item() == 1.0 and x[3, 2].item() == 2.0 and x[0, 1].item() == 3.0 and x[1, 2].item() == 4.0
        assert b._version == x._version == u[0]._version


def test_iteration_unbinds():
    e = ember.tensor(X, requires_grad=True)
    rows = list(e)
    assert len(rows) == 5 and rows[0].grad_fn.name() == "UnbindBackward0"
    sum(r.sum() * i for i, r in enumerate(rows)).backward()
    np.testing.assert_allclose(e.grad.numpy(), np.repeat(np.arange(5.0), 6).reshape(5, 6))


def test_zero_dim_and_empty():
    check(lambda m, x: x.split(1), rand(0, 3))
    check(lambda m, x: x.unbind(1), rand(0, 3))
    check(lambda m, x: m.stack([x, x]), rand())
    check(lambda m, x: m.cat([x, x], 1), rand(0, 3))
    check(lambda m, v: m.stack(v.unbind()), V)


def test_legacy_empty_vectors_empty_dims_and_0d_errors():
    """cat skips (0,)-shaped inputs but still gives them a gradient; chunk/split of an empty dim; 0-d errors."""
    check(lambda m, x, e: m.cat([x, e, x], 1), rand(2, 3), rand(0))
    check(lambda m, e, f: m.cat([e, f]), rand(0), rand(0, seed=1))
    check(lambda m, x: x.chunk(3, 0), rand(0, 2), grad=False)
    check(lambda m, x: x.split(2, 0), rand(0, 2), grad=False)
    for lib in (ember, torch):
        with pytest.raises(IndexError, match=r"select\(\) cannot be applied to a 0-dim tensor."):
            lib.tensor(1.0).select(0, 0)
        with pytest.raises(RuntimeError, match=r"narrow\(\) cannot be applied to a 0-dim tensor."):
            lib.tensor(1.0).narrow(0, 0, 1)
