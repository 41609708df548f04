"""Gather/scatter family against torch: values, gradients (repeated indices), node names, errors."""
import numpy as np
import pytest
import torch

import ember
from oracle import check, check_layouts, gradcheck, rand

I64 = np.int64


def idx(*values):
    return np.array(values, dtype=I64)


GATHER_IDX = idx([0, 3, 3], [1, 1, 0], [2, 0, 0])          # repeated indices along dim 1
SCATTER_IDX = idx([0, 1, 0], [3, 3, 3])                     # repeats within a row

# name, fn(lib, *inputs), inputs, node name of the result
CASES = [
    ("gather", lambda m, x, i: m.gather(x, 1, i), (rand(3, 4), GATHER_IDX), "GatherBackward0"),
    ("gather_dim0", lambda m, x, i: x.gather(0, i), (rand(4, 3), GATHER_IDX % 4), "GatherBackward0"),
    ("gather_small", lambda m, x, i: x.gather(-1, i), (rand(5, 6), idx([5], [0])), "GatherBackward0"),
    ("gather_0d", lambda m, x, i: x.gather(0, i), (rand(), np.array(0)), "GatherBackward0"),
    ("gather_empty", lambda m, x, i: x.gather(1, i), (rand(3, 4), np.zeros((3, 0), I64)), "GatherBackward0"),
    ("scatter", lambda m, x, i, s: x.scatter(1, i, s), (rand(2, 4), idx([0, 1, 2], [3, 2, 1]), rand(2, 3)),
     "ScatterBackward0"),
    ("scatter_value", lambda m, x, i: m.scatter(x, 1, i, 1.5), (rand(2, 4), SCATTER_IDX), "ScatterBackward1"),
    ("scatter_add", lambda m, x, i, s: m.scatter_add(x, 1, i, s), (rand(2, 4), SCATTER_IDX, rand(2, 3)),
     "ScatterAddBackward0"),
    ("scatter_add_3d", lambda m, x, i, s: x.scatter_add(0, i, s),
     (rand(3, 2, 2), rand(4, 2, 2, dtype=I64, low=0, high=2), rand(4, 2, 2, seed=3)), "ScatterAddBackward0"),
    ("index_select", lambda m, x, i: m.index_select(x, 1, i), (rand(3, 4), idx(0, 3, 3, 1)),
     "IndexSelectBackward0"),
    ("index_fill_neg", lambda m, x, i: x.index_fill(0, i, 3.0), (rand(3, 4), idx(-1, 0)), "IndexFillBackward0"),
    ("index_select_0d", lambda m, x, i: x.index_select(0, i), (rand(), idx(0)), "IndexSelectBackward0"),
    ("index_add", lambda m, x, i, s: m.index_add(x, 0, i, s, alpha=2.5), (rand(3, 4), idx(2, 0, 2), rand(3, 4)),
     "IndexAddBackward0"),
    ("index_add_dim1", lambda m, x, i, s: x.index_add(1, i, s), (rand(3, 4), idx(1, 1), rand(3, 2)),
     "IndexAddBackward0"),
    ("index_copy", lambda m, x, i, s: m.index_copy(x, 1, i, s), (rand(3, 4), idx(3, 0), rand(3, 2)),
     "IndexCopyBackward0"),
    ("index_fill", lambda m, x, i: m.index_fill(x, 1, i, -1.0), (rand(3, 4), idx(1, 1, 3)), "IndexFillBackward0"),
    ("index_fill_tensor", lambda m, x, i, v: x.index_fill(0, i, v), (rand(3, 4), idx(0, 2), rand()),
     "IndexFillBackward1"),
    ("masked_fill", lambda m, x, k: m.masked_fill(x, k, 2.0), (rand(3, 4), rand(3, 4, dtype=np.bool_)),
     "MaskedFillBackward0"),
    ("masked_fill_bcast", lambda m, x, k: x.masked_fill(k, 2.0), (rand(3, 4), rand(4, dtype=np.bool_)),
     "MaskedFillBackward0"),
    ("masked_fill_tensor", lambda m, x, k, v: x.masked_fill(k, v), (rand(3, 4), rand(3, 1, dtype=np.bool_), rand()),
     "MaskedFillBackward1"),
    ("masked_select", lambda m, x, k: m.masked_select(x, k), (rand(3, 4), rand(3, 4, dtype=np.bool_)),
     "MaskedSelectBackward0"),
    ("masked_select_bcast", lambda m, x, k: x.masked_select(k), (rand(4), rand(3, 4, dtype=np.bool_)),
     "MaskedSelectBackward0"),
    ("take", lambda m, x, i: m.take(x, i), (rand(3, 4), idx([0, 11], [-1, 0])), "TakeBackward0"),
    ("take_along_dim", lambda m, x, i: m.take_along_dim(x, i, 1), (rand(3, 4), idx([0, 3], [1, 1], [2, 2])),
     "GatherBackward0"),
    ("take_along_dim_bcast", lambda m, x, i: x.take_along_dim(i, dim=0), (rand(3, 4), idx([0], [2])),
     "GatherBackward0"),
    ("take_along_dim_flat", lambda m, x, i: m.take_along_dim(x, i), (rand(3, 4), idx(11, 0, 0)), "GatherBackward0"),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("name,fn,inputs,node", CASES, ids=IDS)
def test_matches_torch(name, fn, inputs, node):
    check(fn, *inputs)


@pytest.mark.parametrize("name,fn,inputs,node", CASES, ids=IDS)
def test_layouts(name, fn, inputs, node):
    if inputs[0].ndim == 2 and name != "take_along_dim_flat":  # torch's flat form needs a viewable input
        check_layouts(fn, *inputs)


@pytest.mark.parametrize("name,fn,inputs,node", CASES, ids=IDS)
def test_node_names(name, fn, inputs, node):
    args = [ember.tensor(x, requires_grad=x.dtype.kind == "f") for x in inputs]
    assert fn(ember, *args).grad_fn.name() == node


@pytest.mark.parametrize("name,fn,inputs,node", CASES, ids=IDS)
def test_gradcheck(name, fn, inputs, node):
    gradcheck(fn, *inputs)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_, np.float64])
