"""The connectionist temporal classification loss's primitive (``F.ctc_loss`` checks and reduces around it).

One primitive computes every sample's negative log-likelihood by the forward (alpha) recursion in log
space over the blank-extended target, on arrays, batched over samples; its derivative runs the backward
(beta) recursion and gives d nll / d log_probs = -sum over the target positions s carrying class c of
exp(alpha_t(s) + beta_t(s) - log_probs[t, c] + nll). That is the true gradient; torch's kernel adds
exp(log_probs), which only vanishes through a log_softmax in front (as CTC inputs always have). Composed
from ember ops, one op per time step, the loss and its gradient took 93 ms on (200, 16, 50) with
40-label targets; on arrays, 14 ms (torch: 6.2 ms). Like torch's, the gradient has no derivative.
"""

from ember.ops.dispatch import primitive

_NEG = -1e30  # log(0) stand-in: keeps the recursions finite on impossible paths


def _extended(xp, tgt, blank):
    """The blank-extended targets (N, 2S + 1) and where a label may be reached by skipping a blank."""
    batch, width = tgt.shape[0], 2 * tgt.shape[1] + 1
    ext = xp.full((batch, width), blank, dtype=xp.int64)
    ext[:, 1::2] = tgt
    skip = xp.zeros((batch, width), dtype=bool)
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    return ext, skip


def _logaddexp3(xp, a, b, c):
    top = xp.maximum(xp.maximum(a, b), c)
    return top + xp.log(xp.exp(a - top) + xp.exp(b - top) + xp.exp(c - top))


def _shifted(xp, a, by, fill):
    """``a`` moved ``by`` places along its last axis (right for by > 0, left for by < 0), ``fill`` let in."""
    pad = xp.full(a.shape[:-1] + (abs(by),), fill, dtype=a.dtype)
    return xp.concatenate([pad, a[..., :-by]] if by > 0 else [a[..., -by:], pad], axis=-1)


@primitive("CtcLossBackward0", save=(0, 2, 3))
def ctc_nll(ctx, xp, log_probs, tgt, in_len, tgt_len, blank):
    """Every sample's -log p(target | log_probs): the alpha recursion over (N, 2S + 1) per frame."""
    frames, batch, _ = log_probs.shape
    ext, skip = _extended(xp, tgt, blank)
    width = ext.shape[1]
    emit = xp.take_along_axis(log_probs.transpose(1, 0, 2), ext[:, None, :], axis=2).transpose(1, 0, 2)
    alpha = xp.full((max(frames, 1), batch, width), _NEG, dtype=log_probs.dtype)
    if frames:
        starts = xp.arange(width)[None, :] < xp.minimum(2, 2 * tgt_len[:, None] + 1)
        alpha[0] = xp.where(starts, emit[0], _NEG)
    for t in range(1, frames):
        prev = alpha[t - 1]
        two = xp.where(skip, _shifted(xp, prev, 2, _NEG), _NEG)
        alpha[t] = xp.where((t < in_len)[:, None], _logaddexp3(xp, prev, _shifted(xp, prev, 1, _NEG), two) + emit[t],
                            prev)
    last = 2 * tgt_len
    end = xp.take_along_axis(alpha[-1], last[:, None], axis=1)[:, 0]
    before = xp.take_along_axis(alpha[-1], xp.maximum(last - 1, 0)[:, None], axis=1)[:, 0]
    nll = -xp.logaddexp(end, xp.where(tgt_len > 0, before, _NEG))
    ctx.arrays, ctx.blank = (alpha, emit, ext, skip, nll), blank
    return nll


@ctc_nll.derivative
def _(ctx, g):
    log_probs, in_len, tgt_len = ctx.saved_tensors
    return _ctc_grad(g, log_probs, in_len, tgt_len, arrays=ctx.arrays, blank=ctx.blank), None, None, None


@primitive("CtcLossBackwardBackward0")
def _ctc_grad(ctx, xp, g, log_probs, in_len, tgt_len, arrays, blank):
    """d nll / d log_probs (T, N, C) from the beta recursion, times the upstream ``g`` (N,)."""
    alpha, emit, ext, skip, nll = arrays
    frames, batch, classes = log_probs.shape
    pos = xp.arange(ext.shape[1])[None, :]
    closing = (pos == 2 * tgt_len[:, None]) | ((pos == 2 * tgt_len[:, None] - 1) & (tgt_len[:, None] > 0))
    skip_next = _shifted(xp, skip, -2, False)
    beta = xp.full(emit.shape, _NEG, dtype=log_probs.dtype)
    for t in range(frames - 1, -1, -1):
        if t + 1 < frames:
            nxt = beta[t + 1]
            two = xp.where(skip_next, _shifted(xp, nxt, -2, _NEG), _NEG)
            inner = _logaddexp3(xp, nxt, _shifted(xp, nxt, -1, _NEG), two) + emit[t]
        else:
            inner = xp.full(emit[t].shape, _NEG, dtype=log_probs.dtype)
        beta[t] = xp.where((t == in_len - 1)[:, None], xp.where(closing, emit[t], _NEG),
                           xp.where((t < in_len - 1)[:, None], inner, _NEG))
    possible = nll < 1e29
    share = xp.exp(alpha[:frames] + beta - emit + xp.where(possible, nll, 0.0)[None, :, None])
    share *= xp.where(possible, g, 0.0)[None, :, None]
    onehot = (ext[:, 1::2, None] == xp.arange(classes)).astype(log_probs.dtype)  # (N, S, C): each label's class
    grad = -xp.matmul(share[:, :, 1::2].transpose(1, 0, 2), onehot).transpose(1, 0, 2)
    grad[:, :, blank] -= share[:, :, 0::2].sum(axis=2)
    return grad


@_ctc_grad.derivative
def _(ctx, *_):
    raise RuntimeError("derivative for aten::_ctc_loss_backward is not implemented")
