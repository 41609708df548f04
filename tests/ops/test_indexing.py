"""x[key] and x[key] = value against torch: basic keys (views), advanced keys (copies),
masks, combinations, errors; autograd through both; take, put, masked_select, nonzero."""
import warnings

import numpy as np
import pytest
import torch

import ember
from oracle import check, check_layouts, gradcheck, rand

X = rand(3, 4, 5)

# keys as functions of the library, so tensors can be made in each
KEYS = [
    ("int", lambda m: 1, "SelectBackward0"),
    ("neg_int", lambda m: -1, "SelectBackward0"),
    ("two_ints", lambda m: (1, 2), "SelectBackward0"),
    ("three_ints", lambda m: (2, -1, 0), "SelectBackward0"),
    ("slice", lambda m: slice(1, None), "SliceBackward0"),
    ("slice_step", lambda m: (slice(None), slice(None, None, 2)), "SliceBackward0"),
    ("slice_neg", lambda m: (slice(-2, None), slice(-10, -1, 3)), "SliceBackward0"),
    ("slice_empty", lambda m: slice(5, 10), "SliceBackward0"),
    ("full_slice", lambda m: (slice(None), slice(None)), "AliasBackward0"),
    ("ellipsis", lambda m: Ellipsis, "AliasBackward0"),
    ("ellipsis_int", lambda m: (Ellipsis, 1), "SelectBackward0"),
    ("none", lambda m: None, "UnsqueezeBackward0"),
    ("none_mid", lambda m: (1, None, slice(1, 3)), "SliceBackward0"),
    ("int_none", lambda m: (1, None), "UnsqueezeBackward0"),
    ("mixed_basic", lambda m: (slice(1, 2), None, Ellipsis, 0), "SelectBackward0"),
    ("zero_d_tensor", lambda m: m.tensor(2), "SelectBackward0"),
    ("list", lambda m: [0, 2], "IndexBackward0"),
    ("list_repeat", lambda m: [2, 0, 2, 2], "IndexBackward0"),
    ("two_lists", lambda m: ([0, 2], [1, 3]), "IndexBackward0"),
    ("col_list", lambda m: (slice(None), [0, 2]), "IndexBackward0"),
    ("long_tensor", lambda m: m.tensor([[0, 1], [2, 2]]), "IndexBackward0"),
    ("int32_tensor", lambda m: (slice(None), m.tensor([3, -1], dtype=m.int32)), "IndexBackward0"),
    ("broadcast_idx", lambda m: (slice(None), m.tensor([[0], [1]]), m.tensor([1, 2, 4])), "IndexBackward0"),
    ("split_adv", lambda m: ([0, 1], slice(None), [0, 4]), "IndexBackward0"),
    ("int_and_list", lambda m: (1, [0, 3], slice(1, 4)), "IndexBackward0"),
    ("mask_1d", lambda m: m.tensor([True, False, True]), "IndexBackward0"),
    ("mask_full", lambda m: m.tensor(X > 0.5), "IndexBackward0"),
    ("mask_then_slice", lambda m: (m.tensor([True, False, True]), slice(1, None)), "IndexBackward0"),
    ("slice_then_mask", lambda m: (slice(None), m.tensor([True, False, False, True])), "IndexBackward0"),
    ("mask_2d", lambda m: m.tensor(X[..., 0] > 0), "IndexBackward0"),
    ("bool_list", lambda m: [True, False, True], "IndexBackward0"),
    ("true", lambda m: True, "IndexBackward0"),
    ("false", lambda m: False, "IndexBackward0"),
    ("empty_list", lambda m: [], "IndexBackward0"),
]


@pytest.mark.parametrize("name,key,node", KEYS, ids=[k[0] for k in KEYS])
def test_getitem(name, key, node):
    out = check(lambda m, x: x[key(m)], X)
    assert out.grad_fn.name() == node


@pytest.mark.parametrize("name,key,node", KEYS, ids=[k[0] for k in KEYS])
def test_getitem_layouts(name, key, node):
    if "mask_full" in name or "mask_2d" in name:
        return  # the mask's shape follows X, not the transposed layout
    check_layouts(lambda m, x: x[key(m)], X)


@pytest.mark.parametrize("name,key,node", KEYS, ids=[k[0] for k in KEYS])
def test_basic_views_share_memory_and_version(name, key, node):
    x = ember.zeros(3, 4, 5)
    y = x[key(ember)]
    is_view = node != "IndexBackward0"
    assert (y._base is x) == is_view
    if is_view and y.numel():
        y[(0,) * y.dim()] = 1.0
        assert x.sum().item() == 1.0 and x._version[0] == 1 and y._version is x._version


