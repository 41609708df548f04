"""ember: a deep-learning framework with PyTorch's API (``import ember as torch``).

>>> import ember
>>> x = ember.ones(2, 2, requires_grad=True)
>>> (x * 3).sum().backward()
>>> x.grad
tensor([[3., 3.],
        [3., 3.]])
"""
import math
import warnings

from ember._blas_env import shorten_openblas_spin

shorten_openblas_spin()

# NumPy warns on log(0), 0/0 and overflow; PyTorch returns inf/nan silently, and so
# does ember. The filter matches only NumPy's floating-point messages raised from
# ember's own modules, so it costs nothing per op and leaves user code alone.
warnings.filterwarnings(
    "ignore", r"(divide by zero|invalid value|overflow|underflow) encountered", RuntimeWarning, r"ember\."
)

from ember import autograd  # noqa: E402
from ember._tensor import Size, Tensor
from ember.autograd import (
    enable_grad, inference_mode, is_anomaly_check_nan_enabled, is_anomaly_enabled, is_grad_enabled,
    is_inference_mode_enabled, no_grad, set_grad_enabled,
)
from ember.autograd.anomaly import set_anomaly_enabled
from ember.backend import device, dtype, get_default_dtype, set_default_dtype
from ember.backend.device import get_default_device, set_default_device
from ember.backend.gpu_memory import OutOfMemoryError
from ember.backend.flags import (
    are_deterministic_algorithms_enabled, get_deterministic_debug_mode, get_float32_matmul_precision,
    get_num_interop_threads, is_deterministic_algorithms_warn_only_enabled, is_warn_always_enabled,
    set_deterministic_debug_mode, set_float32_matmul_precision, set_num_interop_threads, set_warn_always,
    use_deterministic_algorithms,
)
from ember.backend.typeinfo import finfo, iinfo
from ember.backend.layout import (  # noqa: F401
    layout, sparse_bsc, sparse_bsr, sparse_coo, sparse_csc, sparse_csr, strided,
)
from ember.backend.threads import get_num_threads, init_num_threads, set_num_threads
from ember.backend.dtype import (
    bfloat16, bool_ as bool, complex64, complex128, float16, float32, float64, int8, int16, int32, int64, uint8,
    uint16, uint32, uint64,
)
from ember.creation import (
    BFloat16Tensor, BoolTensor, ByteTensor, CharTensor, DoubleTensor, FloatTensor, HalfTensor, IntTensor, LongTensor,
    ShortTensor, arange, as_tensor, asarray, empty, empty_like, eye, from_dlpack, from_numpy, full, full_like,
    linspace, logspace, ones, ones_like, set_default_tensor_type, tensor, zeros, zeros_like,
)
from ember import random
from ember.random import (
    Generator, default_generator, get_rng_state, initial_seed, manual_seed, multinomial, rand, rand_like, randint,
    randint_like, randn, randn_like, randperm, seed, set_rng_state,
)
from ember.ops.random import bernoulli, binomial, normal, poisson
from ember._printing import set_printoptions
from ember import optim
from ember import cuda, fft, linalg, sparse, special
from ember import backends, hub, library, testing
from ember import amp, cpu
from ember.amp.autocast_mode import (
    autocast, autocast_decrement_nesting, autocast_increment_nesting, clear_autocast_cache, get_autocast_cpu_dtype,
    get_autocast_dtype, get_autocast_gpu_dtype, is_autocast_cache_enabled, is_autocast_cpu_enabled,
    is_autocast_enabled, set_autocast_cache_enabled, set_autocast_cpu_dtype, set_autocast_cpu_enabled,
    set_autocast_dtype, set_autocast_enabled, set_autocast_gpu_dtype,
)
from ember.amp.grad_scaler import GradScaler
from ember.cpu import amp as _cpu_amp  # noqa: F401  binds ember.cpu.amp
from ember.cuda import amp as _cuda_amp  # noqa: F401  binds ember.cuda.amp
from ember import profiler
from ember.autograd import profiler as _autograd_profiler  # noqa: F401  binds ember.autograd.profiler
from ember import nn
from ember.nn.functional import (  # PyTorch's top-level names for these functionals
    alpha_dropout, bilinear, celu, cosine_similarity, dropout, feature_alpha_dropout, pairwise_distance, prelu,
    selu, threshold,
)
from ember.nn.functional.torch_forms import (
    alpha_dropout_, celu_, dropout_, feature_alpha_dropout_, feature_dropout, feature_dropout_, max_pool1d_with_indices,
    selu_, threshold_,
)
from ember import serialization
from ember.serialization import load, save
from ember import utils  # ember.utils.data: datasets, samplers, DataLoader
from ember import distributions
from ember import distributed, multiprocessing  # the top of the stack; mpi4py loads only with a process group
from ember.nn import parallel as _nn_parallel  # binds ember.nn.parallel (DistributedDataParallel)
from ember import export, fx, jit, onnx
from ember import compiler
from ember.compiler import compile  # noqa: A004 - torch.compile's name
from ember import func
from ember.autograd import functional as _autograd_functional  # noqa: F401  (binds ember.autograd.functional)
from ember.func import vmap

