"""LU factorization and triangular solves: ``linalg.lu``, ``lu_factor(_ex)``, ``lu_solve``,
``lu_unpack`` and ``solve_triangular``.

The factorization runs LAPACK's getrf through scipy.linalg, one matrix at a time; its
derivative (square matrices) is the usual one: with ``A = P L U``,
``grad A = P L^-H (tril_-1(L^H gL) + triu(gU U^H)) U^-H``. Everything else is composed
from it and from triangular solves, so it is differentiable too.
"""
from collections import namedtuple

import numpy as np

from ember._tensor import Tensor
from ember.backend.dtype import int32
from ember.creation import eye
from ember.ops.decomp import LinAlgError, check_kernel_dtype, check_matrix, linalg_solve
from ember.ops.dispatch import apply, per_sample, primitive, xp_of
from ember.ops.pad import constant_pad_nd
from ember.ops.out import accepts_out

LUResult = namedtuple("linalg_lu", ["P", "L", "U"])
LUFactorResult = namedtuple("linalg_lu_factor", ["LU", "pivots"])
LUFactorExResult = namedtuple("linalg_lu_factor_ex", ["LU", "pivots", "info"])
LUUnpackResult = namedtuple("lu_unpack", ["P", "L", "U"])


def _scipy_linalg():
    import scipy.linalg  # scipy loads on first use, not with ember
    return scipy.linalg


def _host(a):
    return a if isinstance(a, np.ndarray) else a.get()


def getrf(a):
    """Per matrix of the stack: (P, L, U, 1-based pivots, info) with A = P L U."""
    sl = _scipy_linalg()
    a = _host(a)
    m, n = a.shape[-2:]
    k = min(m, n)
    flat = a.reshape((-1, m, n))
    batch = a.shape[:-2]
    if flat.shape[0] == 0:  # an empty batch: empty factors
        def empty(*shape, dtype=a.dtype):
            return np.zeros(batch + shape, dtype=dtype)
        return empty(m, m), empty(m, k), empty(k, n), empty(k, dtype=np.int32), empty(dtype=np.int32)
    ps, ls, us, pivs, infos = [], [], [], [], []
    for mat in flat:
        lu, piv, info = sl.lapack.get_lapack_funcs("getrf", (mat,))(mat)
        perm = np.arange(m)
        for i, j in enumerate(piv[:k]):
            perm[i], perm[j] = perm[j], perm[i]
        p = np.zeros((m, m), dtype=a.dtype)
        p[perm, np.arange(m)] = 1
        low = np.tril(lu[:, :k], -1) + np.eye(m, k, dtype=a.dtype)
        ps.append(p)
        ls.append(low)
        us.append(np.triu(lu[:k, :]))
        pivs.append(piv[:k] + 1)
        infos.append(info)
    return (np.stack(ps).reshape(batch + (m, m)), np.stack(ls).reshape(batch + (m, k)),
            np.stack(us).reshape(batch + (k, n)), np.stack(pivs).astype(np.int32).reshape(batch + (k,)),
            np.asarray(infos, dtype=np.int32).reshape(batch))


@primitive("LinalgLuBackward0", save_output=(1, 2))
def _lu(ctx, xp, a):
    p, low, up, _, _ = getrf(a)
    ctx.p = xp.asarray(p)
    return ctx.p, xp.asarray(low), xp.asarray(up)


@_lu.derivative
def _(ctx, gp, gl, gu):
    low, up = ctx.saved_tensors
    if low.shape[-2] != up.shape[-1]:
        raise NotImplementedError("linalg.lu: the derivative is implemented for square matrices only")
    if gl is None and gu is None:  # only P was used: it is piecewise constant
        return None
    p = Tensor._make(ctx.p, low._dtype, low._device)
    inner = 0
    if gl is not None:
        inner = (low.mH @ gl).tril(-1)
    if gu is not None:
        inner = inner + (gu @ up.mH).triu()
    x = solve_triangular(low.mH, inner, upper=True, unitriangular=True)
    x = solve_triangular(up.mH, x, upper=False, left=False)
    return p @ x


def lu(A, *, pivot=True):  # noqa: N803 - PyTorch's argument names
    """``P, L, U`` with ``A == P @ L @ U``, ``L`` unit lower triangular and ``U`` upper triangular."""
    check_kernel_dtype("lu_cpu", A)
    check_matrix(A, "lu", square=False)
    if not pivot:
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU")
    return LUResult(*apply(_lu, (A,), {}))