@pytest.mark.parametrize("key", [lambda m: (1, slice(None, None, 2)), lambda m: [2, 0, 2],
                                 lambda m: (m.tensor([[0], [2]]), slice(0, 2), [1, 0]),
                                 lambda m: m.tensor(X[:, :2, :2] > 0, dtype=m.bool)[..., 0]])
def test_getitem_gradcheck(key):
    gradcheck(lambda m, x: x[key(m)], X[:, :2, :2])


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_, np.float64, np.uint8])
def test_getitem_dtypes(dtype):
    x = rand(3, 4, dtype=dtype, low=0, high=9)
    check(lambda m, x: (x[1], x[:, ::2], x[[0, 0, 2]], x[x > 3] if dtype != np.bool_ else x[x]), x, grad=False)


def test_mask_indexing_like_the_docs():
    check(lambda m, x: x[x > 0.5], rand(50, seed=3))
    check(lambda m, x: x[x > 5], np.arange(10, dtype=np.float32))
    check(lambda m, x: x[m.tensor([True, False])], np.ones((2, 0), np.float32))


def test_getitem_zero_dim_and_large():
    check(lambda m, x: (x[None], x[...], x[()], x[True]), rand())
    big = rand(200, 300, seed=7)
    check(lambda m, x: x[::3, 7:][x[::3, 7:] > 1.0], big)


ERRORS = [
    lambda x: x[3], lambda x: x[0, 4], lambda x: x[-4], lambda x: x[0, 0, 0, 0], lambda x: x[[0, 3]],
    lambda x: x[None, 5],
    lambda x: x[x.new_tensor([True, False]).bool()], lambda x: x[:, x.new_tensor([True, False]).bool()],
    lambda x: x[x.new_tensor([1.0])], lambda x: x[1.5], lambda x: x[[[0, 1]], [[0], [1]], 9], lambda x: x[:, :, 7],
    lambda x: x[None, 3], lambda x: x[x.new_tensor(5).long()], lambda x: x.sum()[0],
]


@pytest.mark.parametrize("fn", ERRORS)
def test_getitem_errors(fn):
    with pytest.raises(IndexError) as t_err:
        fn(torch.zeros(3, 4, 5))
    with pytest.raises(IndexError) as e_err:
        fn(ember.zeros(3, 4, 5))
    assert str(e_err.value) == str(t_err.value)


def test_negative_step_and_advanced_bounds():
    for m in (ember, torch):
        with pytest.raises(ValueError, match="step must be greater than zero"):
            m.zeros(3)[::-1]
        with pytest.raises(IndexError, match="index -5 is out of bounds for dimension"):
            m.zeros(3, 4)[:, [0, -5]]


# setitem -----------------------------------------------------------------------------------

V = rand(5, seed=9)
SETS = [
    ("int_scalar", lambda m, v: (1, 5.0)),
    ("slice_tensor", lambda m, v: ((slice(None), 1), v[:1].expand(3, 5) * 2)),
    ("broadcast_row", lambda m, v: (slice(0, 2), v)),
    ("0d_value", lambda m, v: ((slice(None), 0, slice(None, None, 2)), v[1])),
    ("none_ellipsis", lambda m, v: ((Ellipsis, None, 1), v[:4].reshape(4, 1))),
    ("mask_scalar", lambda m, v: (m.tensor(X > 0), 0.0)),
    ("mask_tensor", lambda m, v: (m.tensor(X[..., 0] > 0), v * 3)),
    ("list", lambda m, v: ([0, 2], v)),
    ("repeated_indices", lambda m, v: ([0, 0, 2], v)),
    ("adv_pairs", lambda m, v: (([0, 1, 1], [1, 3, 3]), v)),
    ("adv_slice", lambda m, v: ((slice(None), [0, 2], slice(1, 3)), v[:2])),
    ("int_value_into_float", lambda m, v: (0, m.tensor([1, 2, 3, 4, 5]))),
]


@pytest.mark.parametrize("name,make", SETS, ids=[s[0] for s in SETS])
def test_setitem_with_autograd(name, make):
    def fn(m, x, v):
        y = x * 1
        key, value = make(m, v)
        y[key] = value
        return y
    check(fn, X, V)


@pytest.mark.parametrize("name,make", SETS, ids=[s[0] for s in SETS])
def test_setitem_no_grad_and_dtypes(name, make):
    def fn(m, x, v):
        x = x.clone()
        key, value = make(m, v.to(x.dtype))
        x[key] = value
        return x
    check(fn, X, V, grad=False)
    check(fn, rand(3, 4, 5, dtype=np.int64, low=-9, high=9), V, grad=False)


