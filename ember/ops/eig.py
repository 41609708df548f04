"""General eigendecomposition (``linalg.eig``/``eigvals``, complex results) and the matrix
exponential (``linalg.matrix_exp``), with their derivatives."""
from collections import namedtuple

from ember.backend.arrays import to_host
from ember.creation import eye
from ember.ops.complex import real
from ember.ops.decomp import check_matrix, linalg_solve
from ember.ops.dispatch import apply, primitive
from ember.ops.join import cat
from ember.ops.out import accepts_out

EigResult = namedtuple("linalg_eig", ["eigenvalues", "eigenvectors"])


@primitive("LinalgEigBackward0", save_output=True)
def _eig(ctx, xp, a):
    ctx.real_input = a.dtype.kind != "c"
    w, v = xp.linalg.eig(a)
    complex_dtype = xp.result_type(a.dtype, xp.complex64)
    return w.astype(complex_dtype, copy=False), v.astype(complex_dtype, copy=False)


@_eig.derivative
def _(ctx, gw, gv):
    # With A V = V diag(w) and unit-norm eigenvectors, the adjoint is
    # grad A = V^-H (diag(gw) + (V^H gV - V^H V Re(diag(V^H gV))) / conj(w_j - w_i)) V^H.
    w, v = ctx.saved_tensors
    n = w.shape[-1]
    eye = _eye(w, n)
    inner = 0
    if gv is not None:
        vhgv = v.mH @ gv
        diag = real(vhgv.diagonal(0, -2, -1))
        e = (w.unsqueeze(-2) - w.unsqueeze(-1)).conj() + eye  # 1 on the diagonal, replaced below
        inner = (vhgv - v.mH @ (v * diag.unsqueeze(-2))) / e * (1 - eye)
    if gw is not None:
        inner = inner + gw.unsqueeze(-1) * eye
    grad = linalg_solve(v.mH, inner @ v.mH)
    return real(grad) if ctx.real_input else grad


def _eye(like, n):
    return eye(n, dtype=like.dtype, device=like.device)


def eig(A):  # noqa: N803 - PyTorch's argument names
    """Eigenvalues and (unit-norm) eigenvectors of a square matrix, always complex."""
    check_matrix(A, "eig")
    return EigResult(*apply(_eig, (A,), {}))


@accepts_out
def eigvals(A):  # noqa: N803
    """The (complex) eigenvalues of a square matrix."""
    return eig(A)[0]


@primitive("LinalgMatrixExpBackward0", save=(0,))
def _matrix_exp(ctx, xp, a):
    import scipy.linalg  # scipy loads on first use, not with ember
    host = to_host(a)
    flat = host.reshape((-1,) + host.shape[-2:])
    out = xp.stack([xp.asarray(scipy.linalg.expm(m)) for m in flat]) if flat.shape[0] else xp.asarray(flat)
    return out.reshape(a.shape).astype(a.dtype, copy=False)


@_matrix_exp.derivative
def _(ctx, g):
    # The derivative of exp at A applied to G is the top-right block of exp([[A, G], [0, A]]);
    # the adjoint uses A^H in place of A.
    (a,) = ctx.saved_tensors
    ah = a.mH
    n = a.shape[-1]
    zero = ah * 0
    block = cat([cat([ah, g], -1), cat([zero, ah], -1)], -2)
    return matrix_exp(block)[..., :n, n:]


def matrix_exp(A):  # noqa: N803
    """The matrix exponential ``sum_k A^k / k!`` of (a batch of) square matrices."""
    check_matrix(A, "matrix_exp")
    return apply(_matrix_exp, (A,), {})