# --- ops namespace: generated from ember.ops.registry.PUBLIC by tests/test_public_names.py; do not edit ---
from ember.linalg import (  # noqa: F401
    _cholesky as cholesky, _cholesky_inverse as cholesky_inverse, _cholesky_solve as cholesky_solve, _det as det,
    _geqrf as geqrf, _inverse as inverse, _logdet as logdet, _lu as lu, _lu_solve as lu_solve,
    _lu_unpack as lu_unpack, _matrix_exp as matrix_exp, _matrix_power as matrix_power, _norm as norm,
    _nuclear_norm as nuclear_norm, _orgqr as orgqr, _ormqr as ormqr, _pinverse as pinverse, _qr as qr,
    _slogdet as slogdet, _svd as svd, _triangular_solve as triangular_solve,
)
from ember.ops.adaptive_pool import (  # noqa: F401
    adaptive_avg_pool1d, _values_and_indices as adaptive_max_pool1d,
)
from ember.ops.arithmetic import (  # noqa: F401
    addr, cdist, chain_matmul, dist, float_power, frexp, gcd, gradient, hardshrink, isin, isneginf, isposinf, lcm,
    ldexp, logaddexp, logaddexp2, nextafter, pdist, positive, renorm, repeat_interleave, vander,
)
from ember.ops.binary import (  # noqa: F401
    add, atan2 as arctan2, atan2, bitwise_and, bitwise_left_shift, bitwise_or, bitwise_right_shift, bitwise_xor,
    div, div as divide, eq, floor_divide, fmax, fmin, fmod, ge, gt as greater, ge as greater_equal, gt, le,
    lt as less, le as less_equal, logical_and, logical_or, logical_xor, lt, maximum, minimum, mul, mul as multiply,
    ne, ne as not_equal, pow, remainder, rsub, sub, sub as subtract, div as true_divide,
)
from ember.ops.complex import (  # noqa: F401
    adjoint, angle, complex, conj, conj_physical, imag, is_conj, is_neg, isreal, polar, real, resolve_conj,
    resolve_neg, view_as_complex, view_as_real,
)
from ember.ops.conv import (  # noqa: F401
    conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d,
)
from ember.ops.convert import (  # noqa: F401
    clone,
)
from ember.ops.dispatch import (  # noqa: F401
    result_type,
)
from ember.ops.einsum import (  # noqa: F401
    einsum,
)
from ember.ops.embedding import (  # noqa: F401
    embedding,
)
from ember.ops.grids import (  # noqa: F401
    block_diag, broadcast_shapes, broadcast_tensors, broadcast_to, cartesian_prod, column_stack, combinations,
    diagflat, diagonal_scatter, dsplit, hsplit, meshgrid, ravel, rot90, select_scatter, slice_scatter, tril_indices,
    triu_indices, unravel_index, vsplit,
)
from ember.ops.indexing import (  # noqa: F401
    argwhere, masked_select, nonzero, put, take,
)
from ember.ops.inplace_forms import (  # noqa: F401
    abs_, acos_, acosh_, addmv_, arccos_, arccosh_, arcsin_, arcsinh_, arctan_, arctanh_, asin_, asinh_, atan_,
    atanh_, ceil_, clamp_, clamp_max_, clamp_min_, clip_, conj_physical_, cos_, cosh_, deg2rad_, detach, detach_,
    erf_, erfc_, exp2_, exp_, expm1_, fill, fill_, fix_, floor_, frac_, gcd_, i0_, lcm_, ldexp_, log10_, log1p_,
    log2_, log_, logit_, nan_to_num_, neg_, negative_, rad2deg_, reciprocal_, relu_, round_, rsqrt_, sigmoid_, sin_,
    sinc_, sinh_, sqrt_, square_, tan_, tanh_, trunc_, xlogy_, zero_,
)
from ember.ops.join import (  # noqa: F401
    cat, chunk, cat as concat, cat as concatenate, dstack, hstack, narrow, vstack as row_stack, select, split,
    stack, tensor_split, unbind, vstack,
)
from ember.ops.linalg import (  # noqa: F401
    addbmm, addmm, addmv, baddbmm, bmm, cross, dot, outer as ger, inner, kron, matmul, mm, mv, outer, tensordot,
    vdot,
)
from ember.ops.norm import (  # noqa: F401
    batch_norm, group_norm, instance_norm, layer_norm, rms_norm,
)
from ember.ops.pad import (  # noqa: F401
    constant_pad_nd,
)
from ember.ops.pointwise import (  # noqa: F401
    addcdiv, addcmul, allclose, can_cast, clamp, clamp_max, clamp_min, clamp as clip, copysign, equal, heaviside,
    hypot, isclose, lerp, log_softmax, nan_to_num, promote_types, softmax, where, xlogy,
)
from ember.ops.pool import (  # noqa: F401
    avg_pool1d, max_pool1d, max_pool2d, max_pool3d,
)
from ember.ops.rearrange import (  # noqa: F401
    diag, diag_embed, diagonal, flip, fliplr, flipud, repeat, roll, tile, trace, tril, triu,
)
from ember.ops.reduce import (  # noqa: F401
    all, any, count_nonzero, logsumexp, mean, nanmean, nansum, prod, std, std_mean, sum, var, var_mean,
)
from ember.ops.resample import (  # noqa: F401
    pixel_shuffle, pixel_unshuffle,
)
from ember.ops.scan import (  # noqa: F401
    cumprod, cumsum, logcumsumexp,
)
from ember.ops.scatter import (  # noqa: F401
    gather, index_add, index_copy, index_fill, index_select, masked_fill, masked_scatter, scatter, scatter_add,
    take_along_dim,
)
from ember.ops.shape import (  # noqa: F401
    atleast_1d, atleast_2d, atleast_3d, flatten, movedim as moveaxis, movedim, permute, reshape, squeeze,
    transpose as swapaxes, transpose as swapdims, t, transpose, unflatten, unsqueeze,
)
from ember.ops.sort import (  # noqa: F401
    amax, amin, argmax, argmin, argsort, kthvalue, max, median, min, mode, msort, nanmedian, sort, topk, unique,
    unique_consecutive,
)
from ember.ops.sparse import (  # noqa: F401
    sparse_coo_tensor, sparse_mask,
)
from ember.ops.sparse_csr import (  # noqa: F401
    sparse_csr_tensor,
)
from ember.ops.special import (  # noqa: F401
    i0, igamma, igammac, mvlgamma, sinc,
)
from ember.ops.spectral import (  # noqa: F401
    bartlett_window, blackman_window, hamming_window, hann_window, istft, kaiser_window, stft,
)
from ember.ops.statistics import (  # noqa: F401
    aminmax, bincount, bucketize, corrcoef, cov, cummax, cummin, cumulative_trapezoid, diff, histc, histogram,
    nanquantile, quantile, searchsorted, trapezoid, trapz,
)
from ember.ops.strided import (  # noqa: F401
    as_strided, as_strided_, as_strided_scatter, empty_strided, frombuffer, get_device, index_reduce, is_inference,
    range, resize_as_fn as resize_as_, scalar_tensor, split_with_sizes, unsafe_chunk, unsafe_split,
    unsafe_split_with_sizes,
)
from ember.ops.tensor_methods import (  # noqa: F401
    index_put, index_put_, scatter_reduce,
)
from ember.ops.unary import (  # noqa: F401
    abs, abs as absolute, acos, acosh, acos as arccos, acosh as arccosh, asin as arcsin, asinh as arcsinh,
    atan as arctan, atanh as arctanh, asin, asinh, atan, atanh, bitwise_not, ceil, cos, cosh, deg2rad, digamma, erf,
    erfc, erfinv, exp, exp2, expm1, trunc as fix, floor, frac, isfinite, isinf, isnan, lgamma, log, log10, log1p,
    log2, logical_not, logit, neg, neg as negative, polygamma, rad2deg, reciprocal, relu, round, rsqrt, sgn,
    sigmoid, sign, signbit, sin, sinh, sqrt, square, tan, tanh, trunc,
)
# --- end of generated ops namespace ---

from ember.version import __version__

float = float32  # noqa: A001 - PyTorch's aliases
double = float64
half = float16
long = int64
int = int32  # noqa: A001
short = int16
cfloat = complex64
cdouble = complex128


def is_tensor(obj):
    return isinstance(obj, Tensor)


def is_floating_point(input):
    return input.is_floating_point()


def is_complex(input):
    return input.is_complex()


def is_signed(input):
    return input.is_signed()


def is_nonzero(input):
    return input.is_nonzero()


def is_same_size(input, other):
    return input.is_same_size(other)


def typename(obj):
    """``'ember.FloatTensor'`` for a tensor, else the object's qualified type name."""
    if isinstance(obj, Tensor):
        return obj.type()
    cls = type(obj)
    return cls.__qualname__ if cls.__module__ in ("builtins", "__builtin__") else f"{cls.__module__}.{cls.__qualname__}"


pi = math.pi
e = math.e
inf = math.inf
nan = math.nan
newaxis = None


def numel(input):
    return input.numel()
