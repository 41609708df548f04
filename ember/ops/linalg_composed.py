"""``torch.linalg`` functions composed from the factorizations (so differentiable through
them): lstsq, vander, tensorinv, tensorsolve, householder_product, the ``*_ex``
forms with their ``info`` tensors, and the LDL factorization (LAPACK's sytrf/sytrs; CuPy has no
sytrf, so a CUDA tensor's matrices are copied to the host for it and the results copied back)."""
import math
from collections import namedtuple

import numpy as np

from ember._tensor import Tensor
from ember.backend.arrays import to_host
from ember.backend.dtype import int32, int64
from ember.creation import arange, eye, zeros
from ember.ops.lu import getrf
from ember.ops.dispatch import per_sample, xp_of
from ember.ops.decomp import (
    LinAlgError, check_matrix, linalg_cholesky, linalg_inv, linalg_solve, linalg_svd, linalg_svdvals,
)
from ember.ops.out import accepts_out

LstsqResult = namedtuple("linalg_lstsq", ["solution", "residuals", "rank", "singular_values"])
InvExResult = namedtuple("linalg_inv_ex", ["inverse", "info"])
CholeskyExResult = namedtuple("linalg_cholesky_ex", ["L", "info"])
SolveExResult = namedtuple("linalg_solve_ex", ["result", "info"])
LDLFactorResult = namedtuple("linalg_ldl_factor", ["LD", "pivots"])
LDLFactorExResult = namedtuple("linalg_ldl_factor_ex", ["LD", "pivots", "info"])
GeqrfResult = namedtuple("geqrf", ["a", "tau"])


def _info(batch, device, failed=None):
    """``info`` per matrix: 0, or the (1-based) order PyTorch reports for a failure."""
    data = xp_of(device).zeros(batch, dtype=np.int32)
    if failed is not None:
        data.reshape(-1)[failed[0]] = failed[1]
    return Tensor._make(data, int32, device)


def _ex(fn, A, check_errors, order_of_failure):  # noqa: N803
    """Run ``fn``; on a LinAlgError without ``check_errors``, give NaNs and a non-zero info like LAPACK's."""
    try:
        return fn(), _info(A.shape[:-2], A.device)
    except LinAlgError:
        if check_errors:
            raise
        batch, order = order_of_failure()
        return A * math.nan, _info(A.shape[:-2], A.device, (batch, order))


def _first_failure(A, test):  # noqa: N803
    flat = A.detach().reshape(-1, *A.shape[-2:])
    for i in range(flat.shape[0]):
        order = test(flat[i]._data)
        if order:
            return i, order
    return 0, 1


def _singular_order(m):
    """LAPACK getrf's info: the 1-based index of the first zero pivot (0 for an invertible matrix)."""
    return int(getrf(m)[4])


def _pd_order(m):
    m = to_host(m)  # a probe of leading minors, on the host (only after a factorization failed)
    for k in range(1, m.shape[-1] + 1):
        try:
            np.linalg.cholesky(m[:k, :k])
        except np.linalg.LinAlgError:
            return k
    return 0


def inv_ex(A, *, check_errors=False):  # noqa: N803
    inverse, info = _ex(lambda: linalg_inv(A), A, check_errors, lambda: _first_failure(A, _singular_order))
    return InvExResult(inverse, info)


def cholesky_ex(A, *, upper=False, check_errors=False):  # noqa: N803
    low, info = _ex(lambda: linalg_cholesky(A, upper=upper), A, check_errors, lambda: _first_failure(A, _pd_order))
    return CholeskyExResult(low, info)


def solve_ex(A, B, *, left=True, check_errors=False):  # noqa: N803
    try:
        return SolveExResult(linalg_solve(A, B, left=left), _info(A.shape[:-2], A.device))
    except LinAlgError:
        if check_errors:
            raise
        batch, order = _first_failure(A, _singular_order)
        return SolveExResult(B * math.nan, _info(A.shape[:-2], A.device, (batch, order)))


