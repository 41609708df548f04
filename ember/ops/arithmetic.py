"""More elementwise arithmetic and products: gcd/lcm, logaddexp(2), float_power, ldexp,
frexp, nextafter, isposinf/isneginf, isin, positive, hardshrink, addr, chain_matmul, vander,
cdist, pdist, dist, renorm, repeat_interleave and gradient."""
import builtins
import math
from collections import namedtuple

import numpy as np

from ember._tensor import Tensor
from ember.backend import PROMOTE
from ember.backend.dtype import float64, get_default_dtype, int32, int64, torch_name
from ember.creation import arange, tensor
from ember.ops.dispatch import Primitive, binary
from ember.ops.dual import elementwise
from ember.ops.inplace import inplace
from ember.ops.join import cat
from ember.ops.linalg import matmul
from ember.ops.pointwise import where
from ember.ops.out import accepts_out
from ember.ops.registry import public

FrexpResult = namedtuple("frexp", ["mantissa", "exponent"])


def _int_only(name, a, b):
    for t in (a, b):
        if isinstance(t, Tensor) and t._dtype.category != 1:
            raise RuntimeError(f"\"{name}_cpu\" not implemented for '{t.dtype}'")


_gcd = Primitive(lambda ctx, xp, a, b: xp.gcd(a, b), None, name="gcd")
_lcm = Primitive(lambda ctx, xp, a, b: xp.lcm(a, b), None, name="lcm")


@public(inplace=True)
def gcd(input, other):
    """The elementwise greatest common divisor of two integer tensors."""
    _int_only("gcd", input, other)
    return binary(_gcd, input, other)


@public(inplace=True)
def lcm(input, other):
    """The elementwise least common multiple of two integer tensors."""
    _int_only("lcm", input, other)
    return binary(_lcm, input, other)


_logaddexp = Primitive(lambda ctx, xp, a, b: xp.logaddexp(a, b), "LogaddexpBackward0", save=(0, 1), name="logaddexp")
_logaddexp2 = Primitive(lambda ctx, xp, a, b: xp.logaddexp2(a, b), "Logaddexp2Backward0", save=(0, 1),
                        name="logaddexp2")


@_logaddexp.derivative
def _(ctx, g):
    a, b = ctx.saved_tensors
    wa = (a - b).sigmoid()
    return g * wa, g * (1 - wa)


@_logaddexp2.derivative
def _(ctx, g):
    a, b = ctx.saved_tensors
    wa = ((a - b) * math.log(2)).sigmoid()
    return g * wa, g * (1 - wa)


@public
def logaddexp(input, other):
    """``log(exp(input) + exp(other))`` without overflow."""
    return binary(_logaddexp, input, other, float_result=True)


@public
def logaddexp2(input, other):
    """``log2(2**input + 2**other)`` without overflow."""
    return binary(_logaddexp2, input, other, float_result=True)


@public
def float_power(input, exponent):
    """``input ** exponent`` computed in double precision (complex128 for complex operands)."""
    complex_ = any(isinstance(t, Tensor) and t.is_complex() or isinstance(t, complex) for t in (input, exponent))
    dtype = float64.to_complex() if complex_ else float64
    a = input.to(dtype) if isinstance(input, Tensor) else input
    b = exponent.to(dtype) if isinstance(exponent, Tensor) else exponent
    return a ** b


def float_power_(self, exponent):
    """In place: only a double (or complex double) tensor can hold float_power's result."""
    if self.dtype not in (float64, float64.to_complex()):
        raise RuntimeError(f"the base given to float_power_ has dtype {torch_name(self.dtype)} but the operation's "
                           f"result requires dtype Double")
    return inplace(self, float_power, exponent)


Tensor.float_power_ = float_power_


@public(inplace=True)
def ldexp(input, other):
    """``input * 2 ** other`` (a floating result)."""
    x = input if input._dtype.category >= 2 else input.to(get_default_dtype())
    return x * (other.exp2() if isinstance(other, Tensor) else 2.0 ** other)


@public
def frexp(input):
    """Mantissas in [0.5, 1) and integer exponents with ``mantissa * 2 ** exponent == input``."""
    if not input.is_floating_point():
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    m, e = np.frexp(input._host())
    return FrexpResult(tensor(m, dtype=input.dtype, device=input.device),
                       tensor(e.astype(np.int32), dtype=int32, device=input.device))


