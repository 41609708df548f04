"""ember.nn.functional: layers, activations and losses composed from public ember ops.

>>> import ember
>>> import ember.nn.functional as F
>>> F.relu(ember.tensor([-1.0, 2.0])).tolist()
[0.0, 2.0]
"""
import math

import ember
from ember.nn._linear import linear_matrix
from ember.ops.inplace import inplace as run_inplace

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _apply(fn, input, inplace, *args):
    """``fn(input, *args)``, written into ``input`` when ``inplace`` (autograd sees the in-place op)."""
    return run_inplace(input, fn, *args) if inplace else fn(input, *args)


# layers ------------------------------------------------------------------------------------


def linear(input, weight, bias=None):
    """``input @ weight.T + bias``: ``F.linear(ember.ones(4, 3), ember.ones(2, 3)).shape == (4, 2)``."""
    out_f, in_f = (weight.shape[0], weight.shape[1]) if weight.dim() == 2 else (None, weight.shape[0])
    if input.dim() >= 1 and input.shape[-1] != in_f:
        rows = math.prod(input.shape[:-1])
        cols = f"{in_f}x{out_f}" if out_f is not None else f"{in_f}"
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{input.shape[-1]} and {cols})")
    if input.dim() == 2 and weight.dim() == 2:
        return linear_matrix(input, weight, bias)
    if input.dim() > 2 and weight.dim() == 2 and bias is not None and input.is_contiguous():
        # as torch: one addmm on the flattened rows adds the bias into the GEMM's fresh result in place
        rows = input.view(math.prod(input.shape[:-1]), in_f)
        return linear_matrix(rows, weight, bias).view(*input.shape[:-1], out_f)
    out = ember.matmul(input, weight.t())
    return out + bias if bias is not None else out


# activations -------------------------------------------------------------------------------


def _leaky_relu(x, slope):
    return ember.where(x > 0, x, x * slope)


def _celu(x, alpha, divisor, scale=1.0):
    """scale * (x if x > 0 else alpha * expm1(x / divisor)): elu, selu and celu in one."""
    neg = alpha * ember.expm1(ember.clamp(x, max=0.0) / divisor)
    return scale * ember.where(x > 0, x, neg) if scale != 1.0 else ember.where(x > 0, x, neg)


def _silu(x):
    return x * ember.sigmoid(x)


def _mish(x):
    return x * ember.tanh(softplus(x))


def _hardsigmoid(x):
    return ember.clamp(x + 3.0, 0.0, 6.0) / 6.0


def _hardswish(x):
    return x * ember.clamp(x + 3.0, 0.0, 6.0) / 6.0


def _threshold(x, threshold, value):
    return ember.where(x > threshold, x, value)


def relu(input, inplace=False):
    """max(x, 0): ``F.relu(ember.tensor([-1.0, 2.0]))`` -> ``[0., 2.]``."""
    return input.relu_() if inplace else ember.relu(input)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """x clamped to [min_val, max_val]: ``F.hardtanh(ember.tensor([3.0]))`` -> ``[1.]``."""
    return _apply(ember.clamp, input, inplace, min_val, max_val)


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
        return ember.ops.activation_kernels.gelu(input)
    if approximate == "tanh":
        inner = math.sqrt(2.0 / math.pi) * (input + 0.044715 * input * input * input)
        return 0.5 * input * (1.0 + ember.tanh(inner))
    raise RuntimeError(f"approximate argument must be either none or tanh, got {approximate}")


def sigmoid(input):
    """1 / (1 + exp(-x)): ``F.sigmoid(ember.tensor([0.0]))`` -> ``[0.5]``."""
    return ember.sigmoid(input)


def tanh(input):
    """Hyperbolic tangent: ``F.tanh(ember.tensor([0.0]))`` -> ``[0.]``."""
    return ember.tanh(input)


