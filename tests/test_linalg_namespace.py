"""ember.linalg (ember/linalg.py, ember/ops/decomp.py) against torch.linalg."""
import numpy as np
import pytest
import torch

import ember
from oracle import check, check_layouts, gradcheck, rand


def spd(*shape, seed=0, dtype=np.float32):
    """Well-conditioned symmetric positive-definite matrices A A^T + n I."""
    a = rand(*shape, seed=seed).astype(np.float64)
    return (a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])).astype(dtype)


def well(*shape, seed=0):
    """Well-conditioned square matrices: random plus a dominant diagonal."""
    return (rand(*shape, seed=seed) + 3 * np.eye(shape[-1])).astype(np.float32)


def sym(m, a):
    return (a + a.mT) / 2


@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4), (0, 0)])
def test_inv_det_slogdet(shape):
    a = well(*shape)
    check_layouts(lambda m, x: m.linalg.inv(x), a)
    check_layouts(lambda m, x: (m.linalg.det(x), m.det(x), x.det()), a)
    check(lambda m, x: tuple(m.linalg.slogdet(x)), a)
    check(lambda m, x: (m.logdet(x @ x.mT), m.inverse(x)), a, atol=1e-4)


@pytest.mark.parametrize("a_shape,b_shape,left", [
    ((3, 3), (3,), True), ((3, 3), (3, 2), True), ((2, 3, 3), (3, 2), True), ((2, 3, 3), (3,), True),
    ((2, 3, 3), (2, 3), True), ((3, 3), (2, 3), False), ((2, 3, 3), (1, 4, 3), False),
])
def test_solve(a_shape, b_shape, left):
    check_layouts(lambda m, a, b: m.linalg.solve(a, b, left=left), well(*a_shape), rand(*b_shape, seed=1),
                  atol=1e-4)


@pytest.mark.filterwarnings("ignore:torch.cholesky is deprecated")
@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4)])
@pytest.mark.parametrize("upper", [False, True])
def test_cholesky(shape, upper):
    check(lambda m, a: m.linalg.cholesky(sym(m, a), upper=upper), spd(*shape), atol=1e-4)
    check(lambda m, a: m.cholesky(sym(m, a), upper), spd(*shape), atol=1e-4)


@pytest.mark.parametrize("shape", [(4, 3), (3, 3), (2, 5, 3), (3, 5)])
def test_qr(shape):
    check_layouts(lambda m, a: tuple(m.linalg.qr(a)), rand(*shape), atol=1e-4)
    check(lambda m, a: tuple(m.linalg.qr(a, mode="complete")), rand(*shape), grad=shape[-2] <= shape[-1], atol=1e-4)
    check(lambda m, a: m.linalg.qr(a, mode="r")[1], rand(*shape), grad=False, atol=1e-4)


@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (2, 3, 3), (2, 5, 2)])
def test_svd_gauge_invariant(shape):
    a = rand(*shape)
    check_layouts(lambda m, x: m.linalg.svdvals(x), a, atol=1e-4)

    def invariants(m, x):
        u, s, vh = m.linalg.svd(x, full_matrices=False)
        return s, u @ vh, (u * s.unsqueeze(-2)) @ vh, u @ u.mT, vh.mT @ vh

    check_layouts(invariants, a, atol=1e-4)
    check(lambda m, x: (lambda u, s, vh: (s, u[..., :, :2] @ vh[..., :2, :]))(*m.linalg.svd(x)), a, atol=1e-4)


def test_svd_vectors_match_torch_lapack():
    a = rand(5, 3)
    check(lambda m, x: tuple(m.linalg.svd(x, full_matrices=False)), a, atol=1e-4, grad_atol=1e-3)
    check(lambda m, x: m.svd(x), a, atol=1e-4, grad_atol=1e-3)


def test_eigh():
    check(lambda m, a: m.linalg.eigvalsh(sym(m, a)), spd(4, 4, seed=3))
    check(lambda m, a: m.linalg.eigh(sym(m, a))[0], spd(4, 4, seed=3), atol=1e-4)

    def invariant(m, a):  # eigenvectors only up to sign: v_i v_i^T is unique
        w, v = m.linalg.eigh(sym(m, a))
        return (v * w.unsqueeze(-2)) @ v.mT, v[..., :1] @ v[..., :1].mT

    check(invariant, spd(2, 4, 4, seed=3), atol=1e-4)