def lstsq(A, B, rcond=None, *, driver=None):  # noqa: N803
    """The least-squares solution of ``A X = B`` and, as PyTorch's CPU drivers give them, the residuals,
    the rank and the singular values (``gelsy``, the default, gives only the rank)."""
    check_matrix(A, "lstsq", square=False)
    driver = driver or "gelsy"
    if driver not in ("gels", "gelsy", "gelsd", "gelss"):
        raise RuntimeError(f"torch.linalg.lstsq: parameter `driver` should be one of (gels, gelsy, gelsd, gelss), "
                           f"but got {driver}")
    if A._dtype is not B._dtype:
        raise RuntimeError(f"torch.linalg.lstsq: Expected A and B to have the same dtype, but got A of type "
                           f"{A.dtype} and B of type {B.dtype} instead")
    vector = B.dim() == A.dim() - 1
    b = B.unsqueeze(-1) if vector else B
    m, n = A.shape[-2:]
    s = linalg_svdvals(A)
    eps = float(np.finfo(A._dtype.to_real().np).eps)
    cutoff = (eps * max(m, n) if rcond is None else rcond) * s[..., :1]
    keep = s > cutoff
    rank = keep.sum(-1).to(int64)
    # the minimum-norm solution through the thin SVD, differentiable wherever the rank is constant
    u, sv, vh = linalg_svd(A, full_matrices=False)
    inv_s = (1 / sv).where(keep, sv * 0)
    x = vh.mH @ (inv_s.unsqueeze(-1) * (u.mH @ b))
    empty = A.reshape(-1)[:0]  # in the graph like PyTorch's empty outputs
    residuals = empty
    if driver != "gelsy" and m > n and bool((rank == n).all()):
        residuals = ((A @ x - b).abs() ** 2).sum(-2)
    singular = s if driver in ("gelsd", "gelss") else empty.abs()
    x = x.squeeze(-1) if vector else x
    return LstsqResult(x, residuals, rank if driver != "gels" else zeros(0, dtype=int64, device=A.device), singular)


def vander(x, *, N=None):  # noqa: N803
    """The Vandermonde matrix with increasing powers: ``[1, x, x^2, ..., x^(N-1)]`` per element."""
    if x.dim() < 1:
        raise RuntimeError("linalg.vander: Expected x to have at least 1 dimension")
    n = x.shape[-1] if N is None else N
    if n < 1:
        raise RuntimeError(f"linalg.vander: N must be greater than 1, but got {n}")
    powers = arange(n, device=x.device)
    if x._dtype.category < 2:
        return x.unsqueeze(-1).to(int64) ** powers
    return x.unsqueeze(-1) ** powers.to(x.dtype)


@accepts_out
def tensorinv(A, ind=2):  # noqa: N803
    """The inverse of ``A`` seen as a linear map from its last dims to its first ``ind`` dims."""
    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    rows, cols = A.shape[:ind], A.shape[ind:]
    if math.prod(rows) != math.prod(cols):
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[ind:]) == "
                           f"prod(self.shape[:ind]), but got {math.prod(cols)} != {math.prod(rows)}")
    return linalg_inv(A.reshape(math.prod(rows), -1)).reshape(*cols, *rows)


@accepts_out
def tensorsolve(A, B, dims=None):  # noqa: N803
    """The ``X`` with ``tensordot(A, X, X.ndim) == B``."""
    if dims is not None:
        order = [d % A.dim() for d in dims]
        A = A.permute(*[d for d in range(A.dim()) if d not in order], *order)  # noqa: N806
    rest = A.shape[B.dim():]
    return linalg_solve(A.reshape(B.numel(), -1), B.reshape(-1)).reshape(*rest)


@accepts_out
def householder_product(A, tau):  # noqa: N803
    """The first ``n`` columns of ``H_1 ... H_k`` with ``H_i = I - tau_i v_i v_i^H`` (``v_i`` below A's diagonal)."""
    return _householder_q(A, tau)[..., :, :A.shape[-1]]


def _householder_q(A, tau):  # noqa: N803
    """The full ``m x m`` product ``H_1 ... H_k``."""
    m, n = A.shape[-2:]
    k = tau.shape[-1]
    if m < n:
        raise RuntimeError("torch.linalg.householder_product: input.shape[-2] must be greater than or equal to "
                           "input.shape[-1]")
    if k > n:
        raise RuntimeError("torch.linalg.householder_product: input.shape[-1] must be greater than or equal to "
                           "tau.shape[-1]")
    unit = eye(m, n, dtype=A.dtype, device=A.device)
    v_all = A.tril(-1) + unit
    q = eye(m, dtype=A.dtype, device=A.device)
    for i in range(k):
        v = v_all[..., :, i:i + 1]
        v = v * (arange(m, device=A.device) >= i).to(A.dtype).unsqueeze(-1)
        q = q - (q @ v) * tau[..., i:i + 1].unsqueeze(-1) @ v.mH
    return q


