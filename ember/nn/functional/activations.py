"""Activation functions of ``nn.functional``, composed from ember ops (their in-place forms through
``ops.inplace``, so autograd sees the in-place op).

>>> import ember
>>> import ember.nn.functional as F
>>> F.relu(ember.tensor([-1.0, 2.0])).tolist()
[0.0, 2.0]
"""
import warnings

from ember.autograd import no_grad
from ember.creation import empty_like, zeros_like
from ember.ops import activation_kernels, join, pointwise, unary
from ember.ops.arithmetic import hardshrink
from ember.ops.inplace_forms import relu_
from ember.ops.inplace import inplace as run_inplace
from ember.amp.autocast_mode import cast_entry

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _apply(fn, input, inplace, *args):
    """``fn(input, *args)``, written into ``input`` when ``inplace`` (autograd sees the in-place op)."""
    return run_inplace(input, fn, *args) if inplace else fn(input, *args)


def _leaky_relu(x, slope):
    return pointwise.where(x > 0, x, x * slope)


def _celu(x, alpha, divisor, scale=1.0):
    """scale * (x if x > 0 else alpha * expm1(x / divisor)): elu, selu and celu in one."""
    neg = alpha * unary.expm1(pointwise.clamp(x, max=0.0) / divisor)
    return scale * pointwise.where(x > 0, x, neg) if scale != 1.0 else pointwise.where(x > 0, x, neg)


def _hardsigmoid(x):
    return pointwise.clamp(x + 3.0, 0.0, 6.0) / 6.0


def _hardswish(x):
    return x * pointwise.clamp(x + 3.0, 0.0, 6.0) / 6.0


def _threshold(x, threshold, value):
    return pointwise.where(x > threshold, x, value)


def relu(input, inplace=False):
    """max(x, 0): ``F.relu(ember.tensor([-1.0, 2.0]))`` -> ``[0., 2.]``."""
    return input.relu_() if inplace else unary.relu(input)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """x clamped to [min_val, max_val]: ``F.hardtanh(ember.tensor([3.0]))`` -> ``[1.]``."""
    return _apply(pointwise.clamp, input, inplace, min_val, max_val)


def relu6(input, inplace=False):
    """min(max(x, 0), 6): ``F.relu6(ember.tensor([7.0]))`` -> ``[6.]``."""
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x if x > 0 else slope * x: ``F.leaky_relu(ember.tensor([-1.0]), 0.1)`` -> ``[-0.1]``."""
    return _apply(_leaky_relu, input, inplace, negative_slope)


def elu(input, alpha=1.0, inplace=False):
    """x if x > 0 else alpha * (exp(x) - 1): ``F.elu(ember.tensor([0.0]))`` -> ``[0.]``."""
    return _apply(_celu, input, inplace, alpha, 1.0)


def selu(input, inplace=False):
    """scale * elu(x, alpha) with the self-normalising constants: ``F.selu(ember.tensor([1.0]))`` -> ``[1.0507]``."""
    return _apply(_celu, input, inplace, _SELU_ALPHA, 1.0, _SELU_SCALE)


def celu(input, alpha=1.0, inplace=False):
    """x if x > 0 else alpha * (exp(x / alpha) - 1): ``F.celu(ember.tensor([2.0]))`` -> ``[2.]``."""
    return _apply(_celu, input, inplace, alpha, alpha)


def gelu(input, approximate="none"):
    """x * Phi(x), exact or with the tanh approximation: ``F.gelu(ember.tensor([0.0]))`` -> ``[0.]``."""
    if approximate == "none":
        return activation_kernels.gelu(input)
    if approximate == "tanh":
        return activation_kernels.gelu_tanh(input)
    raise RuntimeError(f"approximate argument must be either none or tanh, got {approximate}")


def sigmoid(input):
    """1 / (1 + exp(-x)): ``F.sigmoid(ember.tensor([0.0]))`` -> ``[0.5]``."""
    return unary.sigmoid(input)


def tanh(input):
    """Hyperbolic tangent: ``F.tanh(ember.tensor([0.0]))`` -> ``[0.]``."""
    return unary.tanh(input)


def silu(input, inplace=False):
    """x * sigmoid(x): ``F.silu(ember.tensor([0.0]))`` -> ``[0.]``."""
    return _apply(activation_kernels.silu, input, inplace)


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta x)) / beta, linear above threshold: ``F.softplus(ember.tensor([0.0]))`` -> ``[0.6931]``."""
    scaled = input * beta
    soft = unary.log1p(unary.exp(pointwise.clamp(scaled, max=threshold))) / beta
    return pointwise.where(scaled > threshold, input, soft)


