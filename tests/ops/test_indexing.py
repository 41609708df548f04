"""x[key] and x[key] = value against torch: values, gradients, views, node names, errors."""
import warnings

import numpy as np
import pytest
import torch

import ember
from oracle import check, check_layouts, gradcheck, rand

A = rand(2, 3, 4)
I64 = np.int64

# key(lib) -> key, and the node name torch gives the result
KEYS = [
    ("int", lambda m: 0, "SelectBackward0"),
    ("neg_int", lambda m: -1, "SelectBackward0"),
    ("ints", lambda m: (1, 2), "SelectBackward0"),
    ("slice_int", lambda m: (slice(None), 1), "SelectBackward0"),
    ("step", lambda m: (slice(None), slice(None, None, 2)), "SliceBackward0"),
    ("step_offset", lambda m: (Ellipsis, slice(1, None, 2)), "SliceBackward0"),
    ("slice_out_of_range", lambda m: slice(5, 10), "SliceBackward0"),
    ("neg_slice", lambda m: (slice(-2, None), slice(-3, -1)), "SliceBackward0"),
    ("none", lambda m: (None, 0), "SelectBackward0"),
    ("none_last", lambda m: (slice(None), None), "UnsqueezeBackward0"),
    ("ellipsis", lambda m: Ellipsis, "AliasBackward0"),
    ("ellipsis_int", lambda m: (1, Ellipsis, 2), "SelectBackward0"),
    ("none_ellipsis_none", lambda m: (None, Ellipsis, None), "UnsqueezeBackward0"),
    ("full", lambda m: (slice(None), slice(None)), "AliasBackward0"),
    ("list", lambda m: [1, 0, 1], "IndexBackward0"),
    ("list_dim1", lambda m: (slice(None), [0, 2, 2]), "IndexBackward0"),
    ("two_lists", lambda m: ([0, 1], [1, 2]), "IndexBackward0"),
    ("int_list_slice", lambda m: (0, [0, 2], slice(1, 3)), "IndexBackward0"),
    ("split_lists", lambda m: ([0, 1], slice(None), [0, 3]), "IndexBackward0"),
    ("nested_list", lambda m: ([[0, 1], [1, 1]],), "IndexBackward0"),
    ("tensor", lambda m: m.tensor([[1, 0], [1, 1]]), "IndexBackward0"),
    ("int32_tensor", lambda m: (slice(None), m.tensor([2, 0], dtype=m.int32)), "IndexBackward0"),
    ("neg_tensor", lambda m: (Ellipsis, m.tensor([-1, -4])), "IndexBackward0"),
    ("tensor_none", lambda m: (slice(None), None, m.tensor([0, 1])), "IndexBackward0"),
    ("empty_tensor", lambda m: m.tensor([], dtype=m.int64), "IndexBackward0"),
    ("mask_dim0", lambda m: m.tensor([True, False]), "IndexBackward0"),
    ("mask_slice", lambda m: (m.tensor([False, True]), slice(1, None)), "IndexBackward0"),
    ("mask_dim1", lambda m: (slice(None), m.tensor([True, False, True])), "IndexBackward0"),
    ("mask_2d", lambda m: m.tensor(A[..., 0] > 0), "IndexBackward0"),
    ("mask_full", lambda m: m.tensor(A > 0), "IndexBackward0"),
    ("bool_scalar", lambda m: True, "IndexBackward0"),
    ("zero_d_int_tensor", lambda m: m.tensor(1), "SelectBackward0"),
]
IDS = [k[0] for k in KEYS]


@pytest.mark.parametrize("name,key,node", KEYS, ids=IDS)
def test_getitem_matches_torch(name, key, node):
    check(lambda m, x: x[key(m)], A)


@pytest.mark.parametrize("name,key,node", KEYS, ids=IDS)
def test_getitem_layouts(name, key, node):
    if "mask" not in name:  # a transposed input changes the shape a mask must have
        check_layouts(lambda m, x: x[key(m)], A)


@pytest.mark.parametrize("name,key,node", KEYS, ids=IDS)
def test_getitem_node_names(name, key, node):
    t = torch.tensor(A, requires_grad=True)[key(torch)]
    e = ember.tensor(A, requires_grad=True)[key(ember)]
    assert e.grad_fn.name() == t.grad_fn.name() == node


@pytest.mark.parametrize("name,key,node", KEYS[::3], ids=IDS[::3])
def test_getitem_gradcheck(name, key, node):
    gradcheck(lambda m, x: x[key(m)], rand(2, 3, 4, dtype=np.float64))


