"""Matrix products (ember/ops/linalg.py, ember/ops/einsum.py) against torch."""
import numpy as np
import pytest
import torch

import ember
from oracle import check, check_layouts, gradcheck, rand

MATMUL_SHAPES = [
    ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((5, 2, 3), (5, 3, 4)),
    ((5, 2, 3), (3, 4)), ((2, 3), (5, 3, 4)), ((1, 5, 2, 3), (6, 1, 3, 4)), ((3,), (2, 3, 4)),
    ((5, 2, 3), (3,)), ((0, 3), (3, 4)), ((2, 0), (0, 4)),
]


@pytest.mark.parametrize("a_shape,b_shape", MATMUL_SHAPES)
def test_matmul_matches_torch(a_shape, b_shape):
    check_layouts(lambda m, a, b: m.matmul(a, b), rand(*a_shape), rand(*b_shape, seed=1))


@pytest.mark.parametrize("a_shape,b_shape,node", [
    ((3,), (3,), "DotBackward0"), ((2, 3), (3,), "MvBackward0"), ((3,), (3, 4), "SqueezeBackward4"),
    ((2, 3), (3, 4), "MmBackward0"), ((5, 2, 3), (5, 3, 4), "UnsafeViewBackward0"),
    ((5, 2, 3), (3, 4), "UnsafeViewBackward0"),
])
def test_matmul_node_names(a_shape, b_shape, node):
    out = ember.matmul(ember.tensor(rand(*a_shape), requires_grad=True), ember.tensor(rand(*b_shape)))
    t_out = torch.matmul(torch.tensor(rand(*a_shape), requires_grad=True), torch.tensor(rand(*b_shape)))
    assert out.grad_fn.name() == t_out.grad_fn.name() == node


def test_operators_and_methods_agree():
    a, b = rand(4, 3), rand(3, 5, seed=1)
    check(lambda m, x, y: (x @ y, x.matmul(y), x.mm(y), m.mm(x, y)), a, b)
    check(lambda m, x, y: y.T.__rmatmul__(x.T), b, a)
    x, y = ember.tensor(a), ember.tensor(b)
    z = x
    z @= y
    assert z is not x and tuple(z.shape) == (4, 5)
    np.testing.assert_allclose(z.numpy(), a @ b, rtol=1e-5)


@pytest.mark.parametrize("fn,shapes", [
    (lambda m, a, b: m.mm(a, b), [(4, 3), (3, 5)]),
    (lambda m, a, b: m.bmm(a, b), [(2, 4, 3), (2, 3, 5)]),
    (lambda m, a, b: m.dot(a, b), [(4,), (4,)]),
    (lambda m, a, b: m.vdot(a, b), [(4,), (4,)]),
    (lambda m, a, b: m.mv(a, b), [(4, 3), (3,)]),
    (lambda m, a, b: m.outer(a, b), [(4,), (3,)]),
    (lambda m, a, b: m.ger(a, b), [(4,), (3,)]),
    (lambda m, a, b: m.inner(a, b), [(2, 4), (3, 4)]),
    (lambda m, a, b: m.inner(a, b), [(4,), (4,)]),
    (lambda m, a, b: m.cross(a, b, dim=-1), [(4, 3), (1, 3)]),
    (lambda m, a, b: m.linalg.cross(a, b), [(2, 3), (2, 3)]),
    (lambda m, a, b: m.tensordot(a, b, dims=2), [(2, 3, 4), (3, 4, 5)]),
    (lambda m, a, b: m.tensordot(a, b, dims=([0, 2], [2, 0])), [(2, 3, 4), (4, 5, 2)]),
    (lambda m, a, b: m.tensordot(a, b, dims=0), [(2, 3), (4,)]),
])
def test_products_match_torch(fn, shapes):
    check_layouts(fn, *(rand(*s, seed=i) for i, s in enumerate(shapes)))


@pytest.mark.parametrize("shapes", [[(2, 3), (4, 2)], [(2,), (3, 2)], [(2, 1, 2), (3,)]])
def test_kron_matches_torch(shapes):
    check(lambda m, a, b: m.kron(a, b), *(rand(*s, seed=i) for i, s in enumerate(shapes)))  # torch's kron
    # fails on some transposed inputs, so only the contiguous layout is compared


@pytest.mark.parametrize("name,shapes", [
    ("addmm", [(5,), (4, 3), (3, 5)]), ("addmm", [(4, 5), (4, 3), (3, 5)]),
    ("addmv", [(4,), (4, 3), (3,)]), ("baddbmm", [(4, 5), (2, 4, 3), (2, 3, 5)]),
    ("addbmm", [(4, 5), (2, 4, 3), (2, 3, 5)]),
])
@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, 2.0), (0, -1.5)])
def test_add_products(name, shapes, beta, alpha):
    inputs = [rand(*s, seed=i) for i, s in enumerate(shapes)]
    check_layouts(lambda m, c, a, b: getattr(m, name)(c, a, b, beta=beta, alpha=alpha), *inputs)
    e = getattr(ember, name)(*(ember.tensor(x, requires_grad=True) for x in inputs))
    t = getattr(torch, name)(*(torch.tensor(x, requires_grad=True) for x in inputs))
    assert e.grad_fn.name() == t.grad_fn.name()