def test_dtypes(dtype):
    x, s = rand(3, 4, dtype=dtype, low=0, high=5), rand(3, 4, dtype=dtype, low=0, high=5, seed=1)
    i = idx([0, 1], [3, 3], [2, 0])
    check(lambda m, a, j: a.gather(1, j), x, i)
    check(lambda m, a, j, b: a.scatter(1, j, b[:, :2]), x, i, s)
    check(lambda m, a, j: a.index_select(0, j), x, idx(2, 2))
    check(lambda m, a, k: a.masked_select(k), x, rand(3, 4, dtype=np.bool_))
    check(lambda m, a: a.nonzero(), x)
    if dtype != np.bool_:
        check(lambda m, a, j, b: a.scatter_add(1, j, b[:, :2]), x, i, s)
        check(lambda m, a, j, b: a.index_add(0, j, b), x, idx(1, 1, 0), s)
        check(lambda m, a, k: a.masked_fill(k, 7), x, rand(4, dtype=np.bool_))


def test_source_larger_than_index():
    """Only the leading block of ``src`` is read (torch cannot differentiate this case)."""
    for fn in (lambda m, a, j, b: a.scatter(1, j, b), lambda m, a, j, b: a.scatter_add(1, j, b)):
        check(fn, rand(2, 4), SCATTER_IDX, rand(3, 5), grad=False)
    x, s = ember.zeros(2, 4, requires_grad=True), ember.ones(3, 5, requires_grad=True)
    x.scatter_add(1, ember.tensor(SCATTER_IDX), s).sum().backward()
    expected = np.zeros((3, 5))
    expected[:2, :3] = 1
    np.testing.assert_array_equal(s.grad.numpy(), expected)


def test_int32_index_and_large():
    x, i = rand(64, 300), rand(64, 500, dtype=I64, low=0, high=299)
    check(lambda m, a, j: a.gather(1, j), x, i.astype(np.int32))
    check(lambda m, a, j, s: a.scatter_add(1, j, s), x, i, rand(64, 500, seed=2))


@pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter")
def test_scalar_value_cast_and_reduce():
    x = rand(3, 4, dtype=I64, low=0, high=9)
    check(lambda m, a, j: a.scatter(1, j, 2.5), x, SCATTER_IDX[:, :2])
    check(lambda m, a, k: a.masked_fill(k, 2.5), x, rand(3, 4, dtype=np.bool_))
    check(lambda m, a, j: a.index_fill(0, j, 2.5), x, idx(0))
    for reduce in ("add", "multiply"):
        check(lambda m, a, j, s: a.scatter(1, j, s, reduce=reduce), rand(2, 4), SCATTER_IDX, rand(2, 3), grad=False)
        check(lambda m, a, j: a.scatter(1, j, 1.5, reduce=reduce), rand(2, 4), SCATTER_IDX, grad=False)


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4), (), (0, 3)])
def test_nonzero_argwhere_where(shape):
    x = rand(*shape, dtype=I64, low=0, high=1)
    check(lambda m, a: a.nonzero(), x)
    check(lambda m, a: m.argwhere(a), x)
    check(lambda m, a: m.nonzero(a, as_tuple=True), x)
    check(lambda m, a: m.where(a > 0), x)
    assert ember.tensor(x).nonzero().dtype == ember.int64


