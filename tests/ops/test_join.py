"""cat/stack/hstack/vstack/dstack, split/chunk/tensor_split/unbind, narrow/select against torch."""
import numpy as np
import pytest
import torch

import ember
from oracle import check, check_layouts, gradcheck, rand

A, B, C = rand(2, 3), rand(2, 4, seed=1), rand(2, 3, seed=2)


# cat --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["cat", "concat", "concatenate"])
def test_cat_names_and_node(name):
    out = check(lambda m, x, y: getattr(m, name)([x, y], 1), A, B)
    assert out.grad_fn.name() == "CatBackward0"
    check(lambda m, x, y: getattr(m, name)((x, y), dim=-1), A, B)


@pytest.mark.parametrize("dim", [0, 1, 2, -1, -3])
def test_cat_dims_and_layouts(dim):
    x, y, z = rand(2, 3, 4), rand(2, 3, 4, seed=1), rand(2, 3, 4, seed=2)
    check_layouts(lambda m, a, b, c: m.cat([a, b, c], dim), x, y, z)


def test_cat_one_input_and_empty_pieces():
    check(lambda m, x: m.cat([x], 1), A)
    check(lambda m, x, y: m.cat([x, y], 0), rand(0, 3), A)
    check(lambda m, x, y: m.cat([x, y], 1), rand(2, 0), A)
    check(lambda m, x, y: m.cat([x, y, x], 0), rand(0), rand(0, seed=1))


def test_cat_skips_legacy_empty_vectors():
    check(lambda m, x, y: m.cat([x, y, x], 1), A, rand(0))
    check(lambda m, x, y: m.cat([y, x], 0), A, rand(0))


def test_cat_large():
    check(lambda m, x, y: m.cat([x, y], 0), rand(300, 40), rand(200, 40, seed=1))


@pytest.mark.parametrize("dtypes", [(np.float32, np.float64), (np.int32, np.bool_), (np.uint8, np.int8),
                                    (np.int64, np.float32), (np.bool_, np.bool_), (np.int16, np.int16)])
def test_cat_promotes(dtypes):
    x, y = rand(2, 3, dtype=dtypes[0], low=0, high=3), rand(2, 2, dtype=dtypes[1], low=-1, high=3, seed=1)
    check(lambda m, a, b: m.cat([a, b], 1), x, y)
    check(lambda m, a, b: m.stack([a[:, :2], b], 0), x, y)


def test_cat_gradient_only_to_inputs_that_need_it():
    x = ember.tensor(A, requires_grad=True)
    y = ember.tensor(B)
    ember.cat([x, y], 1).sum().backward()
    assert y.grad is None and np.array_equal(x.grad.numpy(), np.ones((2, 3), np.float32))
    check(lambda m, a, b: m.cat([a, b.detach()], 1), A, B)  # the second input is a constant


def test_cat_gradcheck():
    gradcheck(lambda m, x, y: m.cat([x, y, x], 1), A, B)
    gradcheck(lambda m, x, y: m.cat([x * y, y], 0), A, C)


@pytest.mark.parametrize("tensors,dim,err,match", [
    ([], 0, ValueError, r"expected a non-empty list of Tensors"),
    ([np.float32(1)], 0, RuntimeError, r"zero-dimensional tensor \(at position 0\) cannot be concatenated"),
    ([A, rand(2, 3, 1)], 0, RuntimeError, r"Tensors must have same number of dimensions: got 2 and 3"),
    ([A, rand(3, 3)], 1, RuntimeError, r"Sizes of tensors must match except in dimension 1. Expected size 2 "
                                       r"but got size 3 for tensor number 1 in the list."),
    ([A, A], 2, IndexError, r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)"),
])
def test_cat_errors(tensors, dim, err, match):
    for lib in (ember, torch):
        ts = [lib.tensor(np.asarray(t)) for t in tensors]
        with pytest.raises(err, match=match):
            lib.cat(ts, dim)


def test_cat_needs_a_list():
    with pytest.raises(TypeError):
        ember.cat(ember.tensor(A))


# stack and friends ----------------------------------------------------------------------------

@pytest.mark.parametrize("dim", [0, 1, 2, -1, -3])
def test_stack(dim):
    out = check(lambda m, x, y: m.stack([x, y, x], dim), A, C)
    assert out.grad_fn.name() == "StackBackward0"
    check_layouts(lambda m, x, y: m.stack((x, y), dim), A, C)