def test_addmm_in_place_and_beta_zero_ignores_nan():
    c = np.full((2, 2), np.nan, dtype=np.float32)
    check(lambda m, c, a, b: m.addmm(c, a, b, beta=0), c, rand(2, 3), rand(3, 2, seed=1))
    x = ember.tensor(rand(2, 2))
    expected = x.numpy() + rand(2, 3) @ rand(3, 2, seed=1)
    x.addmm_(ember.tensor(rand(2, 3)), ember.tensor(rand(3, 2, seed=1)))
    np.testing.assert_allclose(x.numpy(), expected, rtol=1e-5)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.float64])
def test_matmul_dtypes(dtype):
    check(lambda m, a, b: (m.mm(a, b), a @ b[:, 0], m.bmm(a[None], b[None])),
          rand(3, 4, dtype=dtype, low=-5, high=5), rand(4, 2, dtype=dtype, low=-5, high=5, seed=1))


EQUATIONS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("ij,jk", [(2, 3), (3, 4)]), ("bij,bjk->bik", [(2, 2, 3), (1, 3, 4)]),
    ("...ij,...jk->...ik", [(5, 2, 3), (3, 4)]), ("i...j,j->i...", [(2, 4, 3), (3,)]), ("ii", [(3, 3)]),
    ("ii->i", [(3, 3)]), ("ij->j", [(2, 3)]), ("ij->", [(2, 3)]), ("i,i->", [(4,)] * 2), ("i,j->ij", [(2,), (3,)]),
    ("ij,ij,ij->i", [(2, 3)] * 3), ("i j , j k -> k i", [(2, 3), (3, 4)]), ("bii->bi", [(2, 3, 3)]),
    ("ijk->kji", [(2, 3, 4)]), ("iij->j", [(2, 2, 3)]),
]


@pytest.mark.parametrize("equation,shapes", EQUATIONS)
def test_einsum_matches_torch(equation, shapes):
    check(lambda m, *xs: m.einsum(equation, *xs), *(rand(*s, seed=i) for i, s in enumerate(shapes)))


def test_einsum_list_operands_and_layouts():
    check_layouts(lambda m, a, b: m.einsum("ij,jk->ik", [a, b]), rand(3, 3), rand(3, 3, seed=1))


@pytest.mark.parametrize("equation,shapes", [("ij,jk->ik", [(2, 3), (3, 2)]), ("ii->i", [(3, 3)]),
                                             ("bij,bj->bi", [(2, 2, 3), (1, 3)]), ("ij->j", [(2, 3)])])
def test_einsum_gradcheck(equation, shapes):
    gradcheck(lambda m, *xs: m.einsum(equation, *xs), *(rand(*s, seed=i) for i, s in enumerate(shapes)))


@pytest.mark.parametrize("fn,shapes", [
    (lambda m, a, b: m.matmul(a, b), [(3,), (3,)]),
    (lambda m, a, b: m.matmul(a, b), [(2, 3), (3,)]),
    (lambda m, a, b: m.matmul(a, b), [(3,), (3, 2)]),
    (lambda m, a, b: m.matmul(a, b), [(2, 3), (3, 2)]),
    (lambda m, a, b: m.matmul(a, b), [(2, 2, 3), (3, 2)]),
    (lambda m, a, b: m.matmul(a, b), [(2, 3), (2, 3, 2)]),
    (lambda m, a, b: m.addmm(a[0], a, b, beta=0.5, alpha=2.0), [(2, 3), (3, 3)]),
    (lambda m, a, b: m.cross(a, b, dim=-1), [(2, 3), (2, 3)]),
    (lambda m, a, b: m.tensordot(a, b, dims=1), [(2, 3), (3, 2)]),
    (lambda m, a, b: m.kron(a, b), [(2, 2), (2,)]),
])
def test_products_gradcheck(fn, shapes):
    gradcheck(fn, *(rand(*s, seed=i) for i, s in enumerate(shapes)))


def test_large_matmul_matches_torch():
    check(lambda m, a, b: a @ b, rand(64, 128), rand(128, 96, seed=1), atol=1e-3, rtol=1e-4)


def test_matmul_reads_transposed_inputs_without_copying(monkeypatch):
    a = ember.tensor(rand(64, 32)).t()
    seen = []
    xp_matmul = np.matmul
    monkeypatch.setattr(np, "matmul", lambda x, y: seen.append((x, y)) or xp_matmul(x, y))
    out = ember.mm(a, ember.tensor(rand(64, 8)))
    assert seen and np.shares_memory(seen[0][0], a._data)
    assert tuple(out.shape) == (32, 8)


def test_seed_article_linear_layer():
    x, w, b = rand(4, 3), rand(3, 2, seed=1), rand(2, seed=2)
    results = {}
    for lib in (ember, torch):
        xt = lib.tensor(x)
        wt, bt = lib.tensor(w, requires_grad=True), lib.tensor(b, requires_grad=True)
        y = xt.mm(wt) + bt
        y.sum().backward()
        results[lib.__name__] = (y.detach().numpy(), wt.grad.numpy(), bt.grad.numpy(), xt.grad)
    for e, t in zip(results["ember"][:3], results["torch"][:3]):
        np.testing.assert_allclose(e, t, rtol=1e-5, atol=1e-6)
    assert results["ember"][3] is None and results["torch"][3] is None