def test_nonzero_0d():
    for v in (0, 3):
        check(lambda m, a: (a.nonzero(), a.nonzero(as_tuple=True)), np.array(v))


INPLACE = [
    ("scatter_", lambda t, i, s: t.scatter_(1, i, s), lambda t, i, s: t.scatter(1, i, s)),
    ("scatter_value_", lambda t, i, s: t.scatter_(1, i, -3.0), lambda t, i, s: t.scatter(1, i, -3.0)),
    ("scatter_add_", lambda t, i, s: t.scatter_add_(1, i, s), lambda t, i, s: t.scatter_add(1, i, s)),
    ("index_add_", lambda t, i, s: t.index_add_(1, i[0], s, alpha=-2),
     lambda t, i, s: t.index_add(1, i[0], s, alpha=-2)),
    ("index_fill_", lambda t, i, s: t.index_fill_(1, i[0], 4.0), lambda t, i, s: t.index_fill(1, i[0], 4.0)),
    ("masked_fill_", lambda t, i, s: t.masked_fill_(t > 0, 0.5), lambda t, i, s: t.masked_fill(t > 0, 0.5)),
]


@pytest.mark.parametrize("name,inplace_fn,fn", INPLACE, ids=[c[0] for c in INPLACE])
def test_inplace_agrees(name, inplace_fn, fn):
    x, i, s = rand(2, 4), idx([0, 1, 0], [3, 3, 1]), rand(2, 3, seed=4)

    def run(m, a, j, b):
        y = a * 1
        out = inplace_fn(y, j, b)
        assert out is y
        return y

    check(run, x, i, s)
    e = ember.tensor(x)
    version = e._version[0]
    inplace_fn(e, ember.tensor(i), ember.tensor(s))
    assert e._version[0] == version + 1
    assert ember.equal(e, fn(ember.tensor(x), ember.tensor(i), ember.tensor(s)))


def test_duplicate_index_gradients_accumulate():
    x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x.gather(0, ember.tensor([1, 1, 1])).sum().backward()
    assert x.grad.tolist() == [0.0, 3.0, 0.0]
    s = ember.tensor([1.0, 2.0], requires_grad=True)
    ember.zeros(3).index_add(0, ember.tensor([2, 2]), s).pow(2).sum().backward()
    assert s.grad.tolist() == [6.0, 6.0]


def test_double_backward_gather():
    check(lambda m, a, j: m.autograd.grad((a.gather(1, j) ** 2).sum(), a, create_graph=True)[0], rand(3, 4),
          GATHER_IDX)


def test_inplace_on_leaf_requiring_grad_raises():
    leaf = ember.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        leaf.masked_fill_(ember.tensor([True, False, True]), 0.0)


X = ember.zeros(3, 4)
ERRORS = [
    (lambda: X.gather(1, ember.tensor([[0.0]])), RuntimeError, r"gather\(\): Expected dtype int32/int64 for index"),
    (lambda: X.gather(1, ember.tensor([[5]])), RuntimeError, "index 5 is out of bounds for dimension 1 with size 4"),
    (lambda: X.gather(1, ember.tensor([[-1]])), RuntimeError, "index -1 is out of bounds for dimension 1"),
    (lambda: X.gather(1, ember.zeros(4, 1, dtype=ember.int64)), RuntimeError,
     r"expected index \[4, 1\] to be no larger than self \[3, 4\] apart from dimension 1"),
    (lambda: X.gather(1, ember.zeros(3, 1, 1, dtype=ember.int64)), RuntimeError,
     "Index tensor must have the same number of dimensions as input tensor"),
    (lambda: X.scatter(1, ember.tensor([[0]]), ember.zeros(1, 1, dtype=ember.float64)), RuntimeError,
     r"scatter\(\): Expected self.dtype to be equal to src.dtype"),
    (lambda: X.scatter_add(1, ember.tensor([[0.0]]), X), RuntimeError, "Expected dtype int32/int64 for index"),
    (lambda: X.scatter(0, ember.tensor([[0, 0]]), ember.zeros(1, 1)), RuntimeError,
     r"to be no larger .*than src \[1, 1\]"),
    (lambda: X.index_select(1, ember.tensor([0, 9])), RuntimeError, "index 9 is out of bounds for dimension 1"),
    (lambda: X.index_select(1, ember.tensor([-1])), RuntimeError, "index -1 is out of bounds for dimension 1"),
    (lambda: X.index_add(1, ember.tensor([-1]), X[:, :1]), RuntimeError, "index -1 is out of bounds"),
    (lambda: X.index_copy(1, ember.tensor([4]), X[:, :1]), IndexError, r"index 4 is out of bounds for dimension 1"),
    (lambda: X.index_fill(1, ember.tensor([-5]), 1.0), IndexError, "index -5 is out of bounds for dimension 1"),
    (lambda: X.index_select(1, ember.tensor([[0]])), IndexError, "Index is supposed to be a vector"),
    (lambda: X.index_select(1, ember.tensor([0.0])), RuntimeError, "Expected dtype int32/int64 for index"),
    (lambda: X.index_add(1, ember.tensor([0, 1]), ember.zeros(3, 3)), RuntimeError,
     r"Number of indices \(2\) should be equal to source.size\(dim\): \(3\), for dim: 1"),
    (lambda: X.index_add(1, ember.tensor([0]), ember.zeros(3, 1, dtype=ember.float64)), RuntimeError,
     r"self \(Float\) and source \(Double\) must have the same scalar type"),
    (lambda: X.masked_fill(X > 0, ember.tensor([1.0])), RuntimeError,
     "only supports a 0-dimensional value tensor, but got tensor with 1 dimension"),
    (lambda: X.masked_fill(X, 1.0), RuntimeError, "only supports boolean masks, but got mask with dtype float"),
    (lambda: X.masked_fill(ember.zeros(5, dtype=ember.bool), 1.0), RuntimeError, "must match the size"),
    (lambda: X.masked_select(X), RuntimeError, "masked_select: expected BoolTensor for mask"),
    (lambda: X.take(ember.tensor([12])), IndexError, "out of range: tried to access index 12 on a tensor of 12"),
]


