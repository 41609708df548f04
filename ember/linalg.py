"""``ember.linalg``: PyTorch's ``torch.linalg`` namespace.

The factorizations and their derivatives live in ``ember.ops.decomp``; this module adds
the norms and the functions composed from them (pinv, matrix_rank, multi_dot,
matrix_power), plus the legacy top-level names (``ember.det``, ``Tensor.norm``).

>>> import ember
>>> A = ember.tensor([[4.0, 1.0], [1.0, 3.0]])
>>> ember.linalg.solve(A, ember.tensor([1.0, 2.0]))
tensor([0.0909, 0.6364])
"""
import math
from collections import namedtuple

from ember.autograd import no_grad
from ember.ops.binary import maximum
from ember.ops.decomp import (
    EighResult, LinAlgError, QRResult, SlogdetResult, SVDResult, check_kernel_dtype, check_matrix,
    linalg_cholesky as cholesky, linalg_det as det, linalg_eigh as eigh, linalg_eigvalsh as eigvalsh,
    linalg_inv as inv, linalg_qr as qr, linalg_slogdet as slogdet, linalg_solve as solve, linalg_svd as svd,
    linalg_svdvals as svdvals, _eye,
)
from ember.ops.dispatch import apply
from ember.ops.eig import EigResult, eig, eigvals, matrix_exp
from ember.ops.linalg_composed import (
    CholeskyExResult, InvExResult, LDLFactorExResult, LDLFactorResult, LstsqResult, SolveExResult, cholesky_ex,
    geqrf as _geqrf_fn, householder_product, inv_ex, ldl_factor, ldl_factor_ex, ldl_solve, lstsq, solve_ex, tensorinv,
    tensorsolve,
    ormqr as _ormqr_fn, vander,
)
from ember.ops.lu import (
    LUFactorExResult, LUFactorResult, LUResult, lu, lu_factor, lu_factor_ex, lu_solve, lu_unpack, solve_triangular,
)
from ember.ops.linalg import _scalar_name, cross as _cross, matmul
from ember.ops.registry import public
from ember.ops.vector_norm import _vector_norm

__all__ = [
    "LinAlgError", "EighResult", "QRResult", "SlogdetResult", "SVDResult", "cholesky", "cross", "det", "eigh",
    "eigvalsh", "inv", "matmul", "matrix_norm", "matrix_power", "matrix_rank", "multi_dot", "norm", "pinv", "qr",
    "slogdet", "solve", "svd", "svdvals", "vecdot", "vector_norm",
    "CholeskyExResult", "EigResult", "InvExResult", "LDLFactorExResult", "LDLFactorResult", "LUFactorExResult",
    "LUFactorResult", "LUResult", "LstsqResult", "SolveExResult", "cholesky_ex", "cond", "diagonal", "eig",
    "eigvals", "householder_product", "inv_ex", "ldl_factor", "ldl_factor_ex", "ldl_solve", "lstsq", "lu",
    "lu_factor", "lu_factor_ex", "lu_solve", "matrix_exp", "solve_ex", "solve_triangular", "tensorinv",
    "tensorsolve", "vander",
]
_INF = math.inf
TriangularSolveResult = namedtuple("triangular_solve", ["solution", "cloned_coefficient"])


# vector norm ---------------------------------------------------------------------------------------------

def _dims(dim, n):
    if dim is None:
        return tuple(range(n))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    for d in dims:
        if not -max(n, 1) <= d < max(n, 1):
            raise IndexError(f"Dimension out of range (expected to be in range of [{-max(n, 1)}, {max(n, 1) - 1}], "
                             f"but got {d})")
    return tuple(sorted(d % max(n, 1) for d in dims)) if n else ()


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """The ``ord``-norm of ``x`` over ``dim`` (all elements by default): ``vector_norm(x, 1, dim=-1)``."""
    if dtype is not None:
        x = x.to(dtype)
    if not x._dtype.is_floating_point:
        raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor as input. "
                           f"Got {_scalar_name(x)}")
    dims = _dims(dim, x.dim())
    if ord < 0 or ord == _INF:
        if any(x.shape[d] == 0 for d in dims):
            raise RuntimeError(f"linalg.vector_norm cannot compute the {ord} norm on an empty tensor because the "
                               "operation does not have an identity")
    return apply(_vector_norm, (x,), {"ord": ord, "dims": dims, "keepdim": keepdim})