_nextafter = Primitive(lambda ctx, xp, a, b: xp.nextafter(a, b), None, name="nextafter")


@public(inplace=True)
def nextafter(input, other):
    """The next representable float after ``input`` towards ``other``."""
    return binary(_nextafter, input, other)


@public
def isposinf(input):
    return input == math.inf


@public
def isneginf(input):
    return input == -math.inf


@public(method=False)
def isin(elements, test_elements, *, assume_unique=False, invert=False):
    """True where an element of ``elements`` occurs in ``test_elements``."""
    a = elements._host() if isinstance(elements, Tensor) else np.asarray(elements)
    b = test_elements._host() if isinstance(test_elements, Tensor) else np.asarray(test_elements)
    device = elements.device if isinstance(elements, Tensor) else test_elements.device
    return tensor(np.isin(a, b, invert=invert), device=device)


@public
def positive(input):
    if input._dtype.category == 0:
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


@public(inplace=True)
def addr(input, vec1, vec2, *, beta=1, alpha=1):
    """``beta * input + alpha * outer(vec1, vec2)``."""
    if vec1.dim() != 1 or vec2.dim() != 1:
        raise RuntimeError(f"addr: Expected 1-D argument vec1, but got {vec1.dim()}-D" if vec1.dim() != 1 else
                           f"addr: Expected 1-D argument vec2, but got {vec2.dim()}-D")
    outer = vec1.unsqueeze(1) * vec2.unsqueeze(0)
    if alpha != 1:
        outer = outer * alpha
    if beta == 0:  # input is ignored, NaNs included
        shape = np.broadcast_shapes(tuple(input.shape), tuple(outer.shape))
        return outer.expand(*shape).to(PROMOTE[input.dtype, outer.dtype])
    return (input if beta == 1 else input * beta) + outer


@public(method=False)
@accepts_out
def chain_matmul(*matrices):
    """The product of the matrices, left to right (``linalg.multi_dot``)."""
    if len(matrices) == 1 and isinstance(matrices[0], (list, tuple)):
        matrices = tuple(matrices[0])
    result = matrices[0]
    for m in matrices[1:]:
        result = matmul(result, m)
    return result


@public(method=False)
def vander(x, N=None, increasing=False):  # noqa: N803 - PyTorch's argument name
    """The Vandermonde matrix of a 1-D tensor (decreasing powers unless ``increasing``)."""
    if x.dim() != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x.shape[0] if N is None else N
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    powers = arange(n, device=x.device)
    if not increasing:
        powers = powers.flip(0)
    base = x.unsqueeze(1)
    if x._dtype.category < 2:
        return base.to(int64) ** powers
    return base ** powers.to(x.dtype)


@public(method=False)
def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """Pairwise ``p``-norm distances between the rows of ``x1`` (..., P, M) and ``x2`` (..., R, M)."""
    if x1.dim() < 2 or x2.dim() < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1.dim()}D" if x1.dim() < 2 else
                           f"cdist only supports at least 2D tensors, X2 got: {x2.dim()}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: {x2.shape[-1]}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    use_mm = p == 2 and (compute_mode == "use_mm_for_euclid_dist" or (
        compute_mode == "use_mm_for_euclid_dist_if_necessary" and (x1.shape[-2] > 25 or x2.shape[-2] > 25)))
    if use_mm:  # |a|^2 + |b|^2 - 2 a.b: one GEMM instead of a (P, R, M) difference tensor
        sq = (x1 * x1).sum(-1, keepdim=True) + (x2 * x2).sum(-1).unsqueeze(-2) - 2 * matmul(x1, x2.mT)
        return sq.clamp(min=0).sqrt()
    d = (x1.unsqueeze(-2) - x2.unsqueeze(-3)).abs()
    if p == 0:
        return (d != 0).to(x1.dtype).sum(-1)
    if p == math.inf:
        return d.amax(-1)
    if p == 1:
        return d.sum(-1)
    if p == 2:
        return (d * d).sum(-1).sqrt()
    return (d ** p).sum(-1) ** (1 / p)