@pytest.mark.parametrize("fn", [
    lambda m, x: m.linalg.vector_norm(x),
    lambda m, x: m.linalg.vector_norm(x, 1, dim=1),
    lambda m, x: m.linalg.vector_norm(x, float("inf"), dim=1),
    lambda m, x: m.linalg.vector_norm(x, -float("inf"), dim=0, keepdim=True),
    lambda m, x: m.linalg.vector_norm(x, 3, dim=(0, 1)),
    lambda m, x: m.linalg.vector_norm(x, 0.5, dim=-1, keepdim=True),
    lambda m, x: m.linalg.vector_norm(x, 0),
    lambda m, x: m.linalg.norm(x),
    lambda m, x: m.linalg.norm(x, 1),
    lambda m, x: m.linalg.norm(x, float("inf"), dim=(0, 1)),
    lambda m, x: m.linalg.norm(x[0], 3),
    lambda m, x: m.linalg.norm(x, dim=1),
    lambda m, x: m.linalg.matrix_norm(x),
    lambda m, x: m.linalg.matrix_norm(x, "nuc"),
    lambda m, x: m.linalg.matrix_norm(x, 2),
    lambda m, x: m.linalg.matrix_norm(x, -2, keepdim=True),
    lambda m, x: m.linalg.matrix_norm(x, 1, dim=(1, 0)),
    lambda m, x: m.linalg.matrix_norm(x, -1),
    lambda m, x: m.linalg.matrix_norm(x, float("inf"), keepdim=True),
    lambda m, x: m.linalg.matrix_norm(x, -float("inf")),
    lambda m, x: (m.norm(x), x.norm(), x.norm(dim=1), x.norm(p=1), x.norm(p="nuc")),
])
def test_norms(fn):
    check_layouts(fn, rand(3, 4), atol=1e-4)


def test_batched_matrix_norms_and_zero_vector():
    check(lambda m, x: [m.linalg.matrix_norm(x, o) for o in ("fro", "nuc", 2, 1, float("inf"))], rand(2, 3, 4),
          atol=1e-4)
    check(lambda m, x: (m.linalg.vector_norm(x * 0, dim=1), m.linalg.vector_norm(x, dtype=m.float64)), rand(2, 3))


def test_pinv_rank_multi_dot_power():
    a = rand(4, 3)
    check(lambda m, x: (m.linalg.pinv(x), m.pinverse(x)), a, atol=1e-4, grad_atol=1e-3)
    low_rank = rand(4, 2) @ rand(2, 5, seed=1)
    check(lambda m, x: (m.linalg.matrix_rank(x), m.linalg.matrix_rank(x, atol=100.0)), low_rank, grad=False)
    check(lambda m, a, b, c: m.linalg.multi_dot([a, b, c]), rand(3), rand(3, 4, seed=1), rand(4, 2, seed=2))
    check(lambda m, x: [m.linalg.matrix_power(x, n) for n in (0, 1, 3, -2)], well(2, 3, 3), atol=1e-4)
    check(lambda m, x, y: m.linalg.vecdot(x, y), rand(2, 3), rand(2, 3, seed=1))


@pytest.mark.parametrize("name,fn,make", [
    ("inv", lambda m, a: m.linalg.inv(a), well),
    ("det", lambda m, a: m.linalg.det(a), well),
    ("slogdet", lambda m, a: m.linalg.slogdet(a)[1], well),
    ("solve", lambda m, a: m.linalg.solve(a, a[..., :1] * 2 + 1), well),
    ("solve_left_false", lambda m, a: m.linalg.solve(a, a[..., :1, :] + 1, left=False), well),
    ("cholesky", lambda m, a: m.linalg.cholesky(sym(m, a)), spd),
    ("cholesky_upper", lambda m, a: m.linalg.cholesky(sym(m, a), upper=True), spd),
    ("qr_tall", lambda m, a: m.linalg.qr(a[..., :2]), well),
    ("qr_wide", lambda m, a: m.linalg.qr(a[..., :2, :]), well),
    ("svdvals", lambda m, a: m.linalg.svdvals(a), well),
    ("svd_uv", lambda m, a: (lambda u, s, vh: u @ vh)(*m.linalg.svd(a[..., :2], full_matrices=False)), well),
    ("svd_wide", lambda m, a: (lambda u, s, vh: (u @ vh, s))(*m.linalg.svd(a[..., :2, :], full_matrices=False)),
     well),
    ("eigh", lambda m, a: (lambda w, v: (w, v @ (v * w.unsqueeze(-2)).mT))(*m.linalg.eigh(sym(m, a))), spd),
    ("vector_norm", lambda m, a: m.linalg.vector_norm(a, 3, dim=-1), well),
    ("matrix_norm_nuc", lambda m, a: m.linalg.matrix_norm(a, "nuc"), well),
])
@pytest.mark.parametrize("batch", [(), (2,)])
def test_gradcheck(name, fn, make, batch):
    gradcheck(fn, make(*batch, 3, 3).astype(np.float64))