def test_stack_0d_empty_and_gradcheck():
    check(lambda m, x, y: m.stack([x, y]), rand(), rand(seed=1))
    check(lambda m, x, y: m.stack([x, y], 1), rand(0, 2), rand(0, 2, seed=1))
    gradcheck(lambda m, x, y: m.stack([x, y], 1), A, C)


@pytest.mark.parametrize("tensors,dim,match", [
    ([], 0, r"stack expects a non-empty TensorList"),
    ([A, B], 0, r"stack expects each tensor to be equal size, but got \[2, 3\] at entry 0 and \[2, 4\] at entry 1"),
])
def test_stack_errors(tensors, dim, match):
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match=match):
            lib.stack([lib.tensor(t) for t in tensors], dim)
    for lib in (ember, torch):
        with pytest.raises(IndexError, match=r"expected to be in range of \[-3, 2\], but got 3"):
            lib.stack([lib.tensor(A)] * 2, 3)


@pytest.mark.parametrize("name,shapes", [
    (name, shapes) for name in ("hstack", "vstack", "dstack", "row_stack")
    for shapes in (((), ()), ((3,), (3,)), ((2, 3), (2, 3)), ((2, 3, 2), (2, 3, 2)))
] + [("hstack", ((2, 3), (2, 1))), ("vstack", ((1, 3), (3,))), ("dstack", ((2, 3, 2), (2, 3, 1)))])
def test_hstack_vstack_dstack(name, shapes):
    x, y = rand(*shapes[0]), rand(*shapes[1], seed=1)
    out = check(lambda m, a, b: getattr(m, name)([a, b]), x, y)
    assert out.grad_fn.name() == "CatBackward0"


def test_stack_like_errors():
    for lib in (ember, torch):
        for name in ("hstack", "vstack", "dstack"):
            with pytest.raises(RuntimeError, match=f"{name} expects a non-empty TensorList"):
                getattr(lib, name)([])


# split / chunk / tensor_split / unbind ----------------------------------------------------------

X = rand(4, 6)


@pytest.mark.parametrize("size,dim,node", [(2, 1, "SplitBackward0"), (4, 1, "SplitBackward0"),
                                           (3, 0, "SplitBackward0"), (10, -1, "SplitBackward0"),
                                           ([2, 4], 1, "SplitWithSizesBackward0"),
                                           ([1, 0, 3], 0, "SplitWithSizesBackward0")])
def test_split(size, dim, node):
    out = check(lambda m, x: m.split(x, size, dim), X)
    assert all(p.grad_fn.name() == node for p in out)
    check_layouts(lambda m, x: x.split(size, dim), X)


def test_split_uses_only_some_pieces():
    """Unused pieces get zero gradient."""
    check(lambda m, x: x.split(2, 1)[1] * 3, X)
    check(lambda m, x: x.split([1, 3], 0)[0].exp() + x.split([1, 3], 0)[0], X)
    check(lambda m, x: x.chunk(3, 1)[2], X)


def test_split_pieces_are_views():
    for lib in (ember, torch):
        x = lib.zeros(4, 6)
        a, b = x.split(3, 1)
        b[0, 0] = 7.0
        assert x[0, 3].item() == 7.0 and a._base is x and b._version == x._version


def test_split_empty_and_0d_dims():
    check(lambda m, x: x.split(2, 0), rand(0, 3), grad=False)
    check(lambda m, x: x.split(0, 0), rand(0, 3), grad=False)
    check(lambda m, x: x.chunk(2, 0), rand(0, 3), grad=False)


@pytest.mark.parametrize("size,match", [
    (0, r"split_size can only be 0 if dimension size is 0, but got dimension size of 6"),
    (-1, r"split expects split_size be non-negative, but got split_size=-1"),
    ([1, 1], r"split_with_sizes expects split_sizes to sum exactly to 6 \(input tensor's size at dimension 1\), "
             r"but got split_sizes=\[1, 1\]"),
])
def test_split_errors(size, match):
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match=match):
            lib.tensor(X).split(size, 1)


@pytest.mark.parametrize("n,chunks", [(6, 3), (6, 4), (5, 4), (7, 3), (1, 5), (3, 3)])
def test_chunk(n, chunks):
    out = check(lambda m, x: m.chunk(x, chunks), rand(n, 2))
    assert all(p.grad_fn.name() == "SplitBackward0" for p in out)
    check(lambda m, x: x.chunk(chunks, dim=-1), rand(2, n))


def test_chunk_errors():
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match=r"chunk expects `chunks` to be greater than 0, got: 0"):
            lib.tensor(X).chunk(0)