@public
def dist(input, other, p=2):
    """The ``p``-norm of ``input - other``."""
    d = (input - other).abs()
    if p == math.inf:
        return d.amax()
    if p == -math.inf:
        return d.amin()
    if p == 0:
        return (d != 0).to(d.dtype).sum()
    return (d ** p).sum() ** (1.0 / p)


@public(inplace=True)
def renorm(input, p, dim, maxnorm):
    """Sub-tensors along ``dim`` rescaled so that each ``p``-norm is at most ``maxnorm``."""
    others = [d for d in range(input.dim()) if d != dim % input.dim()]
    norms = (input.abs() ** p).sum(others, keepdim=True) ** (1.0 / p)
    scale = where(norms > maxnorm, maxnorm / (norms + 1e-7), 1.0)
    return input * scale


@public
def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Each element (or slice along ``dim``) repeated ``repeats`` times, consecutively."""
    if repeats is None:  # torch.repeat_interleave(repeats): the indices repeated
        counts = input
        return arange(counts.shape[0], device=counts.device).repeat_interleave(counts)
    x = input.reshape(-1) if dim is None else input
    d = 0 if dim is None else dim % max(x.dim(), 1)
    n = x.shape[d] if x.dim() else 1
    if isinstance(repeats, Tensor):
        if repeats.dim() > 1 or (repeats.numel() not in (1, n)):
            raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
        counts = repeats._host().reshape(-1)
        if counts.size == 1:
            counts = np.full(n, int(counts[0]))
    else:
        counts = np.full(n, int(repeats))
    if (counts < 0).any():
        raise RuntimeError("repeats can not be negative")
    index = tensor(np.repeat(np.arange(n), counts), dtype=int64, device=input.device)
    return x.index_select(d, index) if x.dim() else x.reshape(1).index_select(0, index)



@public
def hardshrink(input, lambd=0.5):
    """``x`` where ``|x| > lambd``, else 0."""
    return where((input > lambd) | (input < -lambd), input, 0.0)


@public(method=False)
def pdist(input, p=2):
    """The ``p``-norm distances between every pair of rows ``i < j`` of a 2-D tensor, flattened."""
    if input.dim() != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.dim()}D")
    n = input.shape[0]
    rows, cols = np.triu_indices(n, 1)
    i = tensor(rows.astype(np.int64), device=input.device)
    j = tensor(cols.astype(np.int64), device=input.device)
    d = (input[i] - input[j]).abs()
    if p == math.inf:
        return d.amax(-1)
    if p == 0:
        return (d != 0).to(input.dtype).sum(-1)
    return (d ** p).sum(-1) ** (1.0 / p) if p != 2 else (d * d).sum(-1).sqrt()


@public(method=False)
def gradient(input, *, spacing=1, dim=None, edge_order=1):
    """Estimated derivatives along each of ``dim`` by central differences (one-sided at the edges),
    for uniform ``spacing`` given as a number or one number per dim."""
    if edge_order != 1:
        raise NotImplementedError(f"gradient: edge_order={edge_order} is not supported by ember (only 1)")
    dims = list(builtins.range(input.dim())) if dim is None else ([dim] if isinstance(dim, int) else list(dim))
    steps = spacing if isinstance(spacing, (list, tuple)) else [spacing] * len(dims)
    if len(steps) != len(dims):
        raise RuntimeError(f"torch.gradient expected spacing to be unspecified, a scalar or a list of length "
                           f"{len(dims)} but got a list of length {len(steps)}")
    x = input if input._dtype.category >= 2 else input.to(get_default_dtype())
    out = []
    for d, h in zip(dims, steps):
        h = float(h.item()) if isinstance(h, Tensor) else float(h)
        n = x.shape[d]
        if n < 2:
            raise RuntimeError("torch.gradient expected each dimension size to be at least edge_order+1")
        first = (x.narrow(d, 1, 1) - x.narrow(d, 0, 1)) / h
        last = (x.narrow(d, n - 1, 1) - x.narrow(d, n - 2, 1)) / h
        parts = [first]
        if n > 2:
            parts.append((x.narrow(d, 2, n - 2) - x.narrow(d, 0, n - 2)) / (2 * h))
        parts.append(last)
        out.append(cat(parts, d))
    return tuple(out)

# forward-mode rules (run by ember.ops.dual) --------------------------------------------------

_logaddexp.jvp(elementwise)
_logaddexp2.jvp(elementwise)