def test_det_gradient_batched_matches_torch():
    check(lambda m, a: m.linalg.det(a).sum() * m.linalg.det(a), well(3, 3, 3), atol=1e-3)


def _error_pair(fn, *arrays):
    with pytest.raises(RuntimeError) as t_err:
        fn(torch, *(torch.tensor(a) for a in arrays))
    with pytest.raises(RuntimeError) as e_err:
        fn(ember, *(ember.tensor(a) for a in arrays))
    return str(e_err.value), str(t_err.value)


@pytest.mark.parametrize("fn,arrays", [
    (lambda m, a: m.linalg.inv(a), [rand(2, 3)]),
    (lambda m, a: m.linalg.inv(a), [rand(3, 3, dtype=np.int64)]),
    (lambda m, a: m.linalg.det(a), [rand(2, 3)]),
    (lambda m, a: m.linalg.solve(a, a[0, :2]), [rand(3, 3)]),
    (lambda m, a: m.linalg.solve(a, a[:, :2] * 1, left=False), [rand(3, 3)]),
    (lambda m, a: m.linalg.qr(a, mode="bad"), [rand(3, 3)]),
    (lambda m, a: m.linalg.norm(a, 2), [rand(2, 3, 4)]),
    (lambda m, a: m.linalg.matrix_norm(a, 3), [rand(3, 4)]),
    (lambda m, a: m.linalg.matrix_norm(a), [rand(4)]),
    (lambda m, a: m.linalg.vector_norm(a), [rand(4, dtype=np.int64)]),
    (lambda m, a: m.linalg.cholesky(a), [-spd(3, 3)]),
    (lambda m, a: m.linalg.cholesky(a), [np.stack([spd(3, 3), np.diag([1.0, -1.0, 1.0]).astype(np.float32)])]),
])
def test_errors_match_torch(fn, arrays):
    ember_msg, torch_msg = _error_pair(fn, *arrays)
    assert ember_msg == torch_msg


@pytest.mark.parametrize("fn", [lambda m, a: m.linalg.inv(a), lambda m, a: m.linalg.solve(a, a[..., 0])])
def test_singular_matrix_raises_linalg_error_naming_the_batch_element(fn):
    a = np.stack([np.eye(3), np.zeros((3, 3))]).astype(np.float32)
    with pytest.raises(torch.linalg.LinAlgError):
        fn(torch, torch.tensor(a))
    with pytest.raises(ember.linalg.LinAlgError, match=r"\(Batch element 1\).*singular"):
        fn(ember, ember.tensor(a))
    assert issubclass(ember.linalg.LinAlgError, RuntimeError)
    with pytest.raises(ember.linalg.LinAlgError, match=r"^linalg.inv: The inversion could not be completed"):
        ember.linalg.inv(ember.zeros(2, 2))


def test_qr_backward_errors_when_q_is_not_computed():
    a = ember.tensor(rand(4, 3), requires_grad=True)
    with pytest.raises(RuntimeError, match="mode='r'"):
        ember.linalg.qr(a, mode="r")[1].sum().backward()
    with pytest.raises(RuntimeError, match="mode='complete' and nrows > ncols"):
        ember.linalg.qr(a, mode="complete")[0].sum().backward()


def test_node_names_match_torch():
    names = []
    for lib in (ember, torch):
        a = lib.tensor(spd(3, 3), requires_grad=True)
        outs = [lib.linalg.inv(a), lib.linalg.det(a), lib.linalg.slogdet(a)[1], lib.linalg.solve(a, a[0]),
                lib.linalg.cholesky(a), lib.linalg.qr(a)[0], lib.linalg.svd(a)[1], lib.linalg.svdvals(a),
                lib.linalg.eigh(a)[0], lib.linalg.vector_norm(a), lib.linalg.matrix_norm(a), lib.linalg.cross(a, a)]
        names.append([o.grad_fn.name() for o in outs])
    assert names[0] == names[1]
