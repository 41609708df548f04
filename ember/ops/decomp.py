"""Matrix functions and factorizations behind ``ember.linalg``: inv, det, slogdet, solve,
cholesky, qr, svd, eigh and the vector norm.

Each forward calls ``xp.linalg`` on (stacks of) matrices; each derivative is written with
ember ops on the saved inputs and outputs, so second derivatives work too. Failures of
the factorization become ``LinAlgError`` naming the batch element, like PyTorch's.
"""
from collections import namedtuple

from ember._tensor import Tensor
from ember.ops.dispatch import apply, primitive, xp_of
from ember.ops.dual import differentiable, transposed_vjp
from ember.ops.linalg import _scalar_name

SlogdetResult = namedtuple("linalg_slogdet", ["sign", "logabsdet"])
QRResult = namedtuple("linalg_qr", ["Q", "R"])
SVDResult = namedtuple("linalg_svd", ["U", "S", "Vh"])
EighResult = namedtuple("linalg_eigh", ["eigenvalues", "eigenvectors"])


class LinAlgError(RuntimeError):
    """A matrix was singular or not positive-definite (``ember.linalg.LinAlgError``)."""


def check_matrix(a, op, square=True, floating=True):
    """PyTorch's argument errors for ``linalg`` functions on (batches of) matrices."""
    if a.dim() < 2:
        raise RuntimeError(f"linalg.{op}: The input tensor A must have at least 2 dimensions.")
    if floating and a._dtype.category < 2:
        raise RuntimeError(f"linalg.{op}: Expected a floating point or complex tensor as input. Got {_scalar_name(a)}")
    if square and a.shape[-1] != a.shape[-2]:
        raise RuntimeError(
            f"linalg.{op}: A must be batches of square matrices, but they are {a.shape[-2]} by {a.shape[-1]} matrices"
        )


def _const(like, array):
    return Tensor._make(array, like._dtype, like._device)


def _eye(like, n):
    return _const(like, xp_of(like._device).eye(n, dtype=like._dtype.np))


def _failing(xp, a, fails):
    """The flat index of the first matrix in the stack ``a`` for which ``fails(matrix)``."""
    flat = a.reshape((-1,) + a.shape[-2:])
    return next(i for i in range(flat.shape[0]) if fails(flat[i]))


def _where(a, i):
    return f"(Batch element {i}): " if a.ndim > 2 else ""


def _raises(xp, fn, m):
    try:
        fn(m)
    except xp.linalg.LinAlgError:
        return True
    return False


def _singular(xp, a):
    i = _failing(xp, a, lambda m: _raises(xp, xp.linalg.inv, m))
    return LinAlgError(f"linalg.inv: {_where(a, i)}The inversion could not be completed because the input matrix "
                       "is singular.")


# inverse and determinants ----------------------------------------------------------------------------

@primitive("LinalgInvExBackward0", save_output=True)
def _inv(ctx, xp, a):
    try:
        return xp.linalg.inv(a)
    except xp.linalg.LinAlgError:
        raise _singular(xp, a) from None


@_inv.derivative
def _(ctx, g):
    (y,) = ctx.saved_tensors
    yt = y.mT
    return -(yt @ g @ yt)


def linalg_inv(A):  # noqa: N803 - PyTorch's argument names
    """The inverse of a (batch of) square matrix: ``ember.linalg.inv(A) @ A`` is the identity."""
    check_matrix(A, "inv")
    return apply(_inv, (A,), {})



def _batched(g):
    return g.unsqueeze(-1).unsqueeze(-1)


@primitive("LinalgDetBackward0", save=(0,), save_output=True)
def _det(ctx, xp, a):
    return xp.linalg.det(a)


@_det.derivative
def _(ctx, g):
    a, d = ctx.saved_tensors
    return _batched(g * d) * linalg_inv(a).mT


def linalg_det(A):  # noqa: N803 - PyTorch's argument names
    """The determinant of a (batch of) square matrix: ``ember.linalg.det(ember.eye(3))`` is 1."""
    check_matrix(A, "det")
    return apply(_det, (A,), {})



@primitive("LinalgSlogdetBackward0", save=(0,))
def _slogdet(ctx, xp, a):
    sign, logabs = xp.linalg.slogdet(a)
    return xp.asarray(sign), xp.asarray(logabs)


@_slogdet.derivative
def _(ctx, g_sign, g_logabs):
    (a,) = ctx.saved_tensors
    return None if g_logabs is None else _batched(g_logabs) * linalg_inv(a).mT


