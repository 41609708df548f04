"""Matrix products: mm, bmm, matmul (and ``@``), dot, mv, outer, the add-and-multiply
family, einsum, tensordot, kron, inner and cross.

Every product is one matmul primitive: the forward is ``xp.matmul`` (BLAS, which
reads transposed views without copying) and one derivative serves all cases; only
the node name differs, following PyTorch's ``grad_fn`` for each case.
"""
import math

from ember.amp.autocast_mode import cast_entry
from ember._tensor import Tensor
from ember.backend.dtype import CPP_NAMES, bool_, torch_name
from ember.ops.dispatch import Primitive, apply, primitive
from ember.ops.dual import product
from ember.ops.registry import public

def _scalar_name(t):
    return torch_name(t._dtype)


def _dims(t):
    return "x".join(map(str, t.shape))


def _no_bool(*ts):
    if any(t._dtype is bool_ for t in ts):
        raise NotImplementedError("\"addmm_impl_cpu_\" not implemented for 'Bool'")


def _same_dtype(a, b):
    if a._dtype is not b._dtype:
        raise RuntimeError(f"expected scalar type {_scalar_name(a)} but found {_scalar_name(b)}")


# the matmul primitive ----------------------------------------------------------------------

def in_dtype_of(out, a):
    """``out`` in ``a``'s dtype: ml_dtypes' bfloat16 GEMM returns float32, PyTorch's keeps bfloat16."""
    return out if out.dtype == a.dtype else out.astype(a.dtype)


def _matmul_forward(ctx, xp, a, b):
    if b.ndim == 2 and a.ndim > 2:
        # one GEMM over the folded batch: NumPy would run one small GEMM per matrix of a strided
        # stack (a seq-first view in attention measured 3.3x slower than copy + fold)
        out = xp.matmul(a.reshape(math.prod(a.shape[:-1]), a.shape[-1]), b).reshape(*a.shape[:-1], b.shape[-1])
        return in_dtype_of(out, a)
    return in_dtype_of(xp.matmul(a, b), a)


def _matmul_grad(ctx, g):
    a, b = ctx.saved_tensors
    return _matmul_grads(a, b, g, *ctx.needs_input_grad)


def _is_transposed(m):
    """A 2-D tensor laid out as the transpose of a contiguous one (e.g. ``weight.t()``)."""
    return not m.is_contiguous() and m._data.flags.f_contiguous


def _matmul_grads(a, b, g, need_a, need_b):
    """g @ b^H and a^H @ g, with 1-D operands treated as a row (a) or a column (b)."""
    if a._dtype.category == 3 or b._dtype.category == 3:
        a, b = a.conj(), b.conj()
    if a.dim() == 1 and b.dim() == 1:
        return (g * b if need_a else None), (g * a if need_b else None)
    a2 = a.unsqueeze(0) if a.dim() == 1 else a
    b2 = b.unsqueeze(-1) if b.dim() == 1 else b
    g2 = g.unsqueeze(-2) if a.dim() == 1 else g
    g2 = g2.unsqueeze(-1) if b.dim() == 1 else g2
    ga = gb = None
    if need_a:
        ga = matmul(g2, b2.mT)
        ga = ga.squeeze(-2) if a.dim() == 1 else ga
    if need_b:
        if b2.dim() == 2 and a2.dim() > 2:  # fold the batch into one GEMM (a linear layer's weight)
            a2, g2 = a2.reshape(-1, a2.shape[-1]), g2.reshape(-1, g2.shape[-1])
        if b2.dim() == 2 and a2.dim() == 2 and _is_transposed(b2):
            gb = matmul(g2.mT, a2).mT  # same layout as b: W.t()'s gradient lands contiguous in W's
        else:
            gb = matmul(a2.mT, g2)
        gb = gb.squeeze(-1) if b.dim() == 1 else gb
    return ga, gb


_mm = Primitive(_matmul_forward, "MmBackward0", save=(0, 1))
_mm.derivative(_matmul_grad)
_bmm = _mm.variant("BmmBackward0")
_dot = _mm.variant("DotBackward0")
_vdot = _mm.variant("VdotBackward0")
_mv = _mm.variant("MvBackward0")
_vm = _mm.variant("SqueezeBackward4")
_batched = _mm.variant("UnsafeViewBackward0")


def _check_mm(a, b):
    if a.shape[1] != b.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({_dims(a)} and {_dims(b)})")
    check_mm_dtypes(a, b)
    _no_bool(a)


def check_mm_dtypes(a, b):
    """torch's error for a matrix product of two dtypes."""
    if a._dtype is not b._dtype:
        raise RuntimeError(
            f"expected m1 and m2 to have the same dtype, but got: {CPP_NAMES[a._dtype.name]} != {CPP_NAMES[b._dtype.name]}"
        )


