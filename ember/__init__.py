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
from ember.backend import device, dtype, get_default_dtype, set_default_dtype
from ember.backend.device import get_default_device, set_default_device
from ember.backend.flags import (
    are_deterministic_algorithms_enabled, get_deterministic_debug_mode, get_float32_matmul_precision,
    get_num_interop_threads, is_deterministic_algorithms_warn_only_enabled, is_warn_always_enabled,
    set_deterministic_debug_mode, set_float32_matmul_precision, set_num_interop_threads, set_warn_always,
    use_deterministic_algorithms,
)
from ember.backend.typeinfo import finfo, iinfo
from ember.backend.threads import get_num_threads, set_num_threads
from ember.backend.dtype import (
    bfloat16, bool_ as bool, complex64, complex128, float16, float32, float64, int8, int16, int32, int64, uint8,
)
from ember.ops import PUBLIC as _OPS  # before creation: op modules import creation's factories
from ember.creation import (
    BoolTensor, ByteTensor, CharTensor, DoubleTensor, FloatTensor, HalfTensor, IntTensor, LongTensor,
    ShortTensor, arange, as_tensor, asarray, empty, empty_like, eye, from_dlpack, from_numpy, full, full_like,
    linspace, logspace, ones, ones_like, tensor, zeros, zeros_like,
)
from ember import random
from ember.random import (
    Generator, default_generator, get_rng_state, initial_seed, manual_seed, multinomial, rand, rand_like, randint,
    randint_like, randn, randn_like, randperm, seed, set_rng_state,
)
from ember.ops.random import bernoulli, normal, poisson
from ember._printing import set_printoptions
from ember import optim
from ember import cuda, fft, linalg, special  # linalg before the copy below: it registers ember.det, ember.norm, ...
from ember import nn
from ember.nn.functional import (  # PyTorch's top-level names for these functionals
    alpha_dropout, bilinear, celu, cosine_similarity, dropout, feature_alpha_dropout, pairwise_distance, prelu,
    selu, threshold,
)
from ember import serialization
from ember.serialization import load, save
from ember import utils  # ember.utils.data: datasets, samplers, DataLoader
from ember import distributed, multiprocessing  # the top of the stack; mpi4py loads only with a process group
from ember.nn import parallel as _nn_parallel  # binds ember.nn.parallel (DistributedDataParallel)
from ember import export, fx, jit

globals().update(_OPS)

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
    t = type(obj)
    return t.__qualname__ if t.__module__ in ("builtins", "__builtin__") else f"{t.__module__}.{t.__qualname__}"


pi = math.pi
e = math.e
inf = math.inf
nan = math.nan
newaxis = None


def numel(input):
    return input.numel()