def linalg_slogdet(A):  # noqa: N803 - PyTorch's argument names
    """``(sign, log|det|)`` of a (batch of) square matrix, stable where det over- or underflows."""
    check_matrix(A, "slogdet")
    return SlogdetResult(*apply(_slogdet, (A,), {}))




# solve -------------------------------------------------------------------------------------------------

@primitive("LinalgSolveExBackward0", save=(0,), save_output=True)
def _solve(ctx, xp, a, b, left, vector):
    ctx.left, ctx.vector = left, vector
    if vector:
        b = b[..., None]
    if not left:
        a, b = xp.swapaxes(a, -1, -2), xp.swapaxes(b, -1, -2)
    batch = xp.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a, b = xp.broadcast_to(a, batch + a.shape[-2:]), xp.broadcast_to(b, batch + b.shape[-2:])
    try:
        x = xp.linalg.solve(a, b)
    except xp.linalg.LinAlgError:
        i = _failing(xp, a, lambda m: _raises(xp, xp.linalg.inv, m))
        raise LinAlgError(f"torch.linalg.solve: {_where(a, i)}The solver failed because the input matrix is "
                          "singular.") from None
    if not left:
        x = xp.swapaxes(x, -1, -2)
    return x[..., 0] if vector else x


@_solve.derivative
def _(ctx, g):
    a, x = ctx.saved_tensors
    need_a, need_b = ctx.needs_input_grad
    gb = apply(_solve, (a.mT, g), {"left": ctx.left, "vector": ctx.vector})
    if not need_a:
        return None, gb
    if ctx.vector:
        ga = -gb.unsqueeze(-1) * x.unsqueeze(-2)
    else:
        ga = -(gb @ x.mT) if ctx.left else -(x.mT @ gb)
    return ga, (gb if need_b else None)


def linalg_solve(A, B, *, left=True):  # noqa: N803 - PyTorch's argument names
    """The solution ``X`` of ``A X = B`` (or ``X A = B`` with ``left=False``); ``B`` may be a vector."""
    check_matrix(A, "solve")
    vector = left and (B.dim() == 1 or B.dim() == A.dim() - 1 and B.shape == A.shape[:-1])
    rows = B.shape[-1] if vector else B.shape[-2] if left else B.shape[-1]
    if B.dim() < 1 or rows != A.shape[-1]:
        b_shape = f"{B.shape[-1]}x1" if vector else "x".join(map(str, B.shape[-2:]))
        eq = "AX = B" if left else "XA = B"
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation {eq} "
                           f"({A.shape[-2]}x{A.shape[-1]} and {b_shape})")
    if A._dtype is not B._dtype:
        raise RuntimeError(f"linalg.solve: Expected A and B to have the same dtype, but found A of type "
                           f"{_scalar_name(A)} and B of type {_scalar_name(B)} instead")
    return apply(_solve, (A, B), {"left": left, "vector": vector})


# cholesky --------------------------------------------------------------------------------------------

def _leading_minor(xp, m):
    """The order of the first leading minor of ``m`` that is not positive-definite."""
    lo, hi = 1, m.shape[-1]
    while lo < hi:
        mid = (lo + hi) // 2
        if _raises(xp, xp.linalg.cholesky, m[:mid, :mid]):
            hi = mid
        else:
            lo = mid + 1
    return lo


@primitive("LinalgCholeskyExBackward0", save_output=True)
def _cholesky(ctx, xp, a, upper):
    ctx.upper = upper
    try:
        low = xp.linalg.cholesky(a)
    except xp.linalg.LinAlgError:
        i = _failing(xp, a, lambda m: _raises(xp, xp.linalg.cholesky, m))
        order = _leading_minor(xp, a.reshape((-1,) + a.shape[-2:])[i])
        raise LinAlgError(
            f"linalg.cholesky: {_where(a, i)}The factorization could not be completed because the input is not "
            f"positive-definite (the leading minor of order {order} is not positive-definite)."
        ) from None
    return xp.swapaxes(low, -1, -2) if upper else low


@_cholesky.derivative
def _(ctx, g):
    # A = L L^T gives L^-1 dA L^-T = X + X^T with X = L^-1 dL lower triangular, so
    # dL = L phi(L^-1 dA L^-T) (phi: lower triangle, half diagonal) and, by adjointness,
    # grad A = sym(L^-T phi(L^T g) L^-1).
    (low,) = ctx.saved_tensors
    if ctx.upper:
        low, g = low.mT, g.mT
    n = low.shape[-1]
    xp = xp_of(low._device)
    phi = _const(low, xp.tril(xp.ones((n, n), dtype=low._dtype.np)) - 0.5 * xp.eye(n, dtype=low._dtype.np))
    p = (low.mT @ g) * phi
    ga = linalg_solve(low, linalg_solve(low.mT, p), left=False)
    return 0.5 * (ga + ga.mT)


