"""Factorisations and the solves built on them: ``*_ex`` forms, LU, LDL, eig, least
squares, Householder (geqrf/orgqr/ormqr) and the legacy top-level solvers."""
import numpy as np

from opdb.core import OpEntry, Sample, xfail
from opdb.entries.linalg import LINALG_DTYPES, _abs_vectors, _square, _squares, _symmetric

FLOAT_LINALG = ("float32", "float64")
EMPTY_INT_LU = xfail("values", "torch returns empty factors for an empty batch of integer matrices (its kernel never "
                               "runs); ember raises NotImplementedError as for any integer input", ("int64",), sample="[empty]")


def _triangular(make, n, *batch, upper=False):
    """A well-conditioned triangular matrix (``n`` added to the diagonal)."""
    v = make.rng.uniform(-1, 1, size=(*batch, n, n)) + n * np.eye(n)
    v = np.triu(v) if upper else np.tril(v)
    return make(*batch, n, n, values=np.round(v, 2) if make.floating else np.round(v))


def _systems(make):
    """A square system with one or several right-hand sides, batched and broadcast."""
    return [Sample(_square(make, 3), make(3, 2)), Sample(_square(make, 3, 2), make(2, 3, 1)),
            Sample(_square(make, 4, layout="transposed"), make(4, 3)), Sample(_square(make, 2), make(2, 0)),
            Sample(_square(make, 3), make(2, 3))]  # mismatched rows: RuntimeError


def _factor_solve(factor, solve):
    """``solve(*factor(A), B)``: a solver on the factorisation torch and ember each compute."""
    def recipe(lib):
        def fn(a, b):
            return solve(lib)(*factor(lib)(a), b)
        return fn
    return recipe


def _lu_factor(lib):
    return lib.linalg.lu_factor


def _ldl_factor(lib):
    def factor(a):
        n = a.shape[-1]
        return lib.linalg.ldl_factor(a @ a.mT + n * lib.eye(n, dtype=a.dtype, device=a.device))
    return factor


def _eig(lib):
    """Eigenvalues, and eigenvectors up to their phase (compared by modulus)."""
    return _abs_vectors(lib.linalg.eig)


def _eig_squares(make):
    """Matrices with distinct real eigenvalues (triangular plus a small perturbation)."""
    out = []
    for n, batch in ((3, ()), (2, (2,)), (1, ())):
        v = np.triu(make.rng.uniform(-1, 1, size=(*batch, n, n))) + np.diag(np.arange(1.0, n + 1) * 2)
        v += 0.05 * make.rng.uniform(-1, 1, size=v.shape)
        out.append(Sample(make(*batch, n, n, values=np.round(v, 3) if make.floating else np.round(v))))
    return out + [Sample(make(3, 4))]  # not square: RuntimeError


def _lstsq(make):
    return [Sample(make(5, 3), make(5, 2)), Sample(make(2, 4, 3), make(2, 4, 1)), Sample(_square(make, 3), make(3, 2)),
            Sample(make(4, 3, layout="transposed"), make(4, 2)), Sample(make(5, 3), make(4, 2))]  # rows differ


def _tensorsolve(make):
    a6 = _square(make, 6).values.reshape(2, 3, 6)
    return [Sample(make(2, 3, 6, values=a6), make(2, 3)), Sample(_square(make, 4), make(4)),
            Sample(make(6, 2, 3, values=a6.reshape(6, 6).T.reshape(6, 2, 3)), make(6), dims=None)]


def _householder(make):
    return [Sample(make(4, 3), make(3)), Sample(make(2, 3, 3), make(2, 2)), Sample(make(4, 3, layout="transposed"), make(2)),
            Sample(make(3, 3), make(4))]  # more reflectors than columns: RuntimeError


def _ormqr(make):
    return [Sample(make(4, 3), make(3), make(4, 2)), Sample(make(3, 3), make(3), make(2, 3), False),
            Sample(make(4, 3), make(3), make(4, 2), True, True), Sample(make(2, 3, 3), make(2, 3), make(2, 3, 3), False, True),
            Sample(make(4, 3), make(2), make(4, 2)), Sample(make(4, 3), make(3), make(5, 2))]  # bad shapes: RuntimeError


def _legacy_lu_solve(method):
    def recipe(lib):
        def fn(a, b):
            lu, piv = lib.linalg.lu_factor(a)
            return b.lu_solve(lu, piv) if method else lib.lu_solve(b, lu, piv)
        return fn
    return recipe


def _lu_unpack(lib):
    def fn(a):
        return lib.lu_unpack(*lib.linalg.lu_factor(a))
    return fn


def _on_triangle(name):
    """``name(B, L[, upper])``: the factor's triangle taken from a full input (torch reads only that one)."""
    def recipe(lib):
        def fn(b, a, *args):
            tri = a.triu() if args and args[0] else a.tril()
            return getattr(lib, name)(b, tri, *args)
        return fn
    return recipe


