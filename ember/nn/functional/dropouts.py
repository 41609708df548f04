"""The dropout family for ``nn.functional``: elementwise, whole-channel (1d/2d/3d) and alpha dropout.

Masks come from ember's generator (``ember.manual_seed`` reproduces them); the
gradient is the mask times the scale, through ordinary ember multiplication.

>>> import ember
>>> import ember.nn.functional as F
>>> F.dropout(ember.ones(4), p=0.5, training=False).tolist()
[1.0, 1.0, 1.0, 1.0]
"""
import math
import warnings

from ember.ops.inplace import inplace as run_inplace

__all__ = ["alpha_dropout", "dropout", "dropout1d", "dropout2d", "dropout3d", "feature_alpha_dropout"]

_SELU_NEG = 1.7580993408473766  # -(alpha * scale) of SELU: the value a dropped unit takes


def check_p(p):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _keep_mask(input, shape, p):
    """A 0/1 mask of ``shape`` in the input's dtype, each entry kept with probability 1 - p."""
    return input.new_empty(shape).bernoulli_(1.0 - p)


def _times(input, factor, inplace):
    return input.mul_(factor) if inplace else input * factor


def _dropout(input, p, training, inplace, shape):
    check_p(p)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return _times(input, input.new_zeros(()), inplace)
    return _times(input, _keep_mask(input, shape, p) * (1.0 / (1.0 - p)), inplace)


def _alpha_dropout(input, p, training, inplace, shape):
    check_p(p)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return _times(input, input.new_zeros(()), inplace)
    a = 1.0 / math.sqrt((_SELU_NEG * _SELU_NEG * p + 1.0) * (1.0 - p))
    keep = _keep_mask(input, shape, p)
    shift = (keep - 1.0) * (_SELU_NEG * a) + _SELU_NEG * a * p
    if inplace:
        return run_inplace(input, lambda x: x * (keep * a) + shift)
    return input * (keep * a) + shift


def _feature_shape(input, batched):
    """The mask shape of channel dropout: one entry per (sample, channel), or per channel when unbatched."""
    if input.dim() < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    lead = 2 if batched else 1
    return tuple(input.shape[:lead]) + (1,) * (input.dim() - lead)


def _warn_unusual_dim(input, spatial):
    """dropout2d/3d accept other ranks with torch's deprecation warning (raised at the caller's caller)."""
    if input.dim() not in (spatial + 1, spatial + 2):
        name = f"dropout{spatial}d"
        warnings.warn(f"{name}: Received a {input.dim()}-D input to {name}, which is deprecated and will "
                      "result in an error in a future release. To retain the behavior and silence this warning, "
                      f"please use dropout instead. Note that {name} exists to provide channel-wise dropout on "
                      f"inputs with {spatial} spatial dimensions, a channel dimension, and an optional batch "
                      f"dimension (i.e. {spatial + 1}D or {spatial + 2}D inputs).", stacklevel=3)


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability p and scale the rest by 1/(1-p): ``F.dropout(x, 0.2)``."""
    return _dropout(input, p, training, inplace, tuple(input.shape))


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, L) or (C, L) input: ``F.dropout1d(ember.ones(2, 3, 5))``."""
    check_p(p)
    if input.dim() not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {input.dim()}D input. Note that "
                           "dropout1d exists to provide channel-wise dropout on inputs with 1 spatial dimension, a "
                           "channel dimension, and an optional batch dimension (i.e. 2D or 3D inputs).")
    return _dropout(input, p, training, inplace, _feature_shape(input, input.dim() == 3))


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, H, W) or (C, H, W) input: ``F.dropout2d(ember.ones(2, 3, 4, 4))``."""
    check_p(p)
    _warn_unusual_dim(input, 2)
    if input.dim() == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
                      "behavior is desired - input is interpreted as shape (N, C, L), where C is the channel dim. "
                      "This behavior will change in a future release to interpret the input as one without a batch "
                      "dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout behavior, please "
                      "switch to using dropout1d instead.", stacklevel=2)
    return _dropout(input, p, training, inplace, _feature_shape(input, True))


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) input: ``F.dropout3d(ember.ones(2, 3, 2, 2, 2))``."""
    check_p(p)
    _warn_unusual_dim(input, 3)
    return _dropout(input, p, training, inplace, _feature_shape(input, input.dim() != 4))


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Dropout that keeps SELU's zero mean and unit variance: dropped units take the SELU floor, then an
    affine map restores the statistics: ``F.alpha_dropout(x, 0.2, training=True)``."""
    return _alpha_dropout(input, p, training, inplace, tuple(input.shape))


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Alpha dropout of whole channels: ``F.feature_alpha_dropout(ember.ones(2, 3, 4), 0.2, training=True)``."""
    return _alpha_dropout(input, p, training, inplace, _feature_shape(input, True))