def linalg_cholesky(A, *, upper=False):  # noqa: N803 - PyTorch's argument names
    """The lower-triangular ``L`` with ``L @ L.mT == A`` (``upper=True``: ``U`` with ``U.mT @ U == A``)."""
    check_matrix(A, "cholesky")
    return apply(_cholesky, (A,), {"upper": upper})



# qr ------------------------------------------------------------------------------------------------------

@primitive("LinalgQrBackward0", save_output=True)
def _qr(ctx, xp, a, mode):
    ctx.mode = mode
    q, r = xp.linalg.qr(a, mode="complete" if mode == "complete" else "reduced")
    return (xp.empty((0,), a.dtype), r) if mode == "r" else (q, r)


def _qr_square_grad(q, r, gq, gr):
    """For A = QR with R square: grad A = (gQ + Q sym(M)) R^-T, where M = gR R^T - Q^T gQ and
    sym copies M's upper triangle onto its lower one."""
    m = 0
    if gr is not None:
        m = gr @ r.mT
    if gq is not None:
        m = m - q.mT @ gq
    n = r.shape[-1]
    xp = xp_of(r._device)
    upper = _const(r, xp.triu(xp.ones((n, n), dtype=r._dtype.np)))
    strict = _const(r, xp.triu(xp.ones((n, n), dtype=r._dtype.np), 1))
    m = m * upper + (m * strict).mT
    b = q @ m if gq is None else gq + q @ m
    return linalg_solve(r.mT, b, left=False)


@_qr.derivative
def _(ctx, gq, gr):
    q, r = ctx.saved_tensors
    if ctx.mode == "r":
        raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
                           "Please use linalg.qr(A, mode='reduced') if you are going to differentiate through linalg.qr.")
    rows, cols = q.shape[-2], r.shape[-1]
    if rows > cols and ctx.mode == "complete":
        raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and nrows > ncols.")
    if rows >= cols:
        return _qr_square_grad(q, r, gq, gr)
    # wide A = [X | Y]: X = Q R1 is square and Y = Q R2, so R2 = Q^T Y
    r1 = r[..., :, :rows]
    y = q @ r[..., :, rows:]
    gr1 = gr2 = None
    if gr is not None:
        gr1, gr2 = gr[..., :, :rows], gr[..., :, rows:]
        gq = y @ gr2.mT if gq is None else gq + y @ gr2.mT
    gx = _qr_square_grad(q, r1, gq, gr1)
    xp = xp_of(q._device)
    grad = gx @ _const(q, xp.eye(rows, cols, dtype=q._dtype.np))
    if gr2 is not None:
        grad = grad + q @ gr2 @ _const(q, xp.eye(cols - rows, cols, rows, dtype=q._dtype.np))
    return grad


def linalg_qr(A, mode="reduced"):  # noqa: N803 - PyTorch's argument names
    """``Q, R`` with ``Q`` orthonormal columns and ``R`` upper triangular: ``Q @ R == A``."""
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), "
                           "'r', or 'complete'")
    check_matrix(A, "qr", square=False)
    return QRResult(*apply(_qr, (A,), {"mode": mode}))


# svd and eigh ------------------------------------------------------------------------------------------

@primitive("LinalgSvdBackward0", save_output=True)
def _svd(ctx, xp, a, full_matrices):
    ctx.full = full_matrices
    return tuple(xp.linalg.svd(a, full_matrices=full_matrices))


def _off_diagonal_inverse(e):
    """1 / e off the diagonal and 0 on it, for the eigen/singular-vector terms."""
    eye = _eye(e, e.shape[-1])
    return (1 - eye) / (e + eye)


@_svd.derivative
def _(ctx, gu, gs, gvh):
    u, s, vh = ctx.saved_tensors
    k = s.shape[-1]
    if ctx.full:
        u, vh = u[..., :, :k], vh[..., :k, :]
        gu = None if gu is None else gu[..., :, :k]
        gvh = None if gvh is None else gvh[..., :k, :]
    inner = 0
    if gs is not None:
        inner = gs.unsqueeze(-1) * _eye(s, k)
    if gu is None and gvh is None:
        return u @ inner @ vh
    s2 = s * s
    f = _off_diagonal_inverse(s2.unsqueeze(-2) - s2.unsqueeze(-1))  # 1 / (s_j^2 - s_i^2)
    grad = 0
    if gu is not None:
        j = u.mT @ gu
        inner = inner + f * (j - j.mT) * s.unsqueeze(-2)
        if u.shape[-2] > k:
            grad = ((gu - u @ j) / s.unsqueeze(-2)) @ vh
    if gvh is not None:
        v, gv = vh.mT, gvh.mT
        kk = v.mT @ gv
        inner = inner + s.unsqueeze(-1) * (f * (kk - kk.mT))
        if v.shape[-2] > k:
            grad = grad + u @ ((gv - v @ kk) / s.unsqueeze(-2)).mT
    return grad + u @ inner @ vh


