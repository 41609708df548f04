"""The functionals PyTorch also exposes at the top level under other signatures: the in-place
activations and dropouts (``torch.celu_(x)``, ``torch.dropout_(x, p, train)``), channel dropout
of any rank (``torch.feature_dropout``), ``torch.max_pool1d_with_indices``, and ``Tensor.prelu``."""
from ember._tensor import Tensor
from ember.nn.functional.activations import celu, prelu, selu, threshold
from ember.nn.functional.dropouts import _dropout, _feature_shape, alpha_dropout, dropout, feature_alpha_dropout
from ember.ops.pool import max_pool1d


def celu_(input, alpha=1.0):
    return celu(input, alpha, inplace=True)


def selu_(input):
    return selu(input, inplace=True)


def threshold_(input, threshold_, value):
    return threshold(input, threshold_, value, inplace=True)


def _check_p(p):
    """The top-level forms raise RuntimeError (the functionals ValueError) for p outside [0, 1]."""
    if not 0.0 <= p <= 1.0:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {p}")


def dropout_(input, p, train):
    _check_p(p)
    return dropout(input, p, train, inplace=True)


def alpha_dropout_(input, p, train):
    _check_p(p)
    return alpha_dropout(input, p, train, inplace=True)


def feature_alpha_dropout_(input, p, train):
    _check_p(p)
    return feature_alpha_dropout(input, p, train, inplace=True)


def feature_dropout(input, p, train):
    """Zero whole channels (dim 1) of an input of any rank >= 2, scaling the rest by 1/(1-p)."""
    _check_p(p)
    return _dropout(input, p, train, False, _feature_shape(input, True))


def feature_dropout_(input, p, train):
    _check_p(p)
    return _dropout(input, p, train, True, _feature_shape(input, True))


def max_pool1d_with_indices(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
    """``(values, indices)`` of 1-D max pooling (``stride`` defaults to ``kernel_size``)."""
    return max_pool1d(input, kernel_size, stride or None, padding, dilation, ceil_mode, return_indices=True)


Tensor.prelu = prelu  # ``x.prelu(weight)``
