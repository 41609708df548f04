"""``F.ctc_loss``: argument checks, target padding and reduction around the CTC primitive in ``ember.ops.ctc``."""
from ember._tensor import Tensor
from ember.backend.dtype import int64
from ember.creation import tensor, zeros
from ember.nn.functional._reduction import check_reduction
from ember.ops import join, pointwise
from ember.ops.ctc import ctc_nll


def _as_long(values):
    if isinstance(values, Tensor):
        return values.long().reshape(-1)
    return tensor(list(values) if isinstance(values, (list, tuple)) else [values], dtype=int64)


def _padded_targets(targets, target_lengths):
    """(N, S) targets, from a padded 2-D tensor or the 1-D concatenation of every target."""
    if targets.dim() == 2:
        return targets.long()
    n, s = target_lengths.shape[0], max(int(target_lengths.max()), 0) if target_lengths.numel() else 0
    rows, start = [], 0
    for length in target_lengths.tolist():
        row = targets[start:start + length].long()
        rows.append(join.cat([row, zeros(s - length, dtype=int64, device=targets.device)]))
        start += length
    return join.stack(rows) if n else zeros(0, s, dtype=int64, device=targets.device)


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean", zero_infinity=False):
    """CTC negative log-likelihood of ``targets`` under per-frame ``log_probs`` (T, N, C), or (T, C) unbatched.

    ``reduction='mean'`` divides each loss by its target length, then averages over the batch."""
    check_reduction(reduction)
    unbatched = log_probs.dim() == 2
    if unbatched:
        log_probs, targets = log_probs.unsqueeze(1), targets.unsqueeze(0)
    frames, batch, _ = log_probs.shape
    # lengths may stay on the CPU while log_probs is on a GPU, as torch allows
    in_len, tgt_len = (_as_long(n).to(log_probs.device) for n in (input_lengths, target_lengths))
    if in_len.shape[0] != batch or tgt_len.shape[0] != batch:
        raise RuntimeError(f"Expected input_lengths and target_lengths to have size {batch}")
    if batch and int(in_len.max()) > frames:
        raise RuntimeError(f"Expected input_lengths to have value at most {frames}, but got value "
                           f"{int(in_len.max())}")
    tgt = _padded_targets(targets, tgt_len)
    loss = ctc_nll(log_probs, tgt, in_len, tgt_len, blank=blank)
    impossible = (loss > 1e29) | (in_len == 0) & (tgt_len > 0)
    loss = pointwise.where(impossible, 0.0 if zero_infinity else float("inf"), loss)
    if reduction == "mean":
        return (loss / tgt_len.clamp(min=1).to(loss.dtype)).mean()
    if reduction == "sum":
        return loss.sum()
    return loss.squeeze(0) if unbatched else loss