def logsigmoid(input):
    """log(sigmoid(x)), computed stably: ``F.logsigmoid(ember.tensor([0.0]))`` -> ``[-0.6931]``."""
    return -softplus_neg(input)


def softplus_neg(x):
    """log(1 + exp(-x)) without overflow, with the exact derivative -sigmoid(-x) everywhere (also at 0)."""
    neg = unary.log1p(unary.exp(pointwise.clamp(x, max=0.0))) - x
    return pointwise.where(x < 0, neg, unary.log1p(unary.exp(-pointwise.clamp(x, min=0.0))))


def mish(input, inplace=False):
    """x * tanh(softplus(x)): ``F.mish(ember.tensor([0.0]))`` -> ``[0.]``."""
    return _apply(activation_kernels.mish, input, inplace)


def hardsigmoid(input, inplace=False):
    """relu6(x + 3) / 6: ``F.hardsigmoid(ember.tensor([0.0]))`` -> ``[0.5]``."""
    return _apply(_hardsigmoid, input, inplace)


def hardswish(input, inplace=False):
    """x * relu6(x + 3) / 6: ``F.hardswish(ember.tensor([3.0]))`` -> ``[3.]``."""
    return _apply(_hardswish, input, inplace)


def softsign(input):
    """x / (1 + |x|): ``F.softsign(ember.tensor([1.0]))`` -> ``[0.5]``."""
    return input / (1.0 + unary.abs(input))


def threshold(input, threshold, value, inplace=False):
    """x if x > threshold else value: ``F.threshold(ember.tensor([0.5]), 1.0, 9.0)`` -> ``[9.]``."""
    return _apply(_threshold, input, inplace, threshold, value)


def _softmax_dim(ndim):
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None, dtype=None):
    """exp(x) normalised along dim: ``F.softmax(ember.zeros(2), dim=0)`` -> ``[0.5, 0.5]``."""
    dim = _softmax_dim(input.dim()) if dim is None else dim
    return pointwise.softmax(input if dtype is None else input.to(dtype), dim)


def log_softmax(input, dim=None, dtype=None):
    """log(softmax(x)), computed stably: ``F.log_softmax(ember.zeros(2), dim=0)`` -> ``[-0.6931, -0.6931]``."""
    dim = _softmax_dim(input.dim()) if dim is None else dim
    return pointwise.log_softmax(input if dtype is None else input.to(dtype), dim)


def softmin(input, dim=None, dtype=None):
    """softmax(-x): ``F.softmin(ember.tensor([0.0, 1.0]), dim=0)[0] > 0.5``."""
    return softmax(-input, dim, dtype)


def glu(input, dim=-1):
    """First half times sigmoid of the second half along dim: ``F.glu(ember.ones(4)).shape == (2,)``."""
    size = input.shape[dim] if input.dim() else 0
    if input.dim() == 0 or size % 2:
        d = dim % input.dim() if input.dim() else dim
        raise RuntimeError(f"Halving dimension must be even, but dimension {d} is size {size}")
    a, b = join.chunk(input, 2, dim)
    return a * unary.sigmoid(b)


@cast_entry("prelu")
def prelu(input, weight):
    """x if x > 0 else a * x, ``a`` per channel (dim 1): ``F.prelu(ember.tensor([-2.0]), ember.tensor([0.25]))``."""
    shape = [1] * input.dim()
    if weight.numel() != 1:
        channels = input.shape[1] if input.dim() >= 2 else 1
        if weight.numel() != channels:
            raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found parameter numbers = "
                               f"{weight.numel()} and channel size = {channels}.")
        shape[1] = channels
    weight = weight.reshape(shape)
    return pointwise.where(input > 0, input, weight * input)