@pytest.mark.parametrize("k", range(len(ERRORS)))
def test_errors(k):
    fn, exc, msg = ERRORS[k]
    with pytest.raises(exc, match=msg):
        fn()


def test_error_messages_follow_torch():
    t = torch.zeros(3, 4)
    with pytest.raises(RuntimeError, match="index 5 is out of bounds for dimension 1 with size 4"):
        t.gather(1, torch.tensor([[5]]))
    with pytest.raises(RuntimeError, match="masked_select: expected BoolTensor for mask"):
        t.masked_select(t)


# masked_scatter and integer alpha ----------------------------------------------------------

@pytest.mark.parametrize("mask", [lambda m, x: x > 0, lambda m, x: m.tensor([False, True, True, False])])
def test_masked_scatter(mask):
    out = check(lambda m, x, s: x.masked_scatter(mask(m, x), s), rand(3, 4), rand(3, 4, seed=1))
    assert out.grad_fn.name() == "MaskedScatterBackward0"
    gradcheck(lambda m, x, s: x.masked_scatter(mask(m, x), s), rand(3, 4), rand(3, 4, seed=1))
    check(lambda m, x, s: (x * 1).masked_scatter_(mask(m, x), s), rand(3, 4), rand(3, 4, seed=1))
    for m in (ember, torch):
        with pytest.raises(RuntimeError, match="Number of elements of source < number of ones in mask"):
            m.zeros(3, 4).masked_scatter(m.ones(4).bool(), m.zeros(2))


def test_index_add_integer_alpha():
    check(lambda m, x, s: x.index_add(0, m.tensor([0, 0, 2]), s, alpha=-2.5),
          rand(3, 4, dtype=np.int64, low=-5, high=5), rand(3, 4, dtype=np.int64, low=-5, high=5, seed=1), grad=False)


@pytest.mark.parametrize("dim, shape", [(0, (40, 16)), (1, (3, 40, 5)), (2, (2, 3, 40))])
def test_index_add_many_repeats_matches_torch(dim, shape):
    """Whole slices with many repeated indices (an embedding gradient) are summed by sort + reduceat."""
    rng = np.random.default_rng(dim)
    index = rng.integers(0, shape[dim], 300)
    src_shape = shape[:dim] + (300,) + shape[dim + 1:]
    check(lambda lib, x, s, i: x.index_add(dim, i, s), rand(*shape, seed=1), rand(*src_shape, seed=2), index,
          atol=1e-4)
    for dtype in (np.int64, np.float64):
        x, s = np.ones(shape, dtype=dtype), np.arange(np.prod(src_shape)).reshape(src_shape).astype(dtype)
        got = ember.tensor(x).index_add(dim, ember.tensor(index), ember.tensor(s)).numpy()
        want = torch.tensor(x).index_add(dim, torch.tensor(index), torch.tensor(s)).numpy()
        np.testing.assert_array_equal(got, want)


def test_index_add_empty_index_and_embedding_gradient():
    x = rand(4, 3, seed=3)
    got = ember.tensor(x).index_add(0, ember.tensor(np.zeros(0, dtype=I64)), ember.zeros(0, 3)).numpy()
    np.testing.assert_array_equal(got, x)
    check(lambda lib, w, i: lib.nn.functional.embedding(i, w), rand(10, 4, seed=4),
          np.random.default_rng(5).integers(0, 10, (6, 50)))
