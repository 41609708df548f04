"""The affine layers of ``nn.functional``: ``linear`` (one node, in ``ember.ops.linear``) and ``bilinear``.

>>> import ember
>>> import ember.nn.functional as F
>>> F.linear(ember.ones(4, 3), ember.ones(2, 3)).shape
ember.Size([4, 2])
"""
import dataclasses

from ember.creation import zeros
from ember.nn.functional.losses import cross_entropy
from ember.ops.einsum import einsum
from ember.ops.join import cat, stack
from ember.ops.linear import linear

__all__ = ["LinearCrossEntropyOptions", "bilinear", "grouped_mm", "linear", "linear_cross_entropy"]


def bilinear(input1, input2, weight, bias=None):
    """``y_o = x1^T W_o x2 + b_o``: ``F.bilinear(ember.ones(4, 2), ember.ones(4, 3), ember.ones(5, 2, 3)).shape``."""
    if input1.shape[-1] != weight.shape[1] or input2.shape[-1] != weight.shape[2]:
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {input1.shape[-1]} and "
                           f"{input2.shape[-1]}, weight expects {weight.shape[1]} and {weight.shape[2]}")
    out = einsum("...i,oij,...j->...o", input1, weight, input2)
    return out if bias is None else out + bias


def grouped_mm(mat_a, mat_b, *, offs=None, bias=None, out_dtype=None):
    """Several matrix products in one call; ``offs`` (cumulative group ends) splits the 2-D operand(s).

    3-D x 3-D: a batched matmul. 2-D x 3-D: rows of ``mat_a`` in group g times ``mat_b[g]``.
    3-D x 2-D: ``mat_a[g]`` times the columns of ``mat_b`` in group g. 2-D x 2-D: the shared
    dimension is split, one (M, N) product per group. Rows/columns past the last offset are 0."""
    if mat_a.dim() not in (2, 3) or mat_b.dim() not in (2, 3):
        raise RuntimeError(f"grouped_mm: mat_a and mat_b must be 2-D or 3-D, got {mat_a.dim()}-D and {mat_b.dim()}-D")
    batched = mat_a.dim() == 3 and mat_b.dim() == 3
    if batched != (offs is None):
        raise RuntimeError("grouped_mm: offs must be given exactly when mat_a or mat_b is 2-D, "
                           f"got {mat_a.dim()}-D and {mat_b.dim()}-D inputs with offs={'set' if offs else None}")
    if mat_a.shape[-1] != mat_b.shape[-2]:
        raise RuntimeError(f"grouped_mm: contraction dims differ: mat_a {tuple(mat_a.shape)}, mat_b {tuple(mat_b.shape)}")
    if batched:
        out = mat_a.matmul(mat_b)
    else:
        ends = [int(e) for e in offs.tolist()]
        starts = [0] + ends[:-1]
        if mat_a.dim() == 2 and mat_b.dim() == 2:
            out = stack([mat_a[:, s:e].matmul(mat_b[s:e]) for s, e in zip(starts, ends)])
        elif mat_a.dim() == 2:
            parts = [mat_a[s:e].matmul(mat_b[g]) for g, (s, e) in enumerate(zip(starts, ends))]
            rest = mat_a.shape[0] - ends[-1]
            out = cat(parts + [zeros(rest, mat_b.shape[-1], dtype=mat_a.dtype, device=mat_a.device)])
        else:
            parts = [mat_a[g].matmul(mat_b[:, s:e]) for g, (s, e) in enumerate(zip(starts, ends))]
            rest = mat_b.shape[1] - ends[-1]
            out = cat(parts + [zeros(mat_a.shape[1], rest, dtype=mat_a.dtype, device=mat_a.device)], 1)
    if bias is not None:
        out = out + bias
    return out if out_dtype is None else out.to(out_dtype)


def linear_cross_entropy(input, linear_weight, target, *, linear_bias=None, weight=None, reduction="mean",
                         ignore_index=None, label_smoothing=0.0, options=None):
    """``cross_entropy(linear(input, linear_weight, linear_bias), target, ...)``; a weight of shape
    (C, d_1, ..., d_K, in) gives K-dimensional logits (N, C, d_1, ..., d_K).

    ``options`` (``LinearCrossEntropyOptions``) chooses torch's chunked kernel, a memory strategy;
    ember computes the same loss on the reference path (in ``options.acc_dtype`` when set)."""
    classes = tuple(linear_weight.shape[:-1])
    flat = linear_weight.reshape(-1, linear_weight.shape[-1])
    bias = None if linear_bias is None else linear_bias.reshape(-1)
    if options is not None and options.acc_dtype is not None:
        input, flat = input.to(options.acc_dtype), flat.to(options.acc_dtype)
        bias = None if bias is None else bias.to(options.acc_dtype)
    logits = linear(input, flat, bias)
    if len(classes) > 1:
        logits = logits.reshape(*input.shape[:-1], *classes)
    if ignore_index is None:
        ignore_index = -100
    return cross_entropy(logits, target, weight=weight, reduction=reduction, ignore_index=ignore_index,
                         label_smoothing=label_smoothing)


@dataclasses.dataclass(frozen=True)
class LinearCrossEntropyOptions:
    """torch's settings for the chunked ``linear_cross_entropy`` (validated as torch does); ember reads
    ``acc_dtype`` and computes on the reference path."""
    allow_retain_graph: bool = False
    batch_chunk_size: int = None
    chunking_method: str = "auto"
    acc_policy: str = "auto"
    acc_dtype: object = None

    def __post_init__(self):
        if self.acc_policy not in {"auto", "accurate", "balanced", "compact"}:
            raise ValueError(f"invalid acc_policy: {self.acc_policy!r}")
        if self.batch_chunk_size is not None and self.batch_chunk_size <= 0:
            raise ValueError(f"batch_chunk_size must be positive int or None, got {self.batch_chunk_size}")