def _rrelu_check(lower, upper):
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")


def _rrelu_train(x, lower, upper):
    with no_grad():
        slope = empty_like(x).uniform_(lower, upper)
    return pointwise.where(x >= 0, x, x * slope)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Leaky ReLU whose negative slope is drawn from U(lower, upper) per element in training and is
    (lower + upper) / 2 in eval: ``F.rrelu(ember.tensor([-2.0]), 0.5, 0.5)`` -> ``[-1.]``."""
    _rrelu_check(lower, upper)
    if training:
        return _apply(_rrelu_train, input, inplace, lower, upper)
    return _apply(_leaky_relu, input, inplace, (lower + upper) / 2)


def _softshrink(x, lambd):
    return pointwise.where(x > lambd, x - lambd, pointwise.where(x < -lambd, x + lambd, 0.0))


def softshrink(input, lambd=0.5):
    """x - lambd above lambd, x + lambd below -lambd, else 0: ``F.softshrink(ember.tensor([2.0]))`` -> ``[1.5]``."""
    if lambd < 0:
        raise RuntimeError(f"lambda must be in range [0, 3.40282e+38] for input dtype {str(input.dtype)[6:].title()}, "
                           f"but found {lambd:g}")
    return _softshrink(input, lambd)


def tanhshrink(input):
    """x - tanh(x): ``F.tanhshrink(ember.tensor([0.0]))`` -> ``[0.]``."""
    return input - unary.tanh(input)


def gumbel_softmax(logits, tau=1.0, hard=False, eps=1e-10, dim=-1):
    """A sample from the Gumbel-softmax distribution over ``dim`` (one-hot with a straight-through
    gradient when ``hard``): ``F.gumbel_softmax(ember.zeros(4), hard=True).sum()`` -> ``1.``."""
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", stacklevel=2)
    with no_grad():
        gumbels = -empty_like(logits).exponential_().log()
    soft = pointwise.softmax((logits + gumbels) / tau, dim)
    if not hard:
        return soft
    index = soft.argmax(dim, keepdim=True)
    return zeros_like(logits).scatter_(dim, index, 1.0) - soft.detach() + soft


def elu_(input, alpha=1.0):
    """``F.elu(input, alpha, inplace=True)``."""
    return elu(input, alpha, inplace=True)


def celu_(input, alpha=1.0):
    """``F.celu(input, alpha, inplace=True)``."""
    return celu(input, alpha, inplace=True)


def selu_(input):
    """``F.selu(input, inplace=True)``."""
    return selu(input, inplace=True)


def leaky_relu_(input, negative_slope=0.01):
    """``F.leaky_relu(input, negative_slope, inplace=True)``."""
    return leaky_relu(input, negative_slope, inplace=True)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    """``F.hardtanh(input, min_val, max_val, inplace=True)``."""
    return hardtanh(input, min_val, max_val, inplace=True)


def threshold_(input, threshold, value):
    """``F.threshold(input, threshold, value, inplace=True)``."""
    return _apply(_threshold, input, True, threshold, value)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    """``F.rrelu(input, lower, upper, training, inplace=True)``."""
    return rrelu(input, lower, upper, training, inplace=True)


__all__ = ["celu", "celu_", "elu", "elu_", "gelu", "glu", "gumbel_softmax", "hardshrink", "hardsigmoid", "hardswish",
           "hardtanh", "hardtanh_", "leaky_relu", "leaky_relu_", "log_softmax", "logsigmoid", "mish", "prelu", "relu",
           "relu6", "relu_", "rrelu", "rrelu_", "selu", "selu_", "sigmoid", "silu", "softmax", "softmin", "softplus",
           "softshrink", "softsign", "tanh", "tanhshrink", "threshold", "threshold_"]