# matrix norms -----------------------------------------------------------------------------------------

def _largest(x, dim):
    """The max of non-negative values over ``dim``."""
    return vector_norm(x, _INF, dim)


def _smallest(x, dim):
    return vector_norm(x, -_INF, dim)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):  # noqa: N803 - PyTorch's names
    """A matrix norm over the two dims ``dim``: ``'fro'``, ``'nuc'``, 2, -2, 1, -1, inf or -inf."""
    if dtype is not None:
        A = A.to(dtype)  # noqa: N806
    if A.dim() < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")
    if ord not in ("fro", "nuc", 2, -2, 1, -1, _INF, -_INF):
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    d0, d1 = (d % A.dim() for d in dim)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({dim[0]}, {dim[1]})")
    if ord == "fro":
        return vector_norm(A, 2, (d0, d1), keepdim)
    if ord in ("nuc", 2, -2):
        check_matrix(A, "matrix_norm", square=False)
        s = svdvals(A.movedim((d0, d1), (-2, -1)))
        out = s.sum(-1) if ord == "nuc" else _largest(s, -1) if ord == 2 else _smallest(s, -1)
    else:
        rows = A.abs().sum(d1 if abs(ord) == _INF else d0, keepdim=True)
        pick = _largest if ord > 0 else _smallest
        out = pick(rows, (d0, d1)).reshape([s for i, s in enumerate(A.shape) if i not in (d0, d1)])
    if keepdim:
        for d in sorted((d0, d1)):
            out = out.unsqueeze(d)
    return out


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):  # noqa: N803
    """A vector norm (1-D input or one ``dim``) or a matrix norm (2-D input or two dims);
    without ``ord`` the 2-norm of all elements: ``ember.linalg.norm(x)``."""
    if dim is not None:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        if len(dims) == 2:
            return matrix_norm(A, "fro" if ord is None else ord, dims, keepdim, dtype=dtype)
        return vector_norm(A, 2 if ord is None else ord, dims, keepdim, dtype=dtype)
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype)
    if A.dim() not in (1, 2):
        raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got {A.dim()}D.")
    if A.dim() == 2:
        return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
    return vector_norm(A, ord, None, keepdim, dtype=dtype)


# compositions ----------------------------------------------------------------------------------------

def pinv(A, *, atol=None, rtol=None, hermitian=False):  # noqa: N803
    """The Moore-Penrose pseudo-inverse via the SVD; singular values below
    ``max(atol, rtol * s_max)`` count as zero."""
    check_matrix(A, "pinv", square=False)
    u, s, vh = svd(A, full_matrices=False)
    with no_grad():
        keep = (s > _tolerance(A, s, atol, rtol)).to(s.dtype)
    inv_s = keep / (s + (1 - keep))
    return (vh.mT * inv_s.unsqueeze(-2)) @ u.mT


def _tolerance(A, s, atol, rtol):  # noqa: N803
    """PyTorch's cut-off for 'zero' singular values: max(atol, rtol * s_max), with rtol
    defaulting to eps * max(m, n) when no atol is given."""
    if rtol is None:
        eps = {"float64": 2.220446049250313e-16, "float32": 1.1920928955078125e-07}.get(A._dtype.name, 9.765625e-04)
        rtol = max(A.shape[-2:]) * eps if not atol else 0.0
    smax = _largest(s, -1).unsqueeze(-1) if s.shape[-1] else s.sum(-1, keepdim=True)
    return maximum(smax * rtol, smax * 0 + (atol or 0.0))


def matrix_rank(A, *, atol=None, rtol=None, hermitian=False):  # noqa: N803
    """The number of singular values above the tolerance (an int64 tensor)."""
    check_matrix(A, "matrix_rank", square=False)
    s = svdvals(A.detach())
    return (s > _tolerance(A, s, atol, rtol)).sum(-1)