def _check_dot(a, b, name="dot"):
    if a.dim() != 1 or b.dim() != 1:
        raise RuntimeError(f"1D tensors expected, but got {a.dim()}D and {b.dim()}D tensors")
    if a.shape[0] != b.shape[0]:
        raise RuntimeError(
            f"inconsistent tensor size, expected tensor [{a.shape[0]}] and src [{b.shape[0]}] to have the same "
            f"number of elements, but got {a.shape[0]} and {b.shape[0]} elements respectively"
        )
    if a._dtype is not b._dtype:
        raise RuntimeError(
            f"{name} : expected both vectors to have same dtype, but found {_scalar_name(a)} and {_scalar_name(b)}"
        )
    _no_bool(a)


def _check_mv(a, b):
    if a.dim() != 2 or b.dim() != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {a.dim()}, {b.dim()}")
    if a.shape[1] != b.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({a.shape[0]}), mat ({_dims(a)}), vec ({b.shape[0]})")
    _same_dtype(a, b)
    _no_bool(a)


def _batch_shape(a, b):
    """The broadcast batch shape of two stacks of matrices, with PyTorch's error."""
    sa, sb = a.shape[:-2], b.shape[:-2]
    n = max(len(sa), len(sb))
    sa, sb = (1,) * (n - len(sa)) + tuple(sa), (1,) * (n - len(sb)) + tuple(sb)
    out = []
    for i, (x, y) in enumerate(zip(sa, sb)):
        if x != y and x != 1 and y != 1:
            raise RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b ({y}) at non-singleton dimension {i}")
        out.append(y if x == 1 else x)
    return out


@public
@cast_entry("mm")
def mm(input, mat2):
    """Matrix product of two 2-D tensors: ``ember.mm(a, b)`` is ``(n, k) @ (k, m)``."""
    if input.dim() != 2:
        raise RuntimeError("self must be a matrix")
    if mat2.dim() != 2:
        raise RuntimeError("mat2 must be a matrix")
    _check_mm(input, mat2)
    return apply(_mm, (input, mat2), {})


@public
@cast_entry("bmm")
def bmm(input, mat2):
    """Batched matrix product of ``(b, n, k)`` and ``(b, k, m)`` tensors: ``ember.bmm(x, y)``."""
    _check_bmm(input, mat2)
    return apply(_bmm, (input, mat2), {})


def _check_bmm(input, mat2):
    for name, t in (("batch1", input), ("batch2", mat2)):
        if t.dim() != 3:
            raise RuntimeError(f"{name} must be a 3D tensor")
    if input.shape[0] != mat2.shape[0] or input.shape[2] != mat2.shape[1]:
        raise RuntimeError(
            f"Expected size for first two dimensions of batch2 tensor to be: [{input.shape[0]}, {input.shape[2]}] "
            f"but got: [{mat2.shape[0]}, {mat2.shape[1]}]."
        )
    _same_dtype(input, mat2)
    _no_bool(input)


@public
@cast_entry("matmul")
def matmul(input, other):
    """PyTorch's matmul: dot (1-D, 1-D), mv, mm, or a batched product with broadcast
    batch dims: ``ember.matmul(x, w)``, also written ``x @ w``."""
    da, db = input.dim(), other.dim()
    if da == 0 or db == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {da}D and {db}D")
    if da == 1 and db == 1:
        _check_dot(input, other)
        return apply(_dot, (input, other), {})
    if da == 2 and db == 1:
        _check_mv(input, other)
        return apply(_mv, (input, other), {})
    if da <= 2 and db == 2:
        _check_mm(input.unsqueeze(0) if da == 1 else input, other)
        return apply(_vm if da == 1 else _mm, (input, other), {})
    k_a = input.shape[-1]
    k_b = other.shape[-2] if db > 1 else other.shape[0]
    if db > 1:
        _batch_shape(input if da > 1 else input.unsqueeze(0), other)
    if k_a != k_b:
        raise RuntimeError(
            f"matmul: the inner dimensions must match, but got shapes {list(input.shape)} and {list(other.shape)} "
            f"({k_a} != {k_b})"
        )
    _same_dtype(input, other)
    _no_bool(input)
    return apply(_batched, (input, other), {})


@public
def dot(input, tensor):
    """Inner product of two 1-D tensors: ``ember.dot(x, y)``."""
    _check_dot(input, tensor)
    return apply(_dot, (input, tensor), {})


@public
def vdot(input, other):
    """``dot`` that conjugates its first argument (the same for real tensors)."""
    _check_dot(input, other, "vdot")
    return apply(_vdot, (input, other), {})


@public
def mv(input, vec):
    """Matrix-vector product: ``ember.mv(a, v)``."""
    _check_mv(input, vec)
    return apply(_mv, (input, vec), {})