def silu(input, inplace=False):
    """x * sigmoid(x): ``F.silu(ember.tensor([0.0]))`` -> ``[0.]``."""
    return _apply(_silu, input, inplace)


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta x)) / beta, linear above threshold: ``F.softplus(ember.tensor([0.0]))`` -> ``[0.6931]``."""
    scaled = input * beta
    soft = ember.log1p(ember.exp(ember.clamp(scaled, max=threshold))) / beta
    return ember.where(scaled > threshold, input, soft)


def logsigmoid(input):
    """log(sigmoid(x)), computed stably: ``F.logsigmoid(ember.tensor([0.0]))`` -> ``[-0.6931]``."""
    return -_softplus_neg(input)


def _softplus_neg(x):
    """log(1 + exp(-x)) without overflow, with the exact derivative -sigmoid(-x) everywhere (also at 0)."""
    neg = ember.log1p(ember.exp(ember.clamp(x, max=0.0))) - x
    return ember.where(x < 0, neg, ember.log1p(ember.exp(-ember.clamp(x, min=0.0))))


def mish(input, inplace=False):
    """x * tanh(softplus(x)): ``F.mish(ember.tensor([0.0]))`` -> ``[0.]``."""
    return _apply(_mish, input, inplace)


def hardsigmoid(input, inplace=False):
    """relu6(x + 3) / 6: ``F.hardsigmoid(ember.tensor([0.0]))`` -> ``[0.5]``."""
    return _apply(_hardsigmoid, input, inplace)


def hardswish(input, inplace=False):
    """x * relu6(x + 3) / 6: ``F.hardswish(ember.tensor([3.0]))`` -> ``[3.]``."""
    return _apply(_hardswish, input, inplace)


def softsign(input):
    """x / (1 + |x|): ``F.softsign(ember.tensor([1.0]))`` -> ``[0.5]``."""
    return input / (1.0 + ember.abs(input))


def threshold(input, threshold, value, inplace=False):
    """x if x > threshold else value: ``F.threshold(ember.tensor([0.5]), 1.0, 9.0)`` -> ``[9.]``."""
    return _apply(_threshold, input, inplace, threshold, value)


def _softmax_dim(ndim):
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None, dtype=None):
    """exp(x) normalised along dim: ``F.softmax(ember.zeros(2), dim=0)`` -> ``[0.5, 0.5]``."""
    dim = _softmax_dim(input.dim()) if dim is None else dim
    return ember.softmax(input if dtype is None else input.to(dtype), dim)


def log_softmax(input, dim=None, dtype=None):
    """log(softmax(x)), computed stably: ``F.log_softmax(ember.zeros(2), dim=0)`` -> ``[-0.6931, -0.6931]``."""
    dim = _softmax_dim(input.dim()) if dim is None else dim
    return ember.log_softmax(input if dtype is None else input.to(dtype), dim)


def softmin(input, dim=None, dtype=None):
    """softmax(-x): ``F.softmin(ember.tensor([0.0, 1.0]), dim=0)[0] > 0.5``."""
    return softmax(-input, dim, dtype)


def glu(input, dim=-1):
    """First half times sigmoid of the second half along dim: ``F.glu(ember.ones(4)).shape == (2,)``."""
    size = input.shape[dim] if input.dim() else 0
    if input.dim() == 0 or size % 2:
        d = dim % input.dim() if input.dim() else dim
        raise RuntimeError(f"Halving dimension must be even, but dimension {d} is size {size}")
    a, b = ember.chunk(input, 2, dim)
    return a * ember.sigmoid(b)


# losses ------------------------------------------------------------------------------------


def _reduce(loss, reduction):
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _check_reduction(reduction, allowed=("none", "mean", "sum")):
    if reduction not in allowed:
        raise ValueError(f"{reduction} is not a valid value for reduction")


def mse_loss(input, target, reduction="mean"):
    """Squared error: ``F.mse_loss(ember.tensor([1.0]), ember.tensor([3.0]))`` -> ``4.``."""
    diff = input - target
    return _reduce(diff * diff, reduction)


def l1_loss(input, target, reduction="mean"):
    """Absolute error: ``F.l1_loss(ember.tensor([1.0]), ember.tensor([3.0]))`` -> ``2.``."""
    return _reduce(ember.abs(input - target), reduction)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """0.5 d^2 / beta below beta, else d - 0.5 beta: ``F.smooth_l1_loss(ember.tensor([0.0]), ember.tensor([3.0]))``."""
    d = ember.abs(input - target)
    if beta == 0:
        return _reduce(d, reduction)
    return _reduce(ember.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta), reduction)


def huber_loss(input, target, reduction="mean", delta=1.0):
    """0.5 d^2 below delta, else delta (d - 0.5 delta): ``F.huber_loss(ember.zeros(1), ember.ones(1))`` -> ``0.5``."""
    d = ember.abs(input - target)
    return _reduce(ember.where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta)), reduction)


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """-(t log p + (1 - t) log(1 - p)), logs clamped at -100: ``F.binary_cross_entropy(p, t)``."""
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Using a target size ({ember.Size(target.shape)}) that is different to the input size "
                         f"({ember.Size(input.shape)}) is deprecated. Please ensure they have the same size.")
    _check_reduction(reduction)
    log_p = ember.clamp(ember.log(input), min=-100.0)
    log_q = ember.clamp(ember.log(1.0 - input), min=-100.0)
    loss = -(target * log_p + (1.0 - target) * log_q)
    return _reduce(loss if weight is None else loss * weight, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    """BCE on sigmoid(x), in the stable form (1 - t) x + lw log(1 + exp(-x))."""
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Target size ({ember.Size(target.shape)}) must be the same as input size "
                         f"({ember.Size(input.shape)})")
    _check_reduction(reduction)
    log_weight = 1.0 if pos_weight is None else 1.0 + (pos_weight - 1.0) * target
    loss = (1.0 - target) * input + log_weight * _softplus_neg(input)
    return _reduce(loss if weight is None else loss * weight, reduction)


def _check_targets(input, target, what="target"):
    if target.dtype not in (ember.int64, ember.uint8):
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {str(target.dtype).split('.')[-1].title()}")
    batch = input.shape[0] if input.dim() >= 2 else None
    if input.dim() >= 2 and target.dim() >= 1 and target.shape[0] != batch:
        raise ValueError(f"Expected input batch_size ({batch}) to match target batch_size ({target.shape[0]}).")
    expected = tuple(input.shape[:1]) + tuple(input.shape[2:]) if input.dim() >= 2 else ()
    if tuple(target.shape) != expected:
        if input.dim() <= 2:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        raise RuntimeError(f"Expected target size {list(expected)}, got {list(target.shape)}")


def _picked_and_weights(logp, target, weight, ignore_index):
    """-logp at each target class and each element's class weight (0 where ignored)."""
    classes = logp.shape[1] if logp.dim() >= 2 else logp.shape[0]
    keep = target != ignore_index
    safe = ember.where(keep, target, 0)
    bad = (safe < 0) | (safe >= classes)
    if bad.any():
        raise IndexError(f"Target {int(target[bad].flatten()[0])} is out of bounds.")
    dim = 1 if logp.dim() >= 2 else 0
    picked = -ember.gather(logp, dim, safe.unsqueeze(dim)).squeeze(dim)
    w = keep.to(logp.dtype) if weight is None else weight[safe] * keep.to(logp.dtype)
    return picked, w