def linalg_svd(A, full_matrices=True):  # noqa: N803 - PyTorch's argument names
    """``U, S, Vh`` with ``A == U @ diag(S) @ Vh`` and ``S`` descending."""
    check_matrix(A, "svd", square=False)
    return SVDResult(*apply(_svd, (A,), {"full_matrices": full_matrices}))




@primitive(None)
def _svdvals(ctx, xp, a):
    return xp.linalg.svd(a, compute_uv=False)


def linalg_svdvals(A):  # noqa: N803 - PyTorch's argument names
    """The singular values of ``A``, descending."""
    check_matrix(A, "svdvals", square=False)
    if differentiable(A):
        return linalg_svd(A, full_matrices=False)[1]
    return apply(_svdvals, (A,), {})


@primitive("LinalgEighBackward0", save_output=True)
def _eigh(ctx, xp, a, uplo):
    w, v = xp.linalg.eigh(a, UPLO=uplo)
    return w, v


@_eigh.derivative
def _(ctx, gw, gv):
    w, v = ctx.saved_tensors
    inner = 0
    if gw is not None:
        inner = gw.unsqueeze(-1) * _eye(w, w.shape[-1])
    if gv is not None:
        inner = inner + _off_diagonal_inverse(w.unsqueeze(-2) - w.unsqueeze(-1)) * (v.mT @ gv)
    return v @ inner @ v.mT


def linalg_eigh(A, UPLO="L"):  # noqa: N803 - PyTorch's argument names
    """Eigenvalues (ascending) and orthonormal eigenvectors of a symmetric matrix."""
    check_matrix(A, "eigh")
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    return EighResult(*apply(_eigh, (A,), {"uplo": UPLO}))


@primitive(None)
def _eigvalsh(ctx, xp, a, uplo):
    return xp.linalg.eigvalsh(a, UPLO=uplo)


def linalg_eigvalsh(A, UPLO="L"):  # noqa: N803 - PyTorch's argument names
    """The eigenvalues of a symmetric matrix, ascending."""
    if differentiable(A):
        return linalg_eigh(A, UPLO)[0]
    check_matrix(A, "eigvalsh")
    return apply(_eigvalsh, (A,), {"uplo": UPLO})

# forward-mode rules (run by ember.ops.dual) --------------------------------------------------

_inv.jvp(lambda j: -(j.out @ j.tangents[0] @ j.out))
_det.jvp(lambda j: j.out * linalg_solve(j.inputs[0], j.tangents[0]).diagonal(0, -2, -1).sum(-1))
_slogdet.jvp(lambda j: (None, linalg_solve(j.inputs[0], j.tangents[0]).diagonal(0, -2, -1).sum(-1)))


@_solve.jvp
def _(j):
    a, ta, x = j.inputs[0], j.tangents[0], j.out
    left, vector = j.params["left"], j.params["vector"]
    rhs = j.tangent(1)
    if ta is not None:
        if vector:
            rhs = rhs - (ta @ x.unsqueeze(-1)).squeeze(-1)
        else:
            rhs = rhs - (ta @ x if left else x @ ta)
    return apply(_solve, (a, rhs), {"left": left, "vector": vector})


@_cholesky.jvp
def _(j):
    low, t = j.out, j.tangents[0]
    if j.params["upper"]:
        low = low.mT
    n = low.shape[-1]
    xp = xp_of(low._device)
    phi = _const(low, xp.tril(xp.ones((n, n), dtype=low._dtype.np)) - 0.5 * xp.eye(n, dtype=low._dtype.np))
    inner = linalg_solve(low, linalg_solve(low, t.mT).mT)  # L^-1 tA L^-T
    tl = low @ (inner * phi)
    return tl.mT if j.params["upper"] else tl


@_eigh.jvp
def _(j):
    (w, v), t = j.out, j.tangents[0]
    if t.is_complex():
        return transposed_vjp(j)
    inner = v.mT @ t @ v
    tw = inner.diagonal(0, -2, -1)
    tv = v @ (_off_diagonal_inverse(w.unsqueeze(-2) - w.unsqueeze(-1)) * inner)
    return tw, tv
