"""Embedding lookups: ``embedding`` (row gather with padding/frequency-scaled gradients) and the
bag reductions behind ``nn.functional.embedding_bag`` (sum, mean, max per bag).

Every backward is one scatter-add of the upstream rows into a zero weight-shaped gradient (a
primitive whose derivative is the row gather, so second derivatives work; on host arrays a compiled
kernel in which each thread owns a range of the embedding's columns, so its sums do not depend on the
thread count); with ``sparse=True`` the rows and their
indices become a sparse COO gradient instead (uncoalesced, in lookup order, as PyTorch's).
"""
import numpy as np

from ember._tensor import Tensor
from ember.backend import compiled
from ember.creation import ones, zeros
from ember.ops.dispatch import primitive
from ember.ops.dual import linear, product
from ember.ops.registry import public
from ember.ops.scatter import add_along
from ember.ops.sparse import _coo


def check_indices(indices, num):
    """torch's IndexError for a lookup outside ``[0, num)``; integer dtype required."""
    if not isinstance(indices, Tensor) or indices.dtype.is_floating_point or indices.dtype.is_complex \
            or str(indices.dtype) == "ember.bool":
        dtype = getattr(indices, "dtype", type(indices).__name__)
        raise RuntimeError("Expected tensor for argument #1 'indices' to have one of the following scalar types: "
                           f"Long, Int; but got {dtype} instead (while checking arguments for embedding)")
    if indices.numel() and (bool((indices < 0).any()) or bool((indices >= num).any())):
        raise IndexError("index out of range in self")


def _sparse_rows(idx, rows, num):
    """The sparse ``(num, dim)`` gradient holding ``rows[k]`` at row ``idx[k]``."""
    return _coo(idx.unsqueeze(0), rows, shape=(num, rows.shape[-1]), coalesced=False)


@primitive("EmbeddingBackward0", save=(1,))
def _embedding(ctx, xp, weight, indices, padding_idx, scale_grad_by_freq, sparse=False):
    ctx.num, ctx.padding_idx, ctx.scale, ctx.sparse = weight.shape[0], padding_idx, scale_grad_by_freq, sparse
    return weight[indices]


def _frequency(indices, num, dtype):
    """How often each entry of the 1-D ``indices`` (into ``num`` rows) occurs among them: the divisor of
    ``scale_grad_by_freq``."""
    each = ones(indices.shape[0], dtype=dtype, device=indices.device)
    return zeros(num, dtype=dtype, device=indices.device).index_add(0, indices, each)[indices]


@_embedding.derivative
def _(ctx, g):
    (indices,) = ctx.saved_tensors
    idx = indices.reshape(-1)
    rows = g.reshape(-1, g.shape[-1])
    if ctx.sparse:
        if ctx.scale:
            raise RuntimeError("embedding_backward: scale_grad_by_freq not supported with sparse gradients")
        if ctx.padding_idx >= 0:
            keep = idx != ctx.padding_idx
            idx, rows = idx[keep], rows[keep]
        return _sparse_rows(idx, rows, ctx.num), None
    if ctx.padding_idx >= 0:
        rows = rows * (idx != ctx.padding_idx).to(g.dtype).unsqueeze(1)
    if ctx.scale:
        rows = rows / _frequency(idx, ctx.num, g.dtype).unsqueeze(1)
    return _add_rows(rows, idx, num=ctx.num), None


@compiled.kernel
def _add_rows_columns(lo, hi, rows, idx, out):
    """``out[idx[i], lo:hi] += rows[i, lo:hi]`` for every i in order: one thread's range of columns."""
    for i in range(idx.shape[0]):
        dst = out[idx[i], lo:hi]
        src = rows[i, lo:hi]
        for j in range(hi - lo):
            dst[j] += src[j]


@primitive("EmbeddingDenseBackwardBackward0", save=(1,), name="embedding_add_rows")
def _add_rows(ctx, xp, rows, idx, num):
    """A zero ``(num, dim)`` array with ``rows[i]`` added into row ``idx[i]``: the weight's dense gradient."""
    out = xp.zeros((num, rows.shape[1]), dtype=rows.dtype)
    if compiled.usable(rows, idx) and idx.size:
        rows = np.ascontiguousarray(rows)
        compiled.parallel_rows(_add_rows_columns, rows.shape[1], idx.size, rows, idx, out)
    else:
        add_along(xp, out, 0, idx, rows)
    return out


