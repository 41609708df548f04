"""The ``*_with_indices`` forms of max pooling: always ``(values, indices)``, whatever ``return_indices`` says
(the plain forms pick between the two by that flag, as torch's ``boolean_dispatch`` does).

>>> import ember
>>> import ember.nn.functional as F
>>> F.max_pool1d_with_indices(ember.tensor([[[1.0, 3.0, 2.0, 0.0]]]), 2)[1].tolist()
[[[1, 2]]]
"""
from ember.ops import adaptive_pool, pool

__all__ = ["adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices", "adaptive_max_pool3d_with_indices",
           "max_pool1d_with_indices", "max_pool2d_with_indices", "max_pool3d_with_indices"]


def _windowed(fn):
    def with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
        return fn(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices=True)
    with_indices.__name__ = f"{fn.__name__}_with_indices"
    with_indices.__doc__ = f"``F.{fn.__name__}(..., return_indices=True)``: the max values and their flat indices."
    return with_indices


def _adaptive(fn):
    def with_indices(input, output_size, return_indices=False):
        return fn(input, output_size, return_indices=True)
    with_indices.__name__ = f"{fn.__name__}_with_indices"
    with_indices.__doc__ = f"``F.{fn.__name__}(..., return_indices=True)``: the max values and their flat indices."
    return with_indices


max_pool1d_with_indices = _windowed(pool.max_pool1d)
max_pool2d_with_indices = _windowed(pool.max_pool2d)
max_pool3d_with_indices = _windowed(pool.max_pool3d)
adaptive_max_pool1d_with_indices = _adaptive(adaptive_pool.adaptive_max_pool1d)
adaptive_max_pool2d_with_indices = _adaptive(adaptive_pool.adaptive_max_pool2d)
adaptive_max_pool3d_with_indices = _adaptive(adaptive_pool.adaptive_max_pool3d)
