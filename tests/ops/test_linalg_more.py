"""The rest of torch.linalg (LU, triangular solves, eig, matrix_exp, lstsq, cond, LDL, the *_ex forms,
vander, tensorinv/tensorsolve, householder_product) against torch: values, gradients, gradcheck, errors."""
import numpy as np
import pytest
import torch

import ember
from tests.oracle import check, gradcheck, rand


def _square(*batch, n=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((*batch, n, n)) + n * np.eye(n)  # well conditioned


A, B = _square(2), np.random.default_rng(1).standard_normal((2, 4, 3))


def test_lu_and_lu_factor_match_torch():
    check(lambda lib, a: lib.linalg.lu(a), A, atol=1e-10)
    check(lambda lib, a: lib.linalg.lu_factor(a), A, atol=1e-10)
    check(lambda lib, a: lib.linalg.lu_factor_ex(a), _square(3, seed=4), grad=False)
    check(lambda lib, a: lib.lu_unpack(*lib.linalg.lu_factor(a)), A, atol=1e-10)
    gradcheck(lambda lib, a: lib.linalg.lu(a)[1:], _square(n=3))


@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("adjoint", [True, False])
def test_lu_solve_matches_torch(left, adjoint):
    b = B if left else np.swapaxes(B, -1, -2)
    check(lambda lib, a, r: lib.linalg.lu_solve(*lib.linalg.lu_factor(a), r, left=left, adjoint=adjoint), A, b,
          atol=1e-9)


@pytest.mark.parametrize("upper", [True, False])
@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("unit", [True, False])
def test_solve_triangular_matches_torch(upper, left, unit):
    b = B if left else np.swapaxes(B, -1, -2)
    fn = lambda lib, a, r: lib.linalg.solve_triangular(a, r, upper=upper, left=left, unitriangular=unit)  # noqa: E731
    check(fn, A, b, atol=1e-9)
    check(fn, A, b, layout="transposed", atol=1e-9)
    gradcheck(fn, _square(n=3), np.ones((3, 3)) if left else np.ones((3, 3)), gradgrad=False)


def test_matrix_exp_matches_torch():
    check(lambda lib, a: lib.linalg.matrix_exp(a), A * 0.2, atol=1e-9)
    check(lambda lib, a: lib.matrix_exp(a), A[0] * 0.2, atol=1e-9)
    gradcheck(lambda lib, a: lib.linalg.matrix_exp(a), A[0, :3, :3] * 0.2)


def test_eig_matches_torch():
    check(lambda lib, a: lib.linalg.eig(a), A, atol=1e-9, grad=False)  # eigenvectors: a phase-free loss below
    check(lambda lib, a: lib.linalg.eigvals(a), A, atol=1e-9)
    check(lambda lib, a: lib.linalg.eigvals(a), rand(3, 3, dtype=np.complex128), atol=1e-9)
    check(lambda lib, a: lib.linalg.eig(a)[1].abs(), A, atol=1e-9)  # |V| does not depend on the phase
    out = ember.linalg.eig(ember.tensor(A))
    assert out.eigenvalues.dtype is ember.complex128 and out.eigenvectors.dtype is ember.complex128
    # eigenvalue gradients only: eigenvectors carry an arbitrary phase
    gradcheck(lambda lib, a: lib.view_as_real(lib.linalg.eigvals(a)), _square(n=3, seed=5), gradgrad=False)


@pytest.mark.parametrize("driver", [None, "gelsd", "gelss", "gels"])
def test_lstsq_matches_torch(driver):
    a, b = rand(6, 3, dtype=np.float64, seed=2), rand(6, 2, dtype=np.float64, seed=3)
    check(lambda lib, x, y: lib.linalg.lstsq(x, y, driver=driver), a, b, atol=1e-9)
    gradcheck(lambda lib, x, y: lib.linalg.lstsq(x, y, driver=driver).solution, a, b, gradgrad=False)


def test_cond_vander_tensor_functions_and_householder():
    check(lambda lib, a: lib.linalg.cond(a), A, atol=1e-9)
    check(lambda lib, a: lib.linalg.cond(a, -2), A, atol=1e-9)
    for p in ("fro", "nuc", 1, float("inf")):
        check(lambda lib, a: lib.linalg.cond(a, p), A, atol=1e-9, grad=False)
    check(lambda lib, x: lib.linalg.vander(x, N=4), rand(2, 3, dtype=np.float64), atol=1e-9)
    check(lambda lib, x: lib.linalg.vander(x), np.arange(3), grad=False)
    check(lambda lib, a: lib.linalg.tensorinv(a, 2), rand(4, 2, 8, dtype=np.float64, seed=9) + np.eye(8).reshape(4, 2, 8),
          atol=1e-9)
    check(lambda lib, a, b: lib.linalg.tensorsolve(a, b), _square(n=6).reshape(2, 3, 6), rand(2, 3, dtype=np.float64),
          atol=1e-9)
    check(lambda lib, a, b: lib.linalg.tensorsolve(a, b, dims=(0,)), _square(n=6).reshape(6, 2, 3),
          rand(2, 3, dtype=np.float64), atol=1e-9)
    check(lambda lib, a, t: lib.linalg.householder_product(a, t), rand(5, 3, dtype=np.float64),
          rand(2, dtype=np.float64), atol=1e-9)
    gradcheck(lambda lib, a, t: lib.linalg.householder_product(a, t), rand(4, 2, dtype=np.float64),
              rand(2, dtype=np.float64), gradgrad=False)
    check(lambda lib, a: lib.linalg.diagonal(a, offset=1), A)


def test_ex_forms_report_info_like_torch():
    check(lambda lib, a: lib.linalg.inv_ex(a), A, atol=1e-9)
    check(lambda lib, a: lib.linalg.cholesky_ex(a @ a.mT), A, atol=1e-9)
    check(lambda lib, a, b: lib.linalg.solve_ex(a, b), A, B, atol=1e-9)
    for lib in (ember, torch):
        assert int(lib.linalg.inv_ex(lib.zeros(2, 2, dtype=lib.float64)).info) == 1
        assert int(lib.linalg.cholesky_ex(-lib.eye(3, dtype=lib.float64)).info) == 1
        singular = lib.tensor([[1.0, 0.0], [0.0, 0.0]], dtype=lib.float64)
        assert int(lib.linalg.solve_ex(singular, lib.ones(2, 1, dtype=lib.float64)).info) == 2
        with pytest.raises(lib.linalg.LinAlgError):
            lib.linalg.inv_ex(lib.zeros(2, 2), check_errors=True)


def test_ldl_factor_and_solve_match_torch():
    s = A + np.swapaxes(A, -1, -2)
    check(lambda lib, a: lib.linalg.ldl_factor(a), s, grad=False, atol=1e-10)
    check(lambda lib, a: lib.linalg.ldl_factor_ex(a), s, grad=False, atol=1e-10)
    check(lambda lib, a, b: lib.linalg.ldl_solve(*lib.linalg.ldl_factor(a), b), s, B, grad=False, atol=1e-9)


def test_errors_match_torch():
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="must be batches of square matrices"):
            lib.linalg.matrix_exp(lib.ones(2, 3))
        with pytest.raises(RuntimeError, match="parameter `driver` should be one of"):
            lib.linalg.lstsq(lib.ones(3, 2), lib.ones(3, 1), driver="bogus")
        with pytest.raises(RuntimeError, match="Expected a strictly positive integer for 'ind'"):
            lib.linalg.tensorinv(lib.ones(2, 2), ind=0)
