"""Normalisation in ``nn.functional``'s argument order: batch, instance, layer, group,
RMS and local response norm, and ``normalize``. The fused kernels live in ``ember.ops.norm``.

>>> import ember
>>> import ember.nn.functional as F
>>> F.layer_norm(ember.tensor([[1.0, 3.0]]), [2]).tolist()
[[-0.9999950528144836, 0.9999950528144836]]
"""
import math

from ember.autograd import is_grad_enabled
from ember.creation import zeros
from ember.linalg import vector_norm
from ember.ops import join
from ember.ops.norm import group_norm, layer_norm, native_batch_norm, native_instance_norm, rms_norm

__all__ = ["batch_norm", "group_norm", "instance_norm", "layer_norm", "local_response_norm", "normalize", "rms_norm"]


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Normalise each channel (dim 1) over the batch and spatial dims; in training, batch statistics are used
    and the running ones updated in place: ``F.batch_norm(x, None, None, training=True)``."""
    if training and input.dim() >= 2 and input.numel() // max(input.shape[1], 1) == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {input.shape}")
    return native_batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps)[0]


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-5):
    """Normalise each (sample, channel) over its spatial dims: ``F.instance_norm(ember.randn(2, 3, 5))``."""
    if use_input_stats and input.dim() >= 2 and math.prod(input.shape[2:]) == 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size {input.shape}")
    return native_instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum, eps)


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """x / max(||x||_p, eps) along ``dim``: ``F.normalize(ember.tensor([[3.0, 4.0]]))`` -> ``[[0.6, 0.8]]``."""
    norm = vector_norm(input, p, dim, keepdim=True).clamp_min(eps)
    if out is None:
        return input / norm.expand_as(input)
    if is_grad_enabled() and (input.requires_grad or out.requires_grad):
        raise RuntimeError("div(): functions with out=... arguments don't support automatic differentiation, but one "
                           "of the arguments requires grad.")
    return out.copy_(input / norm)


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """x / (k + alpha * mean of x^2 over ``size`` neighbouring channels)^beta (channels are dim 1)."""
    if input.dim() < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {input.dim()} dimensions)")
    if input.numel() == 0:
        return input
    sq = input * input
    c = input.shape[1]
    pad_shape = list(sq.shape)
    pad_shape[1] = size // 2
    front = zeros(pad_shape, dtype=sq.dtype, device=sq.device)
    pad_shape[1] = (size - 1) // 2
    back = zeros(pad_shape, dtype=sq.dtype, device=sq.device)
    padded = join.cat([front, sq, back], 1)
    total = padded.narrow(1, 0, c)
    for i in range(1, size):
        total = total + padded.narrow(1, i, c)
    div = (total * (alpha / size) + k) ** beta
    return input / div