def test_getitem_repeated_indices_accumulate():
    check(lambda m, x: x[[0, 0, 2, 0]] * x[[0]], rand(3, 2))
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    x[[1, 1, 1]].sum().backward()
    assert x.grad.tolist() == [0.0, 3.0]


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.bool_, np.float64])
def test_getitem_dtypes(dtype):
    x = rand(3, 4, dtype=dtype, low=0, high=9)
    check(lambda m, a: (a[1], a[:, 1::2], a[[2, 0]], a[a > 0] if dtype != np.bool_ else a[a], a[None, ..., 0]), x)


def test_getitem_0d_and_empty():
    check(lambda m, x: (x[None], x[...], x[()], x[m.tensor(True)]), rand())
    check(lambda m, x: (x[:, 1:], x[x > 0], x[[]], x[..., 2]), rand(0, 3))
    check(lambda m, x: x[1:1], rand(4))


def test_getitem_large():
    x = rand(200, 300)
    check(lambda m, a: (a[a > 0.5], a[::7, 3::11], a[m.tensor(np.arange(0, 200, 3))]), x)


def test_basic_index_is_a_view():
    x = ember.arange(12.0).reshape(3, 4)
    v = x[1, ::2]
    v.mul_(10)
    assert x.tolist()[1] == [40.0, 5.0, 60.0, 7.0]
    assert x._version[0] == v._version[0] == 1
    adv = x[[1]]
    adv.zero_()
    assert x[1, 1].item() == 5.0


def test_mask_indexing_example():
    check(lambda m, x: x[x > 0.5] * 2, rand(5, 6))


# setitem ------------------------------------------------------------------------------

V4 = rand(4, seed=7)
# key(lib), value(lib, v4) where v4 is a float tensor of 4 values requiring grad
PUTS = [
    ("int_row", lambda m: 0, lambda m, v: v),
    ("int_scalar", lambda m: 0, lambda m, v: 5.0),
    ("column", lambda m: (slice(None), 1), lambda m, v: v[:3]),
    ("step_cols", lambda m: (slice(None), slice(None, None, 2)), lambda m, v: v[:2]),
    ("broadcast_col", lambda m: (slice(None), slice(1, 3)), lambda m, v: v[:3].reshape(3, 1)),
    ("ellipsis", lambda m: Ellipsis, lambda m, v: v),
    ("none", lambda m: (None, 1), lambda m, v: v),
    ("zero_d_tensor", lambda m: 1, lambda m, v: v[2]),
    ("int_tensor_value", lambda m: 1, lambda m, v: m.tensor([1, 2, 3, 4])),
    ("repeated_rows", lambda m: [0, 0], lambda m, v: v),
    ("points", lambda m: ([0, 2], [1, 1]), lambda m, v: v[1:3]),
    ("mask", lambda m: m.tensor(rand(3, 4, seed=3) > 0), lambda m, v: v[0]),
    ("mask_scalar", lambda m: m.tensor(rand(3, 4, seed=3) > 0), lambda m, v: 0.0),
    ("mask_rows", lambda m: m.tensor([True, False, True]), lambda m, v: v),
    ("list_cols", lambda m: (slice(None), [1, 3]), lambda m, v: v[:2]),
    ("empty", lambda m: m.tensor([], dtype=m.int64), lambda m, v: 1.0),
]
PUT_IDS = [p[0] for p in PUTS]


def _put(key, value):
    def fn(m, x, v):
        y = x * 1
        y[key(m)] = value(m, v)
        return y
    return fn


@pytest.mark.parametrize("name,key,value", PUTS, ids=PUT_IDS)
def test_setitem_matches_torch(name, key, value):
    check(_put(key, value), rand(3, 4), V4)


@pytest.mark.parametrize("name,key,value", PUTS, ids=PUT_IDS)
def test_setitem_node_names(name, key, value):
    names = []
    for m in (torch, ember):
        y = m.tensor(rand(3, 4), requires_grad=True) * 1
        y[key(m)] = value(m, m.tensor(V4, requires_grad=True))
        names.append(y.grad_fn.name().replace("torch::autograd::", ""))
    assert names[0] == names[1]


@pytest.mark.parametrize("name,key,value", PUTS[::2], ids=PUT_IDS[::2])
def test_setitem_gradcheck(name, key, value):
    if name != "repeated_rows":  # which duplicate wins is unspecified, so finite differences disagree
        gradcheck(_put(key, value), rand(3, 4, dtype=np.float64), V4.astype(np.float64),
                  gradgrad=name not in ("int_tensor_value", "mask_scalar"))  # these ignore v