def test_setitem_dtype_mismatch():
    for m in (ember, torch):
        x = m.zeros(3, dtype=m.int64)
        x[0:2] = m.tensor([1.5, 2.5])  # basic keys copy with a cast
        assert x.tolist() == [1, 2, 0]
        with pytest.raises(RuntimeError, match="Index put requires the source and destination dtypes match, got "
                                               "Long for the destination and Float for the source."):
            x[[0, 1]] = m.tensor([1.5, 2.5])


def test_setitem_gradcheck():
    def fn(m, x, v):
        y = x * 1
        y[[0, 1], 1] = v[:2]
        y[:, ::2] = v[3]
        return y
    gradcheck(fn, rand(2, 3, seed=1), rand(4, seed=2))


def test_setitem_on_leaf_requiring_grad_raises():
    for m in (ember, torch):
        x = m.zeros(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            x[0] = 1.0
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            x[[0, 1]] = 1.0
        with m.no_grad():
            x[1] = 2.0
        assert x[1].item() == 2.0


def test_setitem_through_views_and_versions():
    for m in (ember, torch):
        b = m.zeros(3, 4)
        row = b[1]
        row[2] = 5.0
        assert b[1, 2].item() == 5.0 and b._version == row._version
        b[[0, 2], 0] = m.tensor([7.0, 8.0])
        assert row._version == b._version and b[:, 0].tolist() == [7.0, 0.0, 8.0]
        y = m.zeros(2, 3, dtype=m.int64)
        y[0] = 2.7
        assert y.tolist() == [[2, 2, 2], [0, 0, 0]]


def test_setitem_view_of_non_leaf_gradient():
    def fn(m, x, v):
        y = x * 2
        r = y[1]
        r[1:3] = v[:1].expand(2, 5)
        return y * y
    check(fn, X, V)


# take / put / masked_select / nonzero ------------------------------------------------------

FLAT = [
    ("take", lambda m, x: x.take(m.tensor([[0, 59], [-1, 7]])), "TakeBackward0"),
    ("take_repeat", lambda m, x: m.take(x, m.tensor([3, 3, 3])), "TakeBackward0"),
    ("put", lambda m, x: x.put(m.tensor([1, 4]), x[0, 0, :2] * 3), "PutBackward0"),
    ("put_acc", lambda m, x: m.put(x, m.tensor([1, 1, 59]), x[1, 1, :3], accumulate=True), "PutBackward0"),
    ("masked_select", lambda m, x: x.masked_select(x > 0), "MaskedSelectBackward0"),
    ("masked_select_bcast", lambda m, x: m.masked_select(x[0, 0], m.tensor([[True], [False]])),
     "MaskedSelectBackward0"),
]


@pytest.mark.parametrize("name,fn,node", FLAT, ids=[r[0] for r in FLAT])
def test_flat_ops(name, fn, node):
    out = check(fn, X)
    assert out.grad_fn.name() == node
    check_layouts(fn, X)


@pytest.mark.parametrize("name,fn,node", FLAT, ids=[r[0] for r in FLAT])
def test_flat_ops_gradcheck(name, fn, node):
    gradcheck(fn, X)


def test_put_inplace_and_errors():
    for m in (ember, torch):
        x = m.zeros(2, 3)
        assert x.put_(m.tensor([5]), m.tensor([1.0])) is x and x[1, 2].item() == 1.0
        with pytest.raises(IndexError, match="out of range: tried to access index 6 on a tensor of 6 elements."):
            x.take(m.tensor([6]))
        with pytest.raises(IndexError, match="out of range"):
            x.put(m.tensor([-7]), m.tensor([1.0]))


@pytest.mark.parametrize("x", [X > 0.5, rand(4, dtype=np.int64, low=-1, high=1), np.zeros((2, 0)), np.array(3.0),
                               np.array(0.0), rand(6, 7, dtype=np.float64)])
def test_nonzero(x):
    check(lambda m, x: (m.nonzero(x), x.nonzero(as_tuple=True), m.argwhere(x), m.where(x != 0)), x, grad=False)


def test_where_one_arg_is_nonzero_tuple():
    from ember.ops.scatter import _where_nonzero
    x = ember.tensor([[0, 1], [2, 0]])
    assert [t.tolist() for t in _where_nonzero(x)] == [[0, 1], [1, 0]]


def test_no_warnings_from_numpy():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ember.zeros(3, 4)[[0, 1], [1, 2]]
        ember.zeros(3)[ember.tensor([True, False, True])]
