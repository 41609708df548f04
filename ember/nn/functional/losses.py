"""Regression and classification losses of ``nn.functional`` (squared, absolute, Huber, binary and categorical
cross entropy, NLL, KL, Poisson and Gaussian NLL), composed from ember ops so their gradients come for free.

>>> import ember
>>> import ember.nn.functional as F
>>> F.mse_loss(ember.tensor([1.0]), ember.tensor([3.0])).item()
4.0
"""
import math

from ember._tensor import Size
from ember.backend.dtype import int64, uint8
from ember.creation import full_like
from ember.nn.functional._reduction import apply_reduction, check_reduction
from ember.nn.functional.activations import softplus_neg
from ember.ops import pointwise, unary
from ember.ops.cross_entropy import cross_entropy_rows, nll_rows
from ember.amp.autocast_mode import cast_entry


@cast_entry("mse_loss")
def mse_loss(input, target, reduction="mean"):
    """Squared error: ``F.mse_loss(ember.tensor([1.0]), ember.tensor([3.0]))`` -> ``4.``."""
    diff = input - target
    return apply_reduction(diff * diff, reduction)


@cast_entry("l1_loss")
def l1_loss(input, target, reduction="mean"):
    """Absolute error: ``F.l1_loss(ember.tensor([1.0]), ember.tensor([3.0]))`` -> ``2.``."""
    return apply_reduction(unary.abs(input - target), reduction)


@cast_entry("smooth_l1_loss")
def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """0.5 d^2 / beta below beta, else d - 0.5 beta: ``F.smooth_l1_loss(ember.tensor([0.0]), ember.tensor([3.0]))``."""
    d = unary.abs(input - target)
    if beta == 0:
        return apply_reduction(d, reduction)
    return apply_reduction(pointwise.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta), reduction)


@cast_entry("huber_loss")
def huber_loss(input, target, reduction="mean", delta=1.0):
    """0.5 d^2 below delta, else delta (d - 0.5 delta): ``F.huber_loss(ember.zeros(1), ember.ones(1))`` -> ``0.5``."""
    d = unary.abs(input - target)
    return apply_reduction(pointwise.where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta)), reduction)


@cast_entry("binary_cross_entropy")
def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """-(t log p + (1 - t) log(1 - p)), logs clamped at -100: ``F.binary_cross_entropy(p, t)``."""
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Using a target size ({Size(target.shape)}) that is different to the input size "
                         f"({Size(input.shape)}) is deprecated. Please ensure they have the same size.")
    check_reduction(reduction)
    log_p = pointwise.clamp(unary.log(input), min=-100.0)
    log_q = pointwise.clamp(unary.log(1.0 - input), min=-100.0)
    loss = -(target * log_p + (1.0 - target) * log_q)
    return apply_reduction(loss if weight is None else loss * weight, reduction)


@cast_entry("binary_cross_entropy_with_logits")
def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    """BCE on sigmoid(x), in the stable form (1 - t) x + lw log(1 + exp(-x))."""
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Target size ({Size(target.shape)}) must be the same as input size "
                         f"({Size(input.shape)})")
    check_reduction(reduction)
    log_weight = 1.0 if pos_weight is None else 1.0 + (pos_weight - 1.0) * target
    loss = (1.0 - target) * input + log_weight * softplus_neg(input)
    return apply_reduction(loss if weight is None else loss * weight, reduction)


def _check_targets(input, target, what="target"):
    if target.dtype not in (int64, uint8):
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {str(target.dtype).split('.')[-1].title()}")
    batch = input.shape[0] if input.dim() >= 2 else None
    if input.dim() >= 2 and target.dim() >= 1 and target.shape[0] != batch:
        raise ValueError(f"Expected input batch_size ({batch}) to match target batch_size ({target.shape[0]}).")
    expected = tuple(input.shape[:1]) + tuple(input.shape[2:]) if input.dim() >= 2 else ()
    if tuple(target.shape) != expected:
        if input.dim() <= 2:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        raise RuntimeError(f"Expected target size {list(expected)}, got {list(target.shape)}")