def test_setitem_into_tensor_without_grad():
    """A value requiring grad makes the target require grad (torch's CopySlices)."""
    def fn(m, v):
        z = m.zeros(3, 4, dtype=m.float64)
        z[1:, [0, 2]] = v[:2].reshape(2, 1) * 3
        z[0] = v
        return z
    check(fn, rand(4, dtype=np.float64))


def test_setitem_dtype_and_views():
    check(lambda m, x: x.__setitem__([0, 1], 2.7) or x, rand(3, dtype=I64, low=0, high=5))
    check(lambda m, x: x.__setitem__(x > 0, False) or x, rand(3, 4, dtype=np.bool_))
    x = ember.zeros(2, 3)
    row = x[0]
    x[0, 1] = 5
    assert row.tolist() == [0.0, 5.0, 0.0] and row._version[0] == 1


def test_setitem_saved_tensor_version_error():
    for m in (torch, ember):
        x = m.ones(3, requires_grad=True)
        y = x * 1
        z = y.exp()
        y[0] = 2.0
        z.sum().backward()  # exp saved its output, not y
        w = y * y
        y[1] = 3.0
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            w.sum().backward()


def test_setitem_leaf_requiring_grad_raises():
    x = ember.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad is being used in an in-place"):
        x[0] = 2.0
    with ember.no_grad():
        x[0] = 2.0
    assert x.tolist() == [2.0, 1.0, 1.0]


# errors: the same exception type and message as torch ----------------------------------------

ERROR_KEYS = [5, (0, 3), (0, 0, 4), (slice(None), 5), (Ellipsis, 4), (None, 5), (None, 0, 5), (Ellipsis, 5, 0),
              (0, 0, 0, 0), [0, 2], (0, [3]), (None, 0, [3]), (Ellipsis, [4]), ([0], [5]), (0, slice(None), [9]),
              -3, (slice(None, None, -1),), (slice(None, None, 0),)]
MASK_ERRORS = [lambda m: m.ones(2, 2, dtype=m.bool), lambda m: (slice(None), m.ones(4, dtype=m.bool)),
               lambda m: m.tensor([0.0]), lambda m: 1.5]


def _raised(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the oracle compares any exception
        return type(e), str(e)
    return None, None


@pytest.mark.parametrize("key", ERROR_KEYS + MASK_ERRORS)
def test_getitem_errors_match_torch(key):
    k = key if callable(key) else (lambda m: key)
    t_exc, t_msg = _raised(lambda: torch.zeros(2, 3, 4)[k(torch)])
    e_exc, e_msg = _raised(lambda: ember.zeros(2, 3, 4)[k(ember)])
    assert t_exc is not None and e_exc is t_exc
    assert t_msg.split(".")[0].split(" (")[0] in e_msg


def test_zero_dim_errors():
    with pytest.raises(IndexError, match="invalid index of a 0-dim tensor"):
        ember.tensor(1.0)[0]
    with pytest.raises(IndexError, match="index 3 is out of bounds for dimension 0 with size 3"):
        ember.zeros(3)[3] = 1.0


SET_ERRORS = [(1, (3,)), ([0, 1], (3,)), ((slice(None), 1), (2, 3)), ((slice(None), slice(0, 2)), (3, 3))]


@pytest.mark.parametrize("key,shape", SET_ERRORS)
def test_setitem_shape_errors_match_torch(key, shape):
    t_exc, t_msg = _raised(lambda: torch.zeros(3, 4).__setitem__(key, torch.ones(shape)))
    e_exc, e_msg = _raised(lambda: ember.zeros(3, 4).__setitem__(key, ember.ones(shape)))
    assert e_exc is t_exc is RuntimeError
    assert t_msg.split("(")[0] in e_msg


# setitem dtypes and views of non-leaves; take, put, masked_select, nonzero ------------------

X = rand(3, 4, 5)
V = rand(5, seed=9)


def test_setitem_dtype_mismatch():
    for m in (ember, torch):
        x = m.zeros(3, dtype=m.int64)
        x[0:2] = m.tensor([1.5, 2.5])  # basic keys copy with a cast
        assert x.tolist() == [1, 2, 0]
        with pytest.raises(RuntimeError, match="Index put requires the source and destination dtypes match, got "
                                               "Long for the destination and Float for the source."):
            x[[0, 1]] = m.tensor([1.5, 2.5])


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


def test_no_warnings_from_numpy():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ember.zeros(3, 4)[[0, 1], [1, 2]]
        ember.zeros(3)[ember.tensor([True, False, True])]