@pytest.mark.parametrize("arg", [3, 4, 7, 1, [1, 5, 9], [2, 2], [-3, 5], (0,), "tensor", "tensor0d"])
def test_tensor_split(arg):
    def fn(m, x):
        a = m.tensor([2, 5]) if arg == "tensor" else m.tensor(3) if arg == "tensor0d" else arg
        return x.tensor_split(a, dim=1)
    out = check(fn, rand(2, 7))
    assert all(p.grad_fn.name() == "SliceBackward0" for p in out)
    check(lambda m, x: m.tensor_split(x, 3), rand(7))


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_unbind(dim):
    out = check(lambda m, x: m.unbind(x, dim), rand(3, 4, 2))
    assert all(p.grad_fn.name() == "UnbindBackward0" for p in out)
    check_layouts(lambda m, x: x.unbind(dim), rand(3, 4))
    check(lambda m, x: x.unbind(dim)[1] * 2, rand(3, 4, 2))


def test_unbind_iter_and_views():
    check(lambda m, x: [r * (i + 1) for i, r in enumerate(x)], rand(3, 2))
    x = ember.zeros(2, 3)
    x.unbind(1)[2][1] = 5.0
    assert x[1, 2].item() == 5.0
    for lib in (ember, torch):
        with pytest.raises(IndexError, match="Dimension specified as 0 but tensor has no dimensions"):
            lib.tensor(1.0).unbind(0)


def test_split_family_gradcheck():
    x = rand(4, 5)
    gradcheck(lambda m, t: t.split(2, 1)[0] * t.split(2, 1)[2].sum(), x)
    gradcheck(lambda m, t: t.split([1, 3], 0)[1], x)
    gradcheck(lambda m, t: t.chunk(2, 0)[1].exp(), x)
    gradcheck(lambda m, t: t.unbind(1)[3] * t.unbind(1)[0], x)
    gradcheck(lambda m, t: t.tensor_split(3, 1)[2], x)


# narrow / select -----------------------------------------------------------------------------

@pytest.mark.parametrize("dim,start,length", [(1, 1, 2), (0, 0, 4), (1, -2, 2), (-1, 5, 1), (1, 6, 0)])
def test_narrow(dim, start, length):
    out = check(lambda m, x: m.narrow(x, dim, start, length), X)
    assert out.grad_fn.name() == "SliceBackward0"
    check_layouts(lambda m, x: x.narrow(dim, start, length), X)
    check(lambda m, x: x.narrow(dim, m.tensor(start), length), X)


@pytest.mark.parametrize("dim,index", [(1, 2), (0, -1), (-1, 5), (0, 0)])
def test_select(dim, index):
    out = check(lambda m, x: m.select(x, dim, index), X)
    assert out.grad_fn.name() == "SelectBackward0"
    check_layouts(lambda m, x: x.select(dim, index), X)


def test_narrow_select_are_views_and_gradcheck():
    for lib in (ember, torch):
        x = lib.zeros(4, 6)
        v = x.narrow(1, 2, 3)
        v.select(0, 1).fill_(2.0)
        assert x[1, 2:5].sum().item() == 6.0 and v._version == x._version
    gradcheck(lambda m, t: t.narrow(1, 1, 3) * t.select(0, 2).narrow(0, 0, 3), rand(3, 4))


@pytest.mark.parametrize("call,err,match", [
    (lambda x: x.narrow(1, 4, 3), RuntimeError, r"start \(4\) \+ length \(3\) exceeds dimension size \(6\)."),
    (lambda x: x.narrow(1, 7, 0), IndexError, r"start out of range \(expected to be in range of \[-6, 6\], but got 7\)"),
    (lambda x: x.narrow(1, 1, -1), RuntimeError, r"narrow\(\): length must be non-negative."),
    (lambda x: x.select(1, 6), IndexError, r"select\(\): index 6 out of range for tensor of size \[4, 6\] at dimension 1"),
    (lambda x: x.select(0, -5), IndexError, r"select\(\): index -5 out of range for tensor of size \[4, 6\] at dimension 0"),
    (lambda x: x.select(2, 0), IndexError, r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)"),
    (lambda x: x[0, 0].select(0, 0), IndexError, r"select\(\) cannot be applied to a 0-dim tensor."),
    (lambda x: x[0, 0].narrow(0, 0, 1), RuntimeError, r"narrow\(\) cannot be applied to a 0-dim tensor."),
])
def test_narrow_select_errors(call, err, match):
    for lib in (ember, torch):
        with pytest.raises(err, match=match):
            call(lib.tensor(X))