def _chol_samples(make):
    return [Sample(make(3, 2), _triangular(make, 3)), Sample(make(2, 3, 1), _triangular(make, 3, 2)),
            Sample(make(3, 2), _triangular(make, 3, upper=True), True)]


def _triangular_solve(make):
    return [Sample(make(3, 2), _triangular(make, 3, upper=True)), Sample(make(3, 2), _triangular(make, 3), False),
            Sample(make(2, 3, 2), _triangular(make, 3, 2, upper=True), True, True),
            Sample(make(3, 1), _triangular(make, 3), False, False, True)]


ENTRIES = [
    OpEntry("linalg.cholesky_ex", _squares, op=lambda lib: _symmetric(lib, lambda lib: lib.linalg.cholesky_ex),
            dtypes=LINALG_DTYPES),
    OpEntry("linalg.inv_ex", _squares, dtypes=LINALG_DTYPES),
    OpEntry("linalg.solve_ex", _systems, dtypes=LINALG_DTYPES),
    OpEntry("linalg.lu", _squares, dtypes=LINALG_DTYPES, skips=(EMPTY_INT_LU,)),
    OpEntry("linalg.lu_factor_ex", _squares, dtypes=LINALG_DTYPES, skips=(EMPTY_INT_LU,)),
    OpEntry("lu", lambda make: _squares(make) + [Sample(_square(make, 3), get_infos=True), Sample(make(3, 4)),
                                                 Sample(_square(make, 2), False)],  # no pivoting: RuntimeError
            dtypes=LINALG_DTYPES, skips=(EMPTY_INT_LU,) + tuple(
                xfail(t, "ember's LU derivative is implemented for square matrices only (NotImplementedError)",
                      sample="(3, 4)") for t in ("grad", "gradcheck", "gradgrad"))),
    OpEntry("linalg.lu_solve", _systems, op=_factor_solve(_lu_factor, lambda lib: lib.linalg.lu_solve),
            dtypes=FLOAT_LINALG),
    OpEntry("lu_solve", _systems, op=_legacy_lu_solve(False), dtypes=FLOAT_LINALG),
    OpEntry("Tensor.lu_solve", _systems, op=_legacy_lu_solve(True), dtypes=FLOAT_LINALG),
    OpEntry("lu_unpack", _squares, op=_lu_unpack, dtypes=FLOAT_LINALG),
    OpEntry("linalg.ldl_factor", _squares, op=lambda lib: _ldl_factor(lib), dtypes=FLOAT_LINALG, differentiable=False),
    OpEntry("linalg.ldl_factor_ex", _squares, op=lambda lib: _symmetric(lib, lambda lib: lib.linalg.ldl_factor_ex),
            dtypes=FLOAT_LINALG, differentiable=False),
    OpEntry("linalg.ldl_solve", _systems, op=_factor_solve(_ldl_factor, lambda lib: lib.linalg.ldl_solve),
            dtypes=FLOAT_LINALG, differentiable=False),
    OpEntry("linalg.eig", _eig_squares, op=_eig, dtypes=LINALG_DTYPES),
    OpEntry("linalg.eigvals", _eig_squares, dtypes=LINALG_DTYPES),
    OpEntry("linalg.lstsq", _lstsq, dtypes=LINALG_DTYPES),
    OpEntry("linalg.tensorsolve", _tensorsolve, dtypes=LINALG_DTYPES),
    OpEntry("chain_matmul", lambda make: [Sample(make(2, 3), make(3, 4), make(4, 2)), Sample(make(3, 3)),
                                          Sample(make(2, 3, layout="transposed"), make(3, 0)),
                                          Sample(make(2, 3), make(4, 2))], dtypes=LINALG_DTYPES),
    OpEntry("cholesky_solve", _chol_samples, op=_on_triangle("cholesky_solve"), method="cholesky_solve",
            dtypes=LINALG_DTYPES),
    OpEntry("cholesky_inverse", lambda make: [Sample(_triangular(make, 3)), Sample(_triangular(make, 3, 2)),
                                              Sample(_triangular(make, 3, upper=True), True)],
            op=lambda lib: lambda a, *args: lib.cholesky_inverse(a.triu() if args else a.tril(), *args),
            method="cholesky_inverse", dtypes=LINALG_DTYPES),
    OpEntry("triangular_solve", _triangular_solve, dtypes=LINALG_DTYPES),
    OpEntry("geqrf", lambda make: [Sample(make(4, 3)), Sample(make(2, 3, 3)), Sample(make(3, 4, layout="transposed"))],
            dtypes=LINALG_DTYPES, differentiable=False),
    OpEntry("orgqr", _householder, dtypes=LINALG_DTYPES),
    OpEntry("ormqr", _ormqr, dtypes=LINALG_DTYPES),
    OpEntry("nuclear_norm", lambda make: [Sample(make(3, 4)), Sample(make(2, 3, 3), (1, 2)),
                                          Sample(make(3, 4, layout="transposed"), keepdim=True)], dtypes=FLOAT_LINALG),
]
