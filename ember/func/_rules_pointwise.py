"""Batching rules of elementwise and broadcasting primitives: operands are aligned so that
their batch dims sit first and their logical dims broadcast as they would per sample."""
import numpy as np

from ember._tensor import Tensor
from ember.func._rules_common import call, rank, register


def broadcasting(prim, args, batched, size, params):
    nd = max(rank(a, b) for a, b in zip(args, batched))
    aligned = []
    for a, b in zip(args, batched):
        if b and a.ndim - 1 < nd:
            a = a.reshape(size, *([1] * (nd - a.ndim + 1)), *a.shape[1:])
        aligned.append(a)
    return prim(*aligned, **params)


def _expanded(prim, args, batched, size, params):
    """For kernels that write into an array shaped like one operand: every operand at the full shape."""
    nd = max(rank(a, b) for a, b in zip(args, batched))
    full = [a.reshape(size, *([1] * (nd - a.ndim + 1)), *a.shape[1:]) if b else a for a, b in zip(args, batched)]
    shape = np.broadcast_shapes(*(tuple(a.shape) for a in full if isinstance(a, Tensor)))
    return prim(*[a.expand(*shape) if isinstance(a, Tensor) else a for a in full], **params)


def _single_or_broadcast(prim, args, batched, size, params):
    if sum(1 for a in args if isinstance(a, Tensor)) == 1:
        return prim(*args, **params)
    return broadcasting(prim, args, batched, size, params)


UNARY = """abs acos acosh angle asin asinh atan atanh bitwise_not ceil clone conj conj_physical cos cosh deg2rad detach
digamma erf erfc erfinv exp exp2 expm1 floor frac gelu gelu_tanh mish silu imag isfinite isinf isnan lgamma log log10 log1p log2
logical_not logit nan_to_num neg polygamma rad2deg real reciprocal relu round rsqrt sgn sigmoid sign signbit sin
sinh sqrt tan tanh trunc to_copy zero fill pow_scalar clamp_scalar view_as_real view_as_complex
chebyshev_polynomial_t chebyshev_polynomial_u chebyshev_polynomial_v chebyshev_polynomial_w hermite_polynomial_h
hermite_polynomial_he laguerre_polynomial_l legendre_polynomial_p shifted_chebyshev_polynomial_t
shifted_chebyshev_polynomial_u shifted_chebyshev_polynomial_v shifted_chebyshev_polynomial_w special_airy_ai
special_bessel_j0 special_bessel_j1 special_bessel_y0 special_bessel_y1 special_entr special_erfcx special_i0
special_i0e special_i1 special_i1e special_log_ndtr special_modified_bessel_i0 special_modified_bessel_i1
special_modified_bessel_k0 special_modified_bessel_k1 special_ndtri special_scaled_modified_bessel_k0
special_scaled_modified_bessel_k1 special_sinc special_spherical_bessel_j0 input_alias"""

BROADCASTING = """add sub mul div div_rounded pow atan2 bitwise_and bitwise_or bitwise_xor bitwise_left_shift
bitwise_right_shift eq ne lt le gt ge fmax fmin fmod remainder maximum minimum logical_and logical_or logical_xor
copysign hypot heaviside nextafter gcd lcm logaddexp logaddexp2 xlogy isclose addcdiv addcmul lerp_scalar
lerp_tensor clamp_tensor where complex polar special_gammainc special_gammaincc special_xlog1py special_zeta
masked_fill masked_fill_tensor copy"""

register(UNARY, _single_or_broadcast)
register(BROADCASTING, broadcasting)
register("gelu_backward gelu_tanh_backward mish_backward silu_backward", _expanded)
register("tril triu cholesky det inv eigh eigvalsh qr svd svdvals slogdet lu matrix_exp eig", call)