@per_sample
def lu_factor_ex(A, *, pivot=True, check_errors=False):  # noqa: N803
    """The compact LU (``L`` below the diagonal, ``U`` on and above it), LAPACK's 1-based pivots and ``info``."""
    check_kernel_dtype("lu_cpu", A)
    check_matrix(A, "lu_factor", square=False)
    _, _, _, pivots, info = getrf(A._data)
    if check_errors and info.any():
        raise LinAlgError(f"torch.linalg.lu_factor: U[{info.max()},{info.max()}] is zero, singular U.")
    p, low, up = lu(A, pivot=pivot)
    m, n = A.shape[-2:]
    packed = _pad_to(low, m, n) - _eye_like(A, m, n) + _pad_to(up, m, n)
    return LUFactorExResult(packed, _int_tensor(pivots, A), _int_tensor(info, A))


def lu_factor(A, *, pivot=True):  # noqa: N803
    """``LU, pivots`` as LAPACK's getrf returns them (see ``lu_factor_ex``); singular matrices are allowed."""
    packed, pivots, _ = lu_factor_ex(A, pivot=pivot)
    return LUFactorResult(packed, pivots)


def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True):  # noqa: N803
    """``P, L, U`` from ``lu_factor``'s compact form and pivots."""
    m, n = LU_data.shape[-2:]
    k = min(m, n)
    low = (LU_data[..., :, :k].tril(-1) + _eye_like(LU_data, m, k)) if unpack_data else None
    up = LU_data[..., :k, :].triu() if unpack_data else None
    p = _permutation(LU_pivots, m, LU_data) if unpack_pivots else None
    return LUUnpackResult(p, low, up)


@accepts_out
def lu_solve(LU, pivots, B, *, left=True, adjoint=False):  # noqa: N803
    """The solution of ``A X = B`` (``X A = B`` with ``left=False``; ``A^H`` with ``adjoint``) from ``lu_factor``."""
    p, low, up = lu_unpack(LU, pivots)
    if left and not adjoint:  # P L U X = B
        y = solve_triangular(low, p.mT @ B, upper=False, unitriangular=True)
        return solve_triangular(up, y, upper=True)
    if left:  # U^H L^H P^T X = B
        y = solve_triangular(up.mH, B, upper=False)
        return p @ solve_triangular(low.mH, y, upper=True, unitriangular=True)
    if not adjoint:  # X P L U = B
        y = solve_triangular(up, B, upper=True, left=False)
        return solve_triangular(low, y, upper=False, left=False, unitriangular=True) @ p.mT
    y = B @ p  # X U^H L^H P^T = B
    y = solve_triangular(low.mH, y, upper=True, left=False, unitriangular=True)
    return solve_triangular(up.mH, y, upper=False, left=False)


@accepts_out
def solve_triangular(A, B, *, upper, left=True, unitriangular=False):  # noqa: N803
    """The solution of ``A X = B`` (``X A = B`` with ``left=False``) for a triangular ``A``; only
    its triangle (and, unless ``unitriangular``, its diagonal) is read."""
    check_matrix(A, "solve_triangular")
    if B.dim() < 2:
        raise RuntimeError("linalg.solve_triangular: The input tensor B must have at least 2 dimensions.")
    tri = A.triu() if upper else A.tril()
    if unitriangular:
        n = A.shape[-1]
        tri = tri - tri.diagonal(0, -2, -1).diag_embed() + _eye_like(A, n, n)
    return linalg_solve(tri, B, left=left)


def _eye_like(t, m, n):
    return eye(m, n, dtype=t._dtype, device=t._device)


def _pad_to(t, m, n):
    """``t`` placed in the top-left corner of an ``m x n`` zero matrix (the compact LU's layout)."""
    rows, cols = t.shape[-2:]
    if (rows, cols) == (m, n):
        return t
    return constant_pad_nd(t, (0, n - cols, 0, m - rows))


@per_sample
def _permutation(pivots, m, like):
    """The permutation matrices of LAPACK's 1-based row swaps, built where the pivots are (swap ``i``
    runs over the whole batch at once)."""
    xp = xp_of(like._device)
    piv = pivots._data.astype(np.int64) - 1
    batch = piv.shape[:-1]
    flat = piv.reshape((-1, piv.shape[-1]))
    rows = xp.arange(flat.shape[0])
    perm = xp.broadcast_to(xp.arange(m), (flat.shape[0], m)).copy()
    for i in range(flat.shape[1]):
        j = flat[:, i]
        swapped = perm[rows, j]
        perm[rows, j] = perm[:, i]
        perm[:, i] = swapped
    out = xp.zeros((flat.shape[0], m, m), dtype=like._dtype.np)
    out[rows[:, None], perm, xp.arange(m)] = 1
    return Tensor._make(out.reshape(batch + (m, m)), like._dtype, like._device)


def _int_tensor(a, like):
    """A host int32 result of ``getrf`` as a tensor on ``like``'s device."""
    return Tensor._make(xp_of(like._device).asarray(np.asarray(a, dtype=np.int32)), int32, like._device)