@public(aliases=("ger",))
def outer(input, vec2):
    """Outer product of two 1-D tensors: ``ember.outer(x, y)[i, j] == x[i] * y[j]``."""
    if input.dim() != 1:
        raise RuntimeError(f"outer: Expected 1-D argument self, but got {input.dim()}-D")
    if vec2.dim() != 1:
        raise RuntimeError(f"outer: Expected 1-D argument vec2, but got {vec2.dim()}-D")
    return input.unsqueeze(-1) * vec2


Tensor.__matmul__ = matmul
Tensor.__rmatmul__ = lambda self, other: matmul(other, self)
Tensor.__imatmul__ = matmul  # like PyTorch, ``a @= b`` rebinds ``a`` to a new tensor


# beta * input + alpha * (a @ b) ------------------------------------------------------------------

def _addmm_forward(ctx, xp, c, a, b, beta, alpha):
    ctx.beta, ctx.alpha = beta, alpha
    out = in_dtype_of(xp.matmul(a, b), a)
    if alpha != 1:
        out *= alpha
    if beta != 0:
        out += c if beta == 1 else beta * c
    return out


def _addmm_grad(ctx, g):
    need_c, need_a, need_b = ctx.needs_input_grad
    ga = gb = None
    if need_a or need_b:
        a, b = ctx.saved_tensors
        ga, gb = _matmul_grads(a, b, g * ctx.alpha if ctx.alpha != 1 else g, need_a, need_b)
    gc = (g if ctx.beta == 1 else g * ctx.beta) if need_c else None
    return gc, ga, gb


_addmm = Primitive(_addmm_forward, "AddmmBackward0", save=(1, 2))
_addmm.derivative(_addmm_grad)
_addmv, _baddbmm = _addmm.variant("AddmvBackward0"), _addmm.variant("BaddbmmBackward0")


def _addbmm_forward(ctx, xp, c, a, b, beta, alpha):
    """The batch sum of products is one GEMM: [a_1 .. a_B] (n, B*k) @ [b_1; ..; b_B] (B*k, m)."""
    nb, n, k = a.shape
    wide = xp.reshape(xp.swapaxes(a, 0, 1), (n, nb * k))
    return _addmm_forward(ctx, xp, c, wide, xp.reshape(b, (nb * k, b.shape[2])), beta, alpha)


_addbmm = Primitive(_addbmm_forward, "AddbmmBackward0", save=(1, 2))
_addbmm.derivative(_addmm_grad)  # g @ b^T and a^T @ g broadcast over the batch