@per_sample
def geqrf(input):
    """LAPACK's QR in compact form: ``R`` on and above the diagonal, the Householder vectors below, and ``tau``."""
    xp = xp_of(input.device)
    data = input.detach()._data
    if data.size == 0:
        a, t = data.copy(), xp.zeros(data.shape[:-2] + (min(data.shape[-2:]),), data.dtype)
    else:  # mode "raw" is LAPACK's geqrf (cuSOLVER's on a GPU), with the matrices transposed
        h, t = xp.linalg.qr(data, mode="raw")
        a = xp.ascontiguousarray(xp.swapaxes(h, -1, -2))
    return GeqrfResult(Tensor._make(a, input.dtype, input.device), Tensor._make(t, input.dtype, input.device))


def ormqr(input, tau, other, left=True, transpose=False):
    """``Q @ other`` (or ``other @ Q``; ``Q^H`` with ``transpose``) for the ``Q`` of ``geqrf``'s output."""
    side = -2 if left else -1
    if other.shape[side] != input.shape[-2]:
        raise RuntimeError(f"torch.ormqr: other.shape[{side}] must be equal to input.shape[-2]")
    if tau.shape[-1] != min(other.shape[side], input.shape[-1]):
        raise RuntimeError(f"torch.ormqr: tau.shape[-1] must be equal to min(other.shape[{side}], input.shape[-1])")
    q = _householder_q(input, tau)
    if transpose:
        q = q.mH
    return q @ other if left else other @ q


def _lapack(name, a):
    import scipy.linalg  # scipy loads on first use, not with ember
    return scipy.linalg.lapack.get_lapack_funcs(name, (a,))


@per_sample
def ldl_factor_ex(A, *, hermitian=False, check_errors=False):  # noqa: N803
    """LAPACK's Bunch-Kaufman factorization (sytrf): the compact ``LD`` and the 1-based ``pivots``."""
    check_matrix(A, "ldl_factor")
    data = to_host(A.detach().contiguous()._data)
    flat = data.reshape(-1, *data.shape[-2:])
    lds, pivs, infos = [], [], []
    for mat in flat:
        fn = _lapack("hetrf" if hermitian and mat.dtype.kind == "c" else "sytrf", mat)
        ld, piv, info = fn(mat, lower=1)[:3]
        lds.append(np.tril(ld))
        pivs.append(piv)
        infos.append(info)
    if check_errors and any(infos):
        raise LinAlgError(f"torch.linalg.ldl_factor_ex: The factorization could not be completed because the "
                          f"input is singular (info = {max(infos)}).")
    batch = data.shape[:-2]
    ld = _on(A.device, np.stack(lds).reshape(data.shape) if lds else data.copy(), A.dtype)
    pivots = _on(A.device, np.stack(pivs).astype(np.int32).reshape(batch + data.shape[-1:]) if pivs
                 else np.zeros(batch + data.shape[-1:], np.int32), int32)
    return LDLFactorExResult(ld, pivots, _on(A.device, np.asarray(infos, np.int32).reshape(batch), int32))


def _on(device, host_array, dtype):
    """A tensor on ``device`` holding a host result (copied over to a GPU)."""
    return Tensor._make(xp_of(device).asarray(host_array), dtype, device)


def ldl_factor(A, *, hermitian=False):  # noqa: N803
    ld, pivots, _ = ldl_factor_ex(A, hermitian=hermitian)
    return LDLFactorResult(ld, pivots)


@per_sample
def ldl_solve(LD, pivots, B, *, hermitian=False):  # noqa: N803
    """The solution of ``A X = B`` from ``ldl_factor``'s output (LAPACK's sytrs)."""
    if B.dim() < 2 or B.shape[-2] != LD.shape[-1]:
        raise RuntimeError(f"Incompatible matrix sizes for torch.linalg.ldl_solve: each A matrix is {LD.shape[-2]} by "
                           f"{LD.shape[-1]} but each b matrix is " + " by ".join(map(str, B.shape[-2:])))
    ld, piv, b = (to_host(t.detach().contiguous()._data) for t in (LD, pivots, B))
    batch = np.broadcast_shapes(ld.shape[:-2], b.shape[:-2])
    count = math.prod(batch)
    ld = np.broadcast_to(ld, batch + ld.shape[-2:]).reshape(count, *ld.shape[-2:])
    piv = np.broadcast_to(piv, batch + piv.shape[-1:]).reshape(count, piv.shape[-1])
    bb = np.broadcast_to(b, batch + b.shape[-2:]).reshape(count, *b.shape[-2:])
    outs = []
    for m, p, rhs in zip(ld, piv, bb):
        fn = _lapack("hetrs" if hermitian and m.dtype.kind == "c" else "sytrs", m)
        outs.append(fn(m, p, rhs, lower=1)[0])
    data = np.stack(outs).reshape(batch + b.shape[-2:]) if outs and b.size else np.zeros(batch + b.shape[-2:], b.dtype)
    return _on(B.device, data, B.dtype)