def multi_dot(tensors):
    """``tensors[0] @ tensors[1] @ ...``; the first and last may be 1-D."""
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    for i, t in enumerate(tensors):
        if (i in (0, len(tensors) - 1) and t.dim() not in (1, 2)) or (0 < i < len(tensors) - 1 and t.dim() != 2):
            raise RuntimeError(f"multi_dot(): tensor {i} must be {'1D or ' if i in (0, len(tensors) - 1) else ''}2D "
                               f"but got {t.dim()}D")
    out = tensors[0]
    for t in tensors[1:]:
        out = matmul(out, t)
    return out


def matrix_power(A, n):  # noqa: N803
    """``A`` multiplied by itself ``n`` times (``n < 0`` uses the inverse, ``n == 0`` the identity)."""
    check_matrix(A, "matrix_power", floating=n < 0)
    if n == 0:
        return A * 0 + _eye(A, A.shape[-1])
    base = inv(A) if n < 0 else A
    out = None
    for _ in range(abs(n)):
        out = base if out is None else out @ base
    return out


def cross(input, other, *, dim=-1):
    """The cross product of 3-vectors along ``dim`` (default: the last)."""
    return _cross(input, other, dim=dim)


def vecdot(x, y, *, dim=-1):
    """The dot product of vectors along ``dim``: ``(x * y).sum(dim)``."""
    return (x * y).sum(dim)


def cond(A, p=None):  # noqa: N803
    """The condition number of ``A`` in the ``p`` norm (default 2: largest over smallest singular value)."""
    if p is None or p == 2 or p == -2:
        s = svdvals(A)
        big, small = s[..., 0], s[..., -1]
        return big / small if p != -2 else small / big
    check_matrix(A, "cond")
    return matrix_norm(A, p) * matrix_norm(inv(A), p)


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):  # noqa: N803
    """The diagonal of (a batch of) matrices: ``A.diagonal(offset, dim1, dim2)``."""
    return A.diagonal(offset, dim1, dim2)


# PyTorch's top-level and Tensor names ---------------------------------------------------------------

def _top_level(name, method=True):
    """Export a function as ``ember.<name>`` and (``method``) ``Tensor.<name>``, beside the linalg one of that name."""
    def register(fn):
        fn.__name__ = fn.__qualname__ = name
        return public(fn, method=method)
    return register


@_top_level("det")
def _det(input):
    """``ember.det(A)``: :func:`ember.linalg.det`."""
    return det(input)


@_top_level("slogdet")
def _slogdet(input):
    """``ember.slogdet(A)``: :func:`ember.linalg.slogdet`."""
    return slogdet(input)


@_top_level("logdet")
def _logdet(input):
    """``log(det(A))``: nan for a negative determinant, -inf for a singular matrix."""
    sign, logabs = slogdet(input)
    return logabs + sign.log()


@_top_level("inverse")
def _inverse(input):
    """``ember.inverse(A)``: :func:`ember.linalg.inv`."""
    return inv(input)


@_top_level("pinverse")
def _pinverse(input, rcond=1e-15):
    """``ember.pinverse(A)``: :func:`ember.linalg.pinv` with a relative cut-off."""
    return pinv(input, rtol=rcond)


@_top_level("cholesky")
def _cholesky(input, upper=False):
    """The legacy ``ember.cholesky``: :func:`ember.linalg.cholesky`."""
    return cholesky(input, upper=upper)


@_top_level("svd")
def _svd(input, some=True, compute_uv=True):
    """The legacy ``ember.svd``: ``U, S, V`` (not ``Vh``) with ``A == U @ diag(S) @ V.mT``."""
    u, s, vh = svd(input, full_matrices=not some)
    return u, s, vh.mT


@_top_level("qr")
def _qr(input, some=True):
    """The legacy ``ember.qr``: :func:`ember.linalg.qr`, ``some=False`` meaning mode 'complete'."""
    return qr(input, "reduced" if some else "complete")


@_top_level("matrix_power")
def _matrix_power(input, n):
    """``ember.matrix_power(A, n)``: :func:`ember.linalg.matrix_power`."""
    return matrix_power(input, n)