def check_input(input, shape, op):
    """The added ``input`` must broadcast to the product's ``shape`` (torch's errors otherwise)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input.dim() > len(shape) or any(s not in (1, t) for s, t in zip(reversed(input.shape), reversed(shape))):
        input.expand(shape)  # raises PyTorch's error


def check_add_dtypes(input, a, b):
    if not (input._dtype is a._dtype is b._dtype):
        raise RuntimeError(
            f"self and mat2 must have the same dtype, but got {_scalar_name(input)} and "
            f"{_scalar_name(b if b._dtype is not input._dtype else a)}"
        )


@public(inplace=True)
@cast_entry("addmm")
def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """``beta * input + alpha * (mat1 @ mat2)``: ``ember.addmm(b, x, w)`` is a linear layer."""
    for name, t in (("mat1", mat1), ("mat2", mat2)):
        if t.dim() != 2:
            raise RuntimeError(f"{name} must be a matrix, got {t.dim()}-D tensor")
    _check_mm(mat1, mat2)
    check_input(input, (mat1.shape[0], mat2.shape[1]), "addmm")
    check_add_dtypes(input, mat1, mat2)
    return apply(_addmm, (input, mat1, mat2), {"beta": beta, "alpha": alpha})


@public(inplace=True)
def addmv(input, mat, vec, *, beta=1, alpha=1):
    """``beta * input + alpha * (mat @ vec)``."""
    if not (input._dtype is mat._dtype is vec._dtype):
        raise RuntimeError(
            "addmv input tensors must have the same dtype, but got "
            f"{_scalar_name(input)}, {_scalar_name(mat)}, and {_scalar_name(vec)}"
        )
    _check_mv(mat, vec)
    check_input(input, (mat.shape[0],), "addmv")
    return apply(_addmv, (input, mat, vec), {"beta": beta, "alpha": alpha})


@public(inplace=True)
@cast_entry("baddbmm")
def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """``beta * input + alpha * bmm(batch1, batch2)``."""
    _check_bmm(batch1, batch2)
    check_input(input, (batch1.shape[0], batch1.shape[1], batch2.shape[2]), "baddbmm")
    check_add_dtypes(input, batch1, batch2)
    return apply(_baddbmm, (input, batch1, batch2), {"beta": beta, "alpha": alpha})


@public(inplace=True)
@cast_entry("addbmm")
def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """``beta * input + alpha * sum_b batch1[b] @ batch2[b]``."""
    _check_bmm(batch1, batch2)
    check_input(input, (batch1.shape[1], batch2.shape[2]), "addbmm")
    check_add_dtypes(input, batch1, batch2)
    return apply(_addbmm, (input, batch1, batch2), {"beta": beta, "alpha": alpha})


# compositions ---------------------------------------------------------------------------------------

@public
def tensordot(a, b, dims=2):
    """Contract ``dims`` trailing dims of ``a`` with leading dims of ``b`` (or the dims listed in
    a pair of lists): ``ember.tensordot(x, y, dims=([1], [0]))``."""
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        da, db = list(range(a.dim() - dims, a.dim())), list(range(dims))
    else:
        da, db = ([d] if isinstance(d, int) else list(d) for d in dims)
    if len(da) != len(db):
        raise RuntimeError("both dimension lists should have same length")
    da, db = [d % a.dim() for d in da], [d % b.dim() for d in db]
    for x, y in zip(da, db):
        if a.shape[x] != b.shape[y]:
            raise RuntimeError(
                f"contracted dimensions need to match, but first has size {a.shape[x]} in dim {x} and second "
                f"has size {b.shape[y]} in dim {y}"
            )
    free_a, free_b = [d for d in range(a.dim()) if d not in da], [d for d in range(b.dim()) if d not in db]
    k = 1
    for d in da:
        k *= a.shape[d]
    left = a.permute(free_a + da).reshape(-1, k)
    right = b.permute(db + free_b).reshape(k, -1)
    return mm(left, right).reshape([a.shape[d] for d in free_a] + [b.shape[d] for d in free_b])


@public
def inner(input, other):
    """Sum over the last dim of both: ``ember.inner(x, y)`` has shape ``x.shape[:-1] + y.shape[:-1]``."""
    if input.dim() == 0 or other.dim() == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(
            "inner() the last dimension must match on both input tensors but got shapes "
            f"{list(input.shape)} and {list(other.shape)}"
        )
    return tensordot(input, other, dims=([-1], [-1]))


@public
def kron(input, other):
    """Kronecker product: ``ember.kron(a, b)`` tiles ``b`` scaled by each element of ``a``."""
    n = max(input.dim(), other.dim())
    a = input.reshape((1,) * (n - input.dim()) + tuple(input.shape))
    b = other.reshape((1,) * (n - other.dim()) + tuple(other.shape))
    inter = [s for pair in zip(a.shape, [1] * n) for s in pair]
    prod = a.reshape(inter) * b.reshape([s for pair in zip([1] * n, b.shape) for s in pair])
    return prod.reshape([x * y for x, y in zip(a.shape, b.shape)])


@primitive("LinalgCrossBackward0", save=(0, 1))
def _cross(ctx, xp, a, b, dim):
    ctx.dim = dim
    return xp.cross(a, b, axis=dim)


@_cross.derivative
def _(ctx, g):
    a, b = ctx.saved_tensors
    need_a, need_b = ctx.needs_input_grad
    return (cross(b, g, dim=ctx.dim) if need_a else None), (cross(g, a, dim=ctx.dim) if need_b else None)


@public
def cross(input, other, dim=None):
    """Cross product of 3-vectors along ``dim`` (default: the first dim of size 3)."""
    if dim is None:
        dim = next((d for d, n in enumerate(input.shape) if n == 3), -1)
    n = max(input.dim(), other.dim())
    dim = dim % n if -n <= dim < n else dim
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    if input.shape[dim - n + input.dim()] != 3 or other.shape[dim - n + other.dim()] != 3:
        raise RuntimeError(
            f"linalg.cross: inputs dimension {dim} must have length 3. Got {input.shape[dim - n + input.dim()]} "
            f"and {other.shape[dim - n + other.dim()]}"
        )
    _same_dtype(input, other)
    return apply(_cross, (input, other), {"dim": dim - n})

# forward-mode rules (run by ember.ops.dual) --------------------------------------------------

_mm.jvp(product(0, 1))
_cross.jvp(product(0, 1))


def _addmm_jvp(j):
    """beta * tc + alpha * (ta @ b + a @ tb), with the primitive's own product structure."""
    (_, a, b), (tc, ta, tb) = j.inputs, j.tangents
    total = None
    for args in ((ta, b) if ta is not None else None, (a, tb) if tb is not None else None):
        if args is not None:
            term = j.call(j.tangent(0) if total is None else 0, *args)
            total = term if total is None else total + term
    return total if total is not None else tc * j.params["beta"]


_addmm.jvp(_addmm_jvp)
_addbmm.jvp(_addmm_jvp)
