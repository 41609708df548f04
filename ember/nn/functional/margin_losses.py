"""Margin, ranking and embedding losses of ``nn.functional`` (hinge, soft margin, multi-class and multi-label
margin, cosine embedding, triplet), composed from ember ops so their gradients come for free.

>>> import ember
>>> import ember.nn.functional as F
>>> F.margin_ranking_loss(ember.tensor([1.0]), ember.tensor([2.0]), ember.tensor([1.0])).item()
1.0
"""
from ember.backend.dtype import int64
from ember.creation import arange, zeros
from ember.nn.functional._reduction import apply_reduction, check_reduction
from ember.nn.functional.activations import logsigmoid
from ember.nn.functional.distances import pairwise_distance
from ember.ops import binary, pointwise, scan, scatter, unary
from ember.amp.autocast_mode import cast_entry


def _clamp0(x):
    return pointwise.clamp(x, min=0.0)


@cast_entry("cosine_embedding_loss")
def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction="mean"):
    """1 - cos for target 1, max(0, cos - margin) for target -1."""
    check_reduction(reduction)
    eps = 1e-12
    dot = (input1 * input2).sum(-1)
    mag = ((input1 * input1).sum(-1) + eps) * ((input2 * input2).sum(-1) + eps)
    cos = dot / unary.sqrt(mag)
    loss = pointwise.where(target == 1, 1.0 - cos, 0.0) + pointwise.where(target == -1, _clamp0(cos - margin), 0.0)
    return apply_reduction(loss, reduction)


@cast_entry("margin_ranking_loss")
def margin_ranking_loss(input1, input2, target, margin=0.0, reduction="mean"):
    """max(0, -y (x1 - x2) + margin)."""
    check_reduction(reduction)
    return apply_reduction(_clamp0(-target * (input1 - input2) + margin), reduction)


@cast_entry("hinge_embedding_loss")
def hinge_embedding_loss(input, target, margin=1.0, reduction="mean"):
    """x for target 1, max(0, margin - x) for target -1."""
    check_reduction(reduction)
    loss = pointwise.where(target != 1, _clamp0(margin - input), 0.0) + pointwise.where(target != -1, input, 0.0)
    return apply_reduction(loss, reduction)


@cast_entry("soft_margin_loss")
def soft_margin_loss(input, target, reduction="mean"):
    """log(1 + exp(-y x))."""
    check_reduction(reduction)
    return apply_reduction(-logsigmoid(target * input), reduction)


def multilabel_soft_margin_loss(input, target, weight=None, reduction="mean"):
    """Per-sample mean over classes of the binary logistic loss."""
    check_reduction(reduction)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    return apply_reduction(loss.sum(-1) / input.shape[-1], reduction)


def _class_input(input):
    if input.dim() > 2:
        raise RuntimeError(f"Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
                           f"{list(input.shape)}")
    return input.reshape(1, -1) if input.dim() <= 1 else input


@cast_entry("multi_margin_loss")
def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, reduction="mean"):
    """sum_{j != y} max(0, margin - x[y] + x[j])^p / C, scaled by weight[y]."""
    check_reduction(reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    x = _class_input(input)
    y = target.reshape(-1).long()
    classes = x.shape[1]
    picked = scatter.gather(x, 1, y.unsqueeze(1))
    z = _clamp0(margin - picked + x)
    z = z * z if p == 2 else z
    if weight is not None:
        z = z * weight[y].unsqueeze(1)
    z = pointwise.where(arange(classes, device=x.device).unsqueeze(0) == y.unsqueeze(1), 0.0, z)
    return apply_reduction(z.sum(1) / classes, reduction)


@cast_entry("multilabel_margin_loss")
def multilabel_margin_loss(input, target, reduction="mean"):
    """sum over targets j and non-targets i of max(0, 1 - (x[j] - x[i])) / C; targets end at the first -1."""
    check_reduction(reduction)
    x = _class_input(input)
    y = target.reshape(x.shape).long()
    classes = x.shape[1]
    valid = scan.cumprod((y >= 0).long(), 1).bool()
    safe = pointwise.where(valid, y, 0)
    is_target = zeros(x.shape, dtype=int64, device=x.device).scatter_add(1, safe, valid.long()) > 0
    picked = scatter.gather(x, 1, safe)
    pair = _clamp0(1.0 - picked.unsqueeze(2) + x.unsqueeze(1))
    mask = valid.unsqueeze(2) & (~is_target).unsqueeze(1)
    loss = pointwise.where(mask, pair, 0.0).sum((1, 2)) / classes
    return apply_reduction(loss if input.dim() == 2 else loss.reshape(()), reduction)


@cast_entry("triplet_margin_loss")
def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False, size_average=None,
                        reduce=None, reduction="mean"):
    """max(0, margin + d(a, p) - d(a, n)) with the p-norm pairwise distance; ``swap`` uses min(d(a, n), d(p, n))."""
    check_reduction(reduction)
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = binary.minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return apply_reduction(_clamp0(margin + d_pos - d_neg), reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None, margin=1.0, swap=False,
                                      reduction="mean"):
    """Triplet loss with any distance (default pairwise_distance)."""
    check_reduction(reduction)
    dist = pairwise_distance if distance_function is None else distance_function
    d_pos, d_neg = dist(anchor, positive), dist(anchor, negative)
    if swap:
        d_neg = binary.minimum(d_neg, dist(positive, negative))
    return apply_reduction(_clamp0(margin + d_pos - d_neg), reduction)
