"""Complex numbers: real/imag views, conjugation, angle, polar and complex construction,
and the float<->complex views ``view_as_real``/``view_as_complex``.

Gradients follow PyTorch's convention: the gradient of a real loss ``L`` with respect to
``z = x + iy`` is ``dL/dx + i dL/dy`` (twice the conjugate Wirtinger derivative), so a
holomorphic op multiplies the incoming gradient by the *conjugate* of its derivative.
"""
import math

from ember._tensor import Tensor
from ember.backend.dtype import bool_, get_default_dtype
from ember.creation import ones
from ember.ops.dispatch import apply, per_sample, primitive
from ember.ops.dual import elementwise, linear
from ember.ops.out import write_out
from ember.ops.pointwise import where
from ember.ops.registry import public


def _is_complex(t):
    return t._dtype.category == 3


@primitive("RealBackward0", view=True)
def _real(ctx, xp, x):
    return x.real


_real.derivative(lambda ctx, g: g.to(g.dtype.to_complex()))


@primitive("ImagBackward0", view=True)
def _imag(ctx, xp, x):
    return x.imag


_imag.derivative(lambda ctx, g: g * 1j)


@public(method=False)
def real(input):
    """The real part as a view (a real tensor is returned as it is)."""
    return _real(input) if _is_complex(input) else input


@public(method=False)
def imag(input):
    """The imaginary part as a view; only complex tensors have one."""
    if not _is_complex(input):
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
    return _imag(input)


Tensor.real = property(real)
Tensor.imag = property(imag)


@primitive("ConjBackward0")
def _conj(ctx, xp, x):
    return xp.conj(x)


_conj.derivative(lambda ctx, g: g.conj())


@primitive("ConjPhysicalBackward0")
def _conj_physical(ctx, xp, x):
    return xp.conj(x)


_conj_physical.derivative(lambda ctx, g: g.conj())


@public
def conj(input):
    """The complex conjugate (real tensors are their own conjugate and come back unchanged)."""
    return _conj(input) if _is_complex(input) else input


@public(inplace=True)
def conj_physical(input):
    """The complex conjugate, always materialised (ember keeps no lazy conjugate bit)."""
    return _conj_physical(input) if _is_complex(input) else input


@public
def resolve_conj(input):
    """ember's conjugates are always materialised, so there is nothing to resolve."""
    return input


@public
def resolve_neg(input):
    """ember keeps no lazy negation bit, so there is nothing to resolve."""
    return input


@public
def is_conj(input):
    return False


@public
def is_neg(input):
    return False


@primitive("AngleBackward0", save=(0,))
def _angle(ctx, xp, x):
    if x.dtype.kind == "c":
        return xp.angle(x)
    return xp.where(x < 0, math.pi, xp.where(x != x, x, 0)).astype(x.dtype)


@_angle.derivative
def _(ctx, g):
    (z,) = ctx.saved_tensors
    if not _is_complex(z):
        return g * 0
    return where(z == 0, 0.0, g * z / (z.abs() ** 2) * 1j)


@public
def angle(input):
    """The argument (phase) of each element; for real tensors pi where negative, else 0."""
    if input._dtype.category < 2:
        input = input.to(get_default_dtype())
    return _angle(input)


@primitive("ViewAsRealBackward0", view=True)
def _view_as_real(ctx, xp, x):
    return x[..., None].view(x.real.dtype)


_view_as_real.derivative(lambda ctx, g: view_as_complex(g.contiguous()))


@primitive("ViewAsComplexBackward0", view=True)
def _view_as_complex(ctx, xp, x):
    return x.view(xp.result_type(x.dtype, xp.complex64))[..., 0]


_view_as_complex.derivative(lambda ctx, g: view_as_real(g))


@public(method=False)
def view_as_real(input):
    """A real view of a complex tensor with a trailing dimension of size 2 (real, imaginary)."""
    if not _is_complex(input):
        raise RuntimeError("view_as_real is only supported for complex tensors")
    return _view_as_real(input)


@public(method=False)
@per_sample
def view_as_complex(input):
    """A complex view of a float tensor whose last dimension (size 2, stride 1) holds (real, imaginary)."""
    if input._dtype.name not in ("float32", "float64"):
        raise RuntimeError(f"view_as_complex is only supported for float and double tensors, but got a tensor of "
                           f"scalar type: {input._dtype}")
    if input.dim() == 0 or input.shape[-1] != 2:
        raise RuntimeError("Tensor must have a last dimension of size 2")
    if input.stride(-1) != 1:
        raise RuntimeError("Tensor must have a last dimension with stride 1")
    if any(s % 2 for s in input.stride()[:-1]):
        raise RuntimeError("Tensor must have a stride divisible by 2 for all but last dimension")
    return _view_as_complex(input)


def _check_parts(name, a, b, first, second):
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError(f"{name}(): arguments must be tensors")
    if a._dtype.name not in ("float16", "float32", "float64") or a._dtype is not b._dtype:
        raise RuntimeError(f"Expected both inputs to be Half, Float or Double tensors but got {a._dtype} "
                           f"and {b._dtype}" if a._dtype is b._dtype or a._dtype.category != 2 or b._dtype.category != 2
                           else f"Expected object of scalar type {a._dtype} but got scalar type {b._dtype} for "
                                f"second argument ({first}, {second})")


@primitive("ComplexBackward0")
def _complex(ctx, xp, re, im):
    out = xp.empty(xp.broadcast_shapes(re.shape, im.shape), xp.result_type(re.dtype, xp.complex64))
    out.real, out.imag = re, im
    return out


_complex.derivative(lambda ctx, g: (real(g), imag(g)))


@public(method=False)
def complex(real, imag, *, out=None):
    """``real + i * imag`` from two float tensors of one dtype."""
    _check_parts("complex", real, imag, "real", "imag")
    return write_out("complex", out, apply(_complex, (real, imag), {}), (real, imag))


@primitive("PolarBackward0", save_output=True)
def _polar(ctx, xp, r, theta):
    return r * xp.exp(1j * theta)


@_polar.derivative
def _(ctx, g):
    (z,) = ctx.saved_tensors  # like PyTorch, the modulus gradient uses sgn(z) (it flips for a negative abs)
    return real(g * z.sgn().conj()), imag(g * z.conj())


@public(method=False)
def polar(abs, angle, *, out=None):
    """``abs * (cos(angle) + i sin(angle))`` from two float tensors of one dtype."""
    _check_parts("polar", abs, angle, "abs", "angle")
    return write_out("polar", out, apply(_polar, (abs, angle), {}), (abs, angle))


@public
def isreal(input):
    """True where the imaginary part is zero (every element of a real tensor)."""
    if not _is_complex(input):
        return ones(input.shape, dtype=bool_, device=input.device)
    return imag(input) == 0


@public
def adjoint(input):
    """The conjugate transpose of the last two dimensions."""
    if input.dim() < 2:
        raise RuntimeError(f"tensor.adjoint() is only supported on matrices or batches of matrices. "
                           f"Got {input.dim()}-D tensor.")
    return input.transpose(-2, -1).conj()

# forward-mode rules (run by ember.ops.dual) --------------------------------------------------

for _prim in (_real, _imag, _conj, _conj_physical, _view_as_real, _view_as_complex, _complex):
    _prim.jvp(linear())

_angle.jvp(elementwise)


@_polar.jvp
def _(j):
    theta, (tr, ttheta) = j.inputs[1], j.tangents
    total = None if tr is None else _polar(tr, theta)
    if ttheta is not None:
        term = j.out * _complex(ttheta * 0, ttheta)
        total = term if total is None else total + term
    return total
