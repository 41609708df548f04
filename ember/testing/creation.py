"""``make_tensor``: a random tensor for tests, with PyTorch's argument rules.

    >>> make_tensor(2, 3, dtype=ember.float32, device="cpu", low=-1, high=1).shape
    ember.Size([2, 3])
"""
import math
import warnings

import numpy as np

from ember._tensor import Tensor
from ember.backend import CPU
from ember.backend.device import to_device
from ember.backend.dtype import bool_
from ember.backend.typeinfo import finfo, iinfo

_NUMPY = np.random.default_rng()


def make_tensor(*shape, dtype, device, low=None, high=None, requires_grad=False, noncontiguous=False,
                exclude_zero=False, memory_format=None):
    """A tensor of ``shape`` drawn uniformly from ``[low, high)`` (floating and complex: both parts; defaults
    -9 and 9, clamped to the dtype's range; integers: ``high`` exclusive; bool: fair coin).

    ``noncontiguous`` spreads the elements (every other one of a wider array), ``exclude_zero`` replaces
    zeros by the dtype's smallest positive step, ``memory_format`` (channels_last) lays a 4-d/5-d tensor
    out channels-last. Random values come from NumPy's generator, not ember's seed.
    """
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    shape = tuple(int(s) for s in shape)
    if noncontiguous and memory_format is not None:
        raise ValueError(f"The parameters `noncontiguous` and `memory_format` are mutually exclusive, "
                         f"but got noncontiguous={noncontiguous} and memory_format={memory_format}")
    if requires_grad and dtype.category < 2:
        raise ValueError(f"`requires_grad=True` is not supported for boolean and integral dtypes, but got dtype={dtype}")
    values = _draw(shape, dtype, low, high)
    if exclude_zero:
        values[values == 0] = 1 if dtype.category < 2 else finfo(dtype.to_real()).tiny
    if noncontiguous and values.size > 1:
        wide = np.empty(shape[:-1] + (2 * shape[-1],), values.dtype)
        wide[..., ::2] = values
        values = wide[..., ::2]
    elif memory_format is not None:
        values = _lay_out(values, memory_format)
    t = Tensor._make(values, dtype, CPU)
    target = to_device(device)
    if target is not CPU:
        t = t.to(target)
    return t.requires_grad_(requires_grad)


def _draw(shape, dtype, low, high):
    if dtype is bool_:
        return _NUMPY.integers(0, 2, shape).astype(np.bool_)
    if dtype.category == 1:
        info = iinfo(dtype)
        low, high = _bounds(low, high, -9, 10, info.min, info.max)
        low, high = math.ceil(low), math.ceil(high)
        if low == high:
            return np.full(shape, low, dtype.np)
        return _NUMPY.integers(low, high, shape, dtype=np.int64).astype(dtype.np)
    info = finfo(dtype.to_real())
    low, high = _bounds(low, high, -9, 9, float(info.min), float(info.max))
    if low == high:
        warnings.warn("Passing `low==high` to `make_tensor` for floating or complex types is deprecated "
                      "(as in PyTorch); use `ember.full(...)` instead.", FutureWarning, stacklevel=3)
    draw = (lambda: _NUMPY.uniform(low, high, shape))
    values = draw() + 1j * draw() if dtype.category == 3 else draw()
    return np.asarray(values).astype(dtype.np)


def _bounds(low, high, low_default, high_default, lowest, highest):
    low = low_default if low is None else low
    high = high_default if high is None else high
    if math.isnan(low) or math.isnan(high):
        raise ValueError(f"`low` and `high` cannot be NaN, but got low={low} and high={high}")
    if low > high:
        raise ValueError(f"`low` must be less than `high`, but got {low} >= {high}")
    return max(low, lowest), min(high, highest)


def _lay_out(values, memory_format):
    """The same values in a channels-last layout (strides ordered N, spatial..., C)."""
    name = str(memory_format).rsplit(".", 1)[-1]
    if name in ("contiguous_format", "preserve_format"):
        return values
    rank = {"channels_last": 4, "channels_last_3d": 5}.get(name)
    if rank is None:
        raise ValueError(f"unknown memory_format {memory_format!r}")
    if values.ndim != rank:
        raise RuntimeError(f"required rank {rank} tensor to use {name} format")
    order = (0, *range(2, rank), 1)
    return np.ascontiguousarray(values.transpose(order)).transpose(np.argsort(order))