@cast_entry("nll_loss")
def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of the target class; input (N, C, d1, ...) of log-probabilities."""
    _check_targets(input, target)
    check_reduction(reduction)
    if weight is not None:
        _check_class_weight(weight, input.shape[1] if input.dim() >= 2 else input.shape[0])
    loss = nll_rows(_class_rows(input), target.reshape(-1), weight, ignore_index, reduction)
    return loss.reshape(target.shape) if reduction == "none" else loss


@cast_entry("cross_entropy")
def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """log_softmax over the class dim (1, or 0 for unbatched input) followed by nll_loss; targets may be
    class indices (one fused node, ``ember.ops.cross_entropy``) or class probabilities:
    ``F.cross_entropy(ember.zeros(2, 3), ember.tensor([0, 2]))``."""
    check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    dim = 1 if input.dim() >= 2 else 0
    classes = input.shape[dim]
    if weight is not None:
        _check_class_weight(weight, classes)
    if target.dtype.is_floating_point and tuple(target.shape) == tuple(input.shape):
        return _cross_entropy_probabilities(input, target, weight, reduction, label_smoothing, dim, classes)
    _check_targets(input, target)
    loss = cross_entropy_rows(_class_rows(input), target.reshape(-1), weight, ignore_index, label_smoothing,
                              reduction)
    return loss.reshape(target.shape) if reduction == "none" else loss


def _class_rows(input):
    """(N, C, d1, ...) or (C,) scores as (rows, C), the layout the class-index losses run on."""
    if input.dim() == 1:
        return input.unsqueeze(0)
    return input if input.dim() == 2 else input.movedim(1, -1).reshape(-1, input.shape[1])


def _check_class_weight(weight, classes):
    if weight.dim() != 1 or weight.shape[0] != classes:
        raise RuntimeError(f"weight tensor should be defined either for all {classes} classes or no classes but got "
                           f"weight tensor of shape: {list(weight.shape)}")
    if weight.requires_grad:
        raise RuntimeError("The function 'nll_loss_forward' is not differentiable with respect to argument 'weight'. "
                           "This input cannot have requires_grad True.")


def _cross_entropy_probabilities(input, target, weight, reduction, label_smoothing, dim, classes):
    """-sum(target * log_softmax(input)) over the class dim, weighted per class."""
    logp = pointwise.log_softmax(input, dim)
    if weight is not None:
        wshape = [1] * input.dim()
        wshape[dim] = classes
        logp = logp * weight.reshape(wshape)
    if label_smoothing > 0:
        target = target * (1.0 - label_smoothing) + label_smoothing / classes
    return apply_reduction(-(logp * target).sum(dim), reduction)


@cast_entry("kl_div")
def kl_div(input, target, reduction="mean", log_target=False):
    """KL(target || exp(input)) pointwise, input given as log-probabilities; reduction may be 'batchmean'."""
    check_reduction(reduction, ("none", "mean", "sum", "batchmean"))
    if log_target:
        loss = unary.exp(target) * (target - input)
    else:
        loss = pointwise.xlogy(target, target) - target * input
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.dim() else loss.sum()
    return apply_reduction(loss, reduction)


@cast_entry("poisson_nll_loss")
def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None,
                     reduction="mean"):
    """exp(x) - t x (log_input) or x - t log(x + eps); ``full`` adds the Stirling term for t > 1."""
    check_reduction(reduction)
    loss = unary.exp(input) - target * input if log_input else input - target * unary.log(input + eps)
    if full:
        stirling = target * unary.log(target) - target + 0.5 * unary.log(2 * math.pi * target)
        loss = loss + pointwise.where(target > 1, stirling, 0.0)
    return apply_reduction(loss, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """0.5 (log var + (x - t)^2 / var), var clamped at eps (the clamp passes gradients through)."""
    check_reduction(reduction)
    if isinstance(var, (int, float)):
        var = full_like(input, float(var))
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif not (tuple(input.shape[:-1]) == tuple(var.shape[:-1]) and var.shape[-1] == 1):
            raise ValueError("var is of incorrect size")
    if bool((var < 0).any()):
        raise ValueError("var has negative entry/entries")
    var = var + (pointwise.clamp(var, min=eps) - var).detach()
    loss = 0.5 * (unary.log(var) + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return apply_reduction(loss, reduction)