def _raises_like_torch(fn, *shapes, dtypes=None, exc=RuntimeError):
    dtypes = dtypes or [np.float32] * len(shapes)
    args = [rand(*s, dtype=d, seed=i) for i, (s, d) in enumerate(zip(shapes, dtypes))]
    with pytest.raises(exc) as t_err:
        fn(torch, *(torch.tensor(a) for a in args))
    with pytest.raises(exc) as e_err:
        fn(ember, *(ember.tensor(a) for a in args))
    assert str(e_err.value) == str(t_err.value)


@pytest.mark.parametrize("fn,shapes,dtypes", [
    (lambda m, a, b: m.mm(a, b), [(2, 3), (4, 5)], None),
    (lambda m, a, b: m.mm(a, b), [(2, 3), (3, 5)], [np.float32, np.float64]),
    (lambda m, a, b: m.mm(a, b), [(2, 3), (3, 5)], [np.int32, np.int64]),
    (lambda m, a, b: m.mm(a, b), [(2, 3, 1), (3, 5)], None),
    (lambda m, a, b: m.mm(a, b), [(2, 3), (3,)], None),
    (lambda m, a, b: m.bmm(a, b), [(2, 2, 3), (3, 3, 5)], None),
    (lambda m, a, b: m.bmm(a, b), [(2, 2, 3), (2, 3)], None),
    (lambda m, a, b: m.bmm(a, b), [(2, 2, 3), (2, 3, 4)], [np.float32, np.float64]),
    (lambda m, a, b: m.matmul(a, b), [(), (3, 4)], None),
    (lambda m, a, b: m.matmul(a, b), [(3,), (4,)], None),
    (lambda m, a, b: m.matmul(a, b), [(3,), (3,)], [np.float32, np.float64]),
    (lambda m, a, b: m.matmul(a, b), [(2, 3), (4,)], None),
    (lambda m, a, b: m.matmul(a, b), [(3,), (4, 5)], None),
    (lambda m, a, b: m.matmul(a, b), [(5, 2, 3), (4, 3, 4)], None),
    (lambda m, a, b: m.dot(a, b), [(3, 1), (3,)], None),
    (lambda m, a, b: m.mv(a, b), [(2, 3), (3, 1)], None),
    (lambda m, a, b: m.outer(a, b), [(2, 1), (3,)], None),
    (lambda m, a, b: m.inner(a, b), [(2, 3), (4, 2)], None),
    (lambda m, a, b, c: m.addmm(a, b, c), [(4,), (2, 3), (3, 3)], None),
    (lambda m, a, b, c: m.addmm(a, b, c), [(3,), (2, 3), (3, 3)], [np.float64, np.float32, np.float32]),
    (lambda m, a, b, c: m.addmv(a, b, c), [(2,), (2, 3), (3,)], [np.float64, np.float32, np.float64]),
    (lambda m, a, b: m.tensordot(a, b, dims=([1], [1])), [(2, 3, 4), (3, 4, 5)], None),
    (lambda m, a, b: m.tensordot(a, b, dims=-1), [(2, 3), (3, 4)], None),
    (lambda m, a, b: m.tensordot(a, b, dims=([1], [0, 1])), [(2, 3), (3, 4)], None),
    (lambda m, a, b: m.cross(a, b, dim=1), [(2, 4), (2, 4)], None),
    (lambda m, a, b: m.einsum("ij,jk->ik", a, b), [(2, 3), (4, 4)], None),
    (lambda m, a: m.einsum("ij,jk->ik", a), [(2, 3)], None),
    (lambda m, a, b, c: m.einsum("ij,jk->ik", a, b, c), [(2, 3), (3, 4), (4,)], None),
    (lambda m, a: m.einsum("ij->j", a), [(2, 3, 4)], None),
    (lambda m, a, b: m.einsum("ij,jk->ikl", a, b), [(2, 3), (3, 4)], None),
    (lambda m, a, b: m.einsum("ij,jk->ii", a, b), [(2, 3), (3, 4)], None),
    (lambda m, a, b: m.einsum("ij,jk->ik", a, b), [(2, 3), (3, 4)], [np.float32, np.float64]),
])
def test_errors_match_torch(fn, shapes, dtypes):
    _raises_like_torch(fn, *shapes, dtypes=dtypes)


def test_bool_matmul_is_not_implemented():
    _raises_like_torch(lambda m, a, b: m.mm(a, b), (2, 3), (3, 2), dtypes=[np.bool_, np.bool_],
                       exc=NotImplementedError)


def test_batched_inner_dim_error_names_shapes():
    with pytest.raises(RuntimeError, match=r"\[5, 2, 3\] and \[5, 4, 4\]"):
        ember.matmul(ember.tensor(rand(5, 2, 3)), ember.tensor(rand(5, 4, 4)))
