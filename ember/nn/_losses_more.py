"""More nn.functional losses (margin, embedding, ranking, Poisson/Gaussian NLL), distances, bilinear and prelu,
all composed from public ember ops so their gradients (and second derivatives) come for free."""
import math

import numpy as np

import ember
from ember.nn.functional import _check_reduction, _reduce, logsigmoid
from ember.ops.dispatch import check_broadcast


def _clamp0(x):
    return ember.clamp(x, min=0.0)


# distances and layers ------------------------------------------------------------------------


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """Cosine of the angle between x1 and x2 along dim: ``F.cosine_similarity(a, a, dim=0)`` -> ``1.``."""
    check_broadcast((x1, x2))
    shape = np.broadcast_shapes(x1.shape, x2.shape)
    x1, x2 = x1.expand(shape), x2.expand(shape)
    n1 = ember.clamp(ember.linalg.vector_norm(x1, dim=dim, keepdim=True), min=eps)
    n2 = ember.clamp(ember.linalg.vector_norm(x2, dim=dim, keepdim=True), min=eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """p-norm of ``x1 - x2 + eps`` over the last dim: ``F.pairwise_distance(ember.zeros(1, 2), ember.ones(1, 2))``."""
    dim = max(x1.dim(), x2.dim()) - 1
    return ember.linalg.vector_norm(x1 - x2 + eps, ord=p, dim=max(dim, 0), keepdim=keepdim)


def bilinear(input1, input2, weight, bias=None):
    """``y_o = x1^T W_o x2 + b_o``: ``F.bilinear(ember.ones(4, 2), ember.ones(4, 3), ember.ones(5, 2, 3)).shape``."""
    if input1.shape[-1] != weight.shape[1] or input2.shape[-1] != weight.shape[2]:
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {input1.shape[-1]} and "
                           f"{input2.shape[-1]}, weight expects {weight.shape[1]} and {weight.shape[2]}")
    out = ember.einsum("...i,oij,...j->...o", input1, weight, input2)
    return out if bias is None else out + bias


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
    return ember.where(input > 0, input, weight * input)


# losses -------------------------------------------------------------------------------------


def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction="mean"):
    """1 - cos for target 1, max(0, cos - margin) for target -1."""
    _check_reduction(reduction)
    eps = 1e-12
    dot = (input1 * input2).sum(-1)
    mag = ((input1 * input1).sum(-1) + eps) * ((input2 * input2).sum(-1) + eps)
    cos = dot / ember.sqrt(mag)
    loss = ember.where(target == 1, 1.0 - cos, 0.0) + ember.where(target == -1, _clamp0(cos - margin), 0.0)
    return _reduce(loss, reduction)


def margin_ranking_loss(input1, input2, target, margin=0.0, reduction="mean"):
    """max(0, -y (x1 - x2) + margin)."""
    _check_reduction(reduction)
    return _reduce(_clamp0(-target * (input1 - input2) + margin), reduction)


def hinge_embedding_loss(input, target, margin=1.0, reduction="mean"):
    """x for target 1, max(0, margin - x) for target -1."""
    _check_reduction(reduction)
    loss = ember.where(target != 1, _clamp0(margin - input), 0.0) + ember.where(target != -1, input, 0.0)
    return _reduce(loss, reduction)


def soft_margin_loss(input, target, reduction="mean"):
    """log(1 + exp(-y x))."""
    _check_reduction(reduction)
    return _reduce(-logsigmoid(target * input), reduction)


def multilabel_soft_margin_loss(input, target, weight=None, reduction="mean"):
    """Per-sample mean over classes of the binary logistic loss."""
    _check_reduction(reduction)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss.sum(-1) / input.shape[-1], reduction)


def _class_input(input):
    if input.dim() > 2:
        raise RuntimeError(f"Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
                           f"{list(input.shape)}")
    return input.reshape(1, -1) if input.dim() <= 1 else input


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, reduction="mean"):
    """sum_{j != y} max(0, margin - x[y] + x[j])^p / C, scaled by weight[y]."""
    _check_reduction(reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    x = _class_input(input)
    y = target.reshape(-1).long()
    classes = x.shape[1]
    picked = ember.gather(x, 1, y.unsqueeze(1))
    z = _clamp0(margin - picked + x)
    z = z * z if p == 2 else z
    if weight is not None:
        z = z * weight[y].unsqueeze(1)
    z = ember.where(ember.arange(classes).unsqueeze(0) == y.unsqueeze(1), 0.0, z)
    return _reduce(z.sum(1) / classes, reduction)


def multilabel_margin_loss(input, target, reduction="mean"):
    """sum over targets j and non-targets i of max(0, 1 - (x[j] - x[i])) / C; targets end at the first -1."""
    _check_reduction(reduction)
    x = _class_input(input)
    y = target.reshape(x.shape).long()
    classes = x.shape[1]
    valid = ember.cumprod((y >= 0).long(), 1).bool()
    safe = ember.where(valid, y, 0)
    is_target = ember.zeros(x.shape, dtype=ember.int64).scatter_add(1, safe, valid.long()) > 0
    picked = ember.gather(x, 1, safe)
    pair = _clamp0(1.0 - picked.unsqueeze(2) + x.unsqueeze(1))
    mask = valid.unsqueeze(2) & (~is_target).unsqueeze(1)
    loss = ember.where(mask, pair, 0.0).sum((1, 2)) / classes
    return _reduce(loss if input.dim() == 2 else loss.reshape(()), reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None,
                     reduction="mean"):
    """exp(x) - t x (log_input) or x - t log(x + eps); ``full`` adds the Stirling term for t > 1."""
    _check_reduction(reduction)
    loss = ember.exp(input) - target * input if log_input else input - target * ember.log(input + eps)
    if full:
        stirling = target * ember.log(target) - target + 0.5 * ember.log(2 * math.pi * target)
        loss = loss + ember.where(target > 1, stirling, 0.0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """0.5 (log var + (x - t)^2 / var), var clamped at eps (the clamp passes gradients through)."""
    _check_reduction(reduction)
    if isinstance(var, (int, float)):
        var = ember.full_like(input, float(var))
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif not (tuple(input.shape[:-1]) == tuple(var.shape[:-1]) and var.shape[-1] == 1):
            raise ValueError("var is of incorrect size")
    if bool((var < 0).any()):
        raise ValueError("var has negative entry/entries")
    var = var + (ember.clamp(var, min=eps) - var).detach()
    loss = 0.5 * (ember.log(var) + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False, size_average=None,
                        reduce=None, reduction="mean"):
    """max(0, margin + d(a, p) - d(a, n)) with the p-norm pairwise distance; ``swap`` uses min(d(a, n), d(p, n))."""
    _check_reduction(reduction)
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = ember.minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _reduce(_clamp0(margin + d_pos - d_neg), reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None, margin=1.0, swap=False,
                                      reduction="mean"):
    """Triplet loss with any distance (default pairwise_distance)."""
    _check_reduction(reduction)
    dist = pairwise_distance if distance_function is None else distance_function
    d_pos, d_neg = dist(anchor, positive), dist(anchor, negative)
    if swap:
        d_neg = ember.minimum(d_neg, dist(positive, negative))
    return _reduce(_clamp0(margin + d_pos - d_neg), reduction)
