"""nn.functional.ctc_loss: the connectionist temporal classification loss, by the forward (alpha) recursion in
log space over the blank-extended target, batched over samples and composed from ember ops (so autograd
supplies the gradient)."""
import ember
from ember.nn.functional import _check_reduction

_NEG = -1e30  # log(0) stand-in: keeps logsumexp and its gradient finite on impossible paths


def _as_long(values):
    if isinstance(values, ember.Tensor):
        return values.long().reshape(-1)
    return ember.tensor(list(values) if isinstance(values, (list, tuple)) else [values], dtype=ember.int64)


def _padded_targets(targets, target_lengths):
    """(N, S) targets, from a padded 2-D tensor or the 1-D concatenation of every target."""
    if targets.dim() == 2:
        return targets.long()
    n, s = target_lengths.shape[0], max(int(target_lengths.max()), 0) if target_lengths.numel() else 0
    rows, start = [], 0
    for length in target_lengths.tolist():
        row = targets[start:start + length].long()
        rows.append(ember.cat([row, ember.zeros(s - length, dtype=ember.int64)]))
        start += length
    return ember.stack(rows) if n else ember.zeros(0, s, dtype=ember.int64)


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean", zero_infinity=False):
    """CTC negative log-likelihood of ``targets`` under per-frame ``log_probs`` (T, N, C), or (T, C) unbatched.

    ``reduction='mean'`` divides each loss by its target length, then averages over the batch."""
    _check_reduction(reduction)
    unbatched = log_probs.dim() == 2
    if unbatched:
        log_probs, targets = log_probs.unsqueeze(1), targets.unsqueeze(0)
    frames, batch, _ = log_probs.shape
    in_len, tgt_len = _as_long(input_lengths), _as_long(target_lengths)
    if in_len.shape[0] != batch or tgt_len.shape[0] != batch:
        raise RuntimeError(f"Expected input_lengths and target_lengths to have size {batch}")
    if batch and int(in_len.max()) > frames:
        raise RuntimeError(f"Expected input_lengths to have value at most {frames}, but got value "
                           f"{int(in_len.max())}")
    tgt = _padded_targets(targets, tgt_len)
    width = 2 * tgt.shape[1] + 1
    ext = ember.full((batch, width), blank, dtype=ember.int64)
    ext[:, 1::2] = tgt
    pos = ember.arange(width).unsqueeze(0)
    shifted = ember.cat([ember.full((batch, 2), blank, dtype=ember.int64), ext[:, :-2]], 1)
    skip = (pos >= 2) & (ext != blank) & (ext != shifted)
    emit = ember.gather(log_probs.permute(1, 0, 2), 2, ext.unsqueeze(1).expand(batch, frames, width))
    neg = ember.full((batch, 1), _NEG, dtype=log_probs.dtype)
    alpha = ember.where((pos < 2) & (pos < 2 * tgt_len.unsqueeze(1) + 1), emit[:, 0], _NEG)
    for t in range(1, frames):
        prev1 = ember.cat([neg, alpha[:, :-1]], 1)
        prev2 = ember.where(skip, ember.cat([neg, neg, alpha[:, :-2]], 1), _NEG)
        new = ember.logsumexp(ember.stack([alpha, prev1, prev2]), 0) + emit[:, t]
        alpha = ember.where((t < in_len).unsqueeze(1), new, alpha)
    last = (2 * tgt_len).unsqueeze(1)
    end = ember.gather(alpha, 1, last).squeeze(1)
    before = ember.where(tgt_len > 0, ember.gather(alpha, 1, (last - 1).clamp(min=0)).squeeze(1), _NEG)
    loss = -ember.logsumexp(ember.stack([end, before]), 0)
    impossible = (loss > 1e29) | (in_len == 0) & (tgt_len > 0)
    loss = ember.where(impossible, 0.0 if zero_infinity else float("inf"), loss)
    if reduction == "mean":
        return (loss / tgt_len.clamp(min=1).to(loss.dtype)).mean()
    if reduction == "sum":
        return loss.sum()
    return loss.squeeze(0) if unbatched else loss