def _weighted_mean(loss, w):
    """sum(loss) / sum(w); NaN with zero gradients when every target is ignored (as torch)."""
    total = w.sum()
    empty = total == 0
    return ember.where(empty, float("nan"), loss.sum() / ember.where(empty, 1.0, total))


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of the target class; input (N, C, d1, ...) of log-probabilities."""
    _check_targets(input, target)
    _check_reduction(reduction)
    picked, w = _picked_and_weights(input, target, weight, ignore_index)
    loss = picked * w
    return _weighted_mean(loss, w) if reduction == "mean" else _reduce(loss, reduction)


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """log_softmax over the class dim (1, or 0 for unbatched input) followed by nll_loss; targets may be
    class indices or class probabilities: ``F.cross_entropy(ember.zeros(2, 3), ember.tensor([0, 2]))``."""
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    dim = 1 if input.dim() >= 2 else 0
    classes = input.shape[dim]
    logp = ember.log_softmax(input, dim)
    wshape = [1] * input.dim()
    wshape[dim] = classes
    wlogp = logp if weight is None else logp * weight.reshape(wshape)
    if target.dtype.is_floating_point:
        if tuple(target.shape) != tuple(input.shape):
            raise RuntimeError(f"Expected target size {list(input.shape)}, got {list(target.shape)}")
        if label_smoothing > 0:
            target = target * (1.0 - label_smoothing) + label_smoothing / classes
        return _reduce(-(wlogp * target).sum(dim), reduction)
    _check_targets(input, target)
    picked, w = _picked_and_weights(logp, target, weight, ignore_index)
    loss = picked * w
    if label_smoothing > 0:
        keep = (target != ignore_index).to(logp.dtype)
        smooth = -wlogp.sum(dim) * keep
        loss = (1.0 - label_smoothing) * loss + (label_smoothing / classes) * smooth
    return _weighted_mean(loss, w) if reduction == "mean" else _reduce(loss, reduction)


def kl_div(input, target, reduction="mean", log_target=False):
    """KL(target || exp(input)) pointwise, input given as log-probabilities; reduction may be 'batchmean'."""
    _check_reduction(reduction, ("none", "mean", "sum", "batchmean"))
    if log_target:
        loss = ember.exp(target) * (target - input)
    else:
        loss = ember.xlogy(target, target) - target * input
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.dim() else loss.sum()
    return _reduce(loss, reduction)


# layers that live in their own files, re-exported under torch's F names --------------------
from ember.nn._embedding import embedding, embedding_bag  # noqa: E402,F401
from ember.nn._attention import multi_head_attention_forward, scaled_dot_product_attention  # noqa: E402,F401
from ember.ops.conv import conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d  # noqa: E402,F401,E501
from ember.ops.pad import pad  # noqa: E402,F401
from ember.ops.unfold import fold, unfold  # noqa: E402,F401
from ember.nn._norm import batch_norm, group_norm, instance_norm, layer_norm, local_response_norm, normalize, rms_norm  # noqa: E402,F401,E501
from ember.nn._dropout import alpha_dropout, dropout, dropout1d, dropout2d, dropout3d, feature_alpha_dropout  # noqa: E402,F401,E501
from ember.nn._losses_more import (  # noqa: E402,F401
    bilinear, cosine_embedding_loss, cosine_similarity, gaussian_nll_loss, hinge_embedding_loss, margin_ranking_loss,
    multi_margin_loss, multilabel_margin_loss, multilabel_soft_margin_loss, pairwise_distance, poisson_nll_loss, prelu,
    soft_margin_loss, triplet_margin_loss, triplet_margin_with_distance_loss,
)
from ember.ops.pool import avg_pool1d, avg_pool2d, avg_pool3d, max_pool1d, max_pool2d, max_pool3d  # noqa: E402,F401
from ember.ops.adaptive_pool import (  # noqa: E402,F401
    adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d, adaptive_max_pool1d, adaptive_max_pool2d,
    adaptive_max_pool3d, lp_pool1d, lp_pool2d, lp_pool3d, max_unpool1d, max_unpool2d, max_unpool3d,
)
from ember.ops.resample import (  # noqa: E402,F401
    interpolate, pixel_shuffle, pixel_unshuffle, upsample, upsample_bilinear, upsample_nearest,
)
from ember.nn._ctc import ctc_loss  # noqa: E402,F401
from ember.ops.fractional_pool import (  # noqa: E402,F401
    fractional_max_pool2d, fractional_max_pool2d_with_indices, fractional_max_pool3d,
    fractional_max_pool3d_with_indices,
)