@_top_level("norm")
def _norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """The legacy ``ember.norm``: the Frobenius/``p``-norm of all elements or over ``dim``;
    ``p='nuc'`` is the nuclear norm: ``x.norm(dim=1)``."""
    if p == "nuc":
        return matrix_norm(input, "nuc", (-2, -1) if dim is None else dim, keepdim, dtype=dtype)
    return vector_norm(input, 2 if p == "fro" else p, dim, keepdim, dtype=dtype)


@_top_level("matrix_exp")
def _matrix_exp(input):
    """``ember.matrix_exp(A)``: :func:`ember.linalg.matrix_exp`."""
    return matrix_exp(input)


@_top_level("lu_unpack", method=False)  # torch has no Tensor.lu_unpack
def _lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True):  # noqa: N803 - PyTorch's names
    """``P, L, U`` from :func:`ember.linalg.lu_factor`'s compact form and pivots."""
    return lu_unpack(LU_data, LU_pivots, unpack_data, unpack_pivots)


@_top_level("lu")
def _lu(A, pivot=True, get_infos=False):  # noqa: N803
    """The legacy ``ember.lu``: :func:`ember.linalg.lu_factor`'s ``(LU, pivots)``, with ``infos`` when asked."""
    packed, pivots, infos = lu_factor_ex(A, pivot=pivot)
    return (packed, pivots, infos) if get_infos else (packed, pivots)


@_top_level("lu_solve")
def _lu_solve(b, LU_data, LU_pivots):  # noqa: N803
    """The legacy ``ember.lu_solve(b, LU, pivots)``: :func:`ember.linalg.lu_solve`."""
    return lu_solve(LU_data, LU_pivots, b)


@_top_level("triangular_solve")
def _triangular_solve(b, A, upper=True, transpose=False, unitriangular=False):  # noqa: N803
    """The legacy ``(solution, cloned_coefficient)`` of ``A X = b``: :func:`ember.linalg.solve_triangular`."""
    check_kernel_dtype("triangular_solve_cpu", b, A)
    a = A.mT if transpose else A
    x = solve_triangular(a, b, upper=upper != transpose, unitriangular=unitriangular)
    return TriangularSolveResult(x, A.clone())


@_top_level("cholesky_solve")
def _cholesky_solve(B, L, upper=False):  # noqa: N803
    """The solution of ``A X = B`` given ``A``'s Cholesky factor."""
    check_kernel_dtype("cholesky_solve_cpu", B, L)
    low = L.mH if upper else L
    return solve_triangular(low.mH, solve_triangular(low, B, upper=False), upper=True)


@_top_level("cholesky_inverse")
def _cholesky_inverse(L, upper=False):  # noqa: N803
    """The inverse of ``A`` given its Cholesky factor."""
    check_kernel_dtype("cholesky_inverse_out_cpu", L)
    n = L.shape[-1]
    return _cholesky_solve(_eye(L, n).expand(*L.shape[:-2], n, n) if L.dim() > 2 else _eye(L, n), L, upper)


@_top_level("orgqr")
def _orgqr(input, tau):
    """``ember.orgqr``: :func:`ember.linalg.householder_product`."""
    check_kernel_dtype("orgqr_cpu", input, tau)
    return householder_product(input, tau)


@_top_level("geqrf")
def _geqrf(input):
    """LAPACK's compact QR: ``(a, tau)`` (see :func:`ember.linalg.householder_product`)."""
    check_kernel_dtype("geqrf_cpu", input)
    return _geqrf_fn(input)


@_top_level("ormqr")
def _ormqr(input, input2, input3, left=True, transpose=False):
    """The product of ``geqrf``'s ``Q`` (or ``Q^H``) with a matrix."""
    check_kernel_dtype("ormqr_cpu", input, input2, input3)
    return _ormqr_fn(input, input2, input3, left, transpose)


@_top_level("nuclear_norm", method=False)  # nor Tensor.nuclear_norm
def _nuclear_norm(input, dim=None, keepdim=False):
    """The sum of singular values (over ``dim``, default the last two dims)."""
    return matrix_norm(input, "nuc", (-2, -1) if dim is None else dim, keepdim)