@_add_rows.derivative
def _(ctx, g):
    (idx,) = ctx.saved_tensors
    return g[idx], None


@public(method=False)
def embedding(weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False):
    """Rows of ``weight`` at ``indices``: ``ember.embedding(ember.eye(3), ember.tensor([2]))`` -> ``[[0., 0., 1.]]``.

    ``padding_idx`` (>= 0) gets no gradient; ``scale_grad_by_freq`` divides each row's gradient by
    how often it occurs in ``indices``; ``sparse`` makes ``weight``'s gradient a sparse COO tensor."""
    if weight.dim() != 2:
        raise RuntimeError(f"'weight' must be 2-D, got {weight.dim()}-D")
    check_indices(indices, weight.shape[0])
    return _embedding(weight, indices, padding_idx=int(padding_idx), scale_grad_by_freq=bool(scale_grad_by_freq),
                      sparse=bool(sparse))


@primitive("EmbeddingBagBackward0", save=(0, 1, 2, 3))
def bag_sum(ctx, xp, weight, scale, indices, bags, nbags, freq_scaled=False, sparse=False):
    """Per bag: sum of ``scale[i] * weight[indices[i]]`` over the elements i with ``bags[i] == bag``;
    ``freq_scaled`` divides each row's weight gradient by how often its index occurs; ``sparse`` makes
    that gradient a sparse COO tensor."""
    ctx.num, ctx.freq_scaled, ctx.sparse = weight.shape[0], freq_scaled, sparse
    out = xp.zeros((nbags, weight.shape[1]), dtype=weight.dtype)
    add_along(xp, out, 0, bags, weight[indices] * scale[:, None].astype(weight.dtype))
    return out


@bag_sum.derivative
def _(ctx, g):
    weight, scale, indices, bags = ctx.saved_tensors
    need_w, need_s = ctx.needs_input_grad[:2]
    up = g[bags]
    gw = gs = None
    if need_w:
        share = scale.to(g.dtype)
        if ctx.freq_scaled:
            share = share / _frequency(indices, ctx.num, g.dtype)
        rows = up * share.unsqueeze(1)
        if ctx.sparse:
            gw = _sparse_rows(indices, rows, ctx.num)
        else:
            gw = zeros(ctx.num, g.shape[-1], dtype=g.dtype, device=g.device).index_add(0, indices, rows)
    if need_s:
        gs = (up * weight[indices]).sum(1)
    return gw, gs, None, None


@primitive("EmbeddingBagBackward0", save=(1,))
def bag_pick(ctx, xp, weight, flat):
    """``weight.flatten()[flat]`` with 0 where ``flat < 0``: the max-mode bag output from its argmax positions."""
    ctx.shape = weight.shape
    picked = weight.reshape(-1)[xp.maximum(flat, 0)]
    return xp.where(flat >= 0, picked, xp.zeros((), dtype=weight.dtype))


@bag_pick.derivative
def _(ctx, g):
    (flat,) = ctx.saved_tensors
    valid = flat >= 0
    zero = zeros(ctx.shape[0] * ctx.shape[1], dtype=g.dtype, device=g.device)
    gw = zero.index_add(0, flat.clamp(min=0).reshape(-1), (g * valid.to(g.dtype)).reshape(-1))
    return gw.reshape(ctx.shape), None


@primitive("EmbeddingBagArgmax")
def bag_argmax(ctx, xp, weight, indices, bags, nbags):
    """For each (bag, column), the flat position in ``weight`` of the bag's maximum; -1 for an empty bag."""
    n, dim = indices.shape[0], weight.shape[1]
    rows = weight[indices]
    best = xp.full((nbags, dim), -xp.inf, dtype=weight.dtype)
    xp.maximum.at(best, bags, rows)
    pos = xp.where(rows == best[bags], xp.arange(n)[:, None], n)
    first = xp.full((nbags, dim), n, dtype=xp.int64)
    xp.minimum.at(first, bags, pos)
    row_of = xp.concatenate([indices.astype(xp.int64), xp.array([-1], dtype=xp.int64)])[first]
    return xp.where(first < n, row_of * dim + xp.arange(dim), -1)

# forward-mode rules (run by ember.ops.dual) --------------------------------------------------

_embedding.jvp(linear())
_add_rows.jvp(linear(0))  # the weight gradient sums rows: linear in them
bag_sum.jvp(product(0, 1))  # sums of scale[i] * weight[indices[i]]: linear in each
bag_pick.jvp(linear())
