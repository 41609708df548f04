"""The sparse functions of ``nn.functional``: ``embedding`` and ``embedding_bag`` (on the primitives in
``ember.ops.embedding``) and ``one_hot``.

>>> import ember
>>> import ember.nn.functional as F
>>> F.one_hot(ember.tensor([0, 2]), 3).tolist()
[[1, 0, 0], [0, 0, 1]]
"""
from ember.autograd import no_grad
from ember.backend.dtype import int64
from ember.creation import arange, ones, zeros
from ember.linalg import vector_norm
from ember.ops import embedding as _ops
from ember.ops import pointwise, sort


def _pad_index(padding_idx, num):
    """``padding_idx`` wrapped into ``[0, num)`` (torch's assertion outside it); None stays None."""
    if padding_idx is None:
        return None
    if not -num <= padding_idx < num:
        raise AssertionError("Padding_idx must be within num_embeddings")
    return padding_idx % num


def _renorm_(weight, indices, max_norm, norm_type):
    """Rescale, in place and outside autograd, the looked-up rows whose p-norm exceeds ``max_norm``."""
    _ops.check_indices(indices, weight.shape[0])
    with no_grad():
        rows = sort.unique(indices.reshape(-1))
        norms = vector_norm(weight[rows], ord=norm_type, dim=1, keepdim=True)
        scale = pointwise.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
        weight[rows] = weight[rows] * scale.to(weight.dtype)


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
              sparse=False):
    """Look up rows of ``weight``: ``F.embedding(ember.tensor([[0, 2]]), ember.eye(3)).shape == (1, 2, 3)``.

    ``padding_idx`` rows get no gradient; ``max_norm`` renormalises the looked-up rows of ``weight`` in place."""
    pad = _pad_index(padding_idx, weight.shape[0])
    if max_norm is not None:
        _renorm_(weight, input, max_norm, norm_type)
    return _ops.embedding(weight, input, -1 if pad is None else pad, scale_grad_by_freq, sparse)


def _bags(input, offsets, include_last_offset):
    """Flat indices, the bag of each element, and the number of bags."""
    if input.dim() == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated is a mini-batch of "
                             "fixed length sequences. However, found offsets of type Tensor")
        nbags, length = input.shape
        bags = arange(nbags, device=input.device).unsqueeze(1).expand(nbags, length).reshape(-1)
        return input.reshape(-1), bags, nbags
    if input.dim() != 1:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {input.dim()}")
    if offsets is None:
        raise ValueError("offsets has to be a 1D Tensor but got None")
    if offsets.dim() != 1:
        raise ValueError("offsets has to be a 1D Tensor")
    starts = offsets[:-1] if include_last_offset else offsets
    n = input.shape[0]
    marks = zeros(n + 1, dtype=int64, device=starts.device).index_add(
        0, starts.clamp(max=n).long(), ones(starts.shape[0], dtype=int64, device=starts.device))
    return input, marks.cumsum(0)[:n] - 1, starts.shape[0]


def _check_bag_indices(idx, num):
    _ops.check_indices(idx[:0], num)
    bad = ((idx < 0) | (idx >= num)).nonzero()
    if bad.shape[0]:
        i = int(bad[0, 0])
        raise RuntimeError(f"Index {i} of input takes value {int(idx[i])} which is not in the valid range [0, {num})")


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False, mode="mean",
                  sparse=False, per_sample_weights=None, include_last_offset=False, padding_idx=None):
    """Sum, mean or max of the embeddings in each bag (rows of a 2-D input, or segments starting at ``offsets``):
    ``F.embedding_bag(ember.tensor([0, 1, 2]), ember.eye(3), ember.tensor([0, 1]), mode='sum')``."""
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"mode has to be one of sum, mean or max, got {mode}")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError("embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                                  f"supported for mode='sum' (got mode='{mode}'). Please open a feature request "
                                  "on the Pytorch GitHub.")
    if per_sample_weights is not None and tuple(per_sample_weights.shape) != tuple(input.shape):
        raise ValueError(f"embedding_bag: If per_sample_weights ({tuple(per_sample_weights.shape)}) is not None, "
                         f"then it must have the same shape as the input ({tuple(input.shape)})")
    if sparse and mode == "max":
        raise ValueError("max mode does not support sparse weights")
    if scale_grad_by_freq and mode == "max":
        raise ValueError("max mode does not support scaling the gradient by the frequency")
    pad = _pad_index(padding_idx, weight.shape[0])
    if max_norm is not None:
        _renorm_(weight, input, max_norm, norm_type)
    idx, bags, nbags = _bags(input, offsets, include_last_offset)
    _check_bag_indices(idx, weight.shape[0])
    psw = None if per_sample_weights is None else per_sample_weights.reshape(-1)
    if pad is not None:
        keep = idx != pad
        idx, bags, psw = idx[keep], bags[keep], None if psw is None else psw[keep]
    if mode == "max":
        return _ops.bag_pick(weight, _ops.bag_argmax(weight.detach(), idx, bags, nbags=nbags))
    if mode == "mean":
        counts = zeros(nbags, dtype=weight.dtype, device=weight.device).index_add(
            0, bags, ones(idx.shape[0], dtype=weight.dtype, device=weight.device))
        scale = 1.0 / counts[bags]
    else:
        scale = ones(idx.shape[0], dtype=weight.dtype, device=weight.device) if psw is None else psw
    return _ops.bag_sum(weight, scale, idx, bags, nbags=nbags, freq_scaled=bool(scale_grad_by_freq),
                        sparse=bool(sparse))


def one_hot(tensor, num_classes=-1):
    """int64 ``tensor.shape + (num_classes,)`` with a 1 at each value's class; ``num_classes=-1`` takes
    ``max + 1``: ``F.one_hot(ember.tensor([0, 2]))`` -> ``[[1, 0, 0], [0, 0, 1]]``."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, int):
        raise TypeError(f"one_hot(): argument 'num_classes' must be int, not {type(num_classes).__name__}")
    if tensor.dtype is not int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if tensor.numel() == 0:
        if num_classes <= 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        return zeros(*tensor.shape, num_classes, dtype=int64, device=tensor.device)
    if int(tensor.min()) < 0:
        raise RuntimeError("Class values must be non-negative.")
    top = int(tensor.max())
    if num_classes == -1:
        num_classes = top + 1
    elif top >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    return (tensor.unsqueeze(-1) == arange(num_classes, device=tensor.device)).long()
