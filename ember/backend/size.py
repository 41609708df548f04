"""The checks every tensor factory makes before it allocates, with PyTorch's exception types and messages.

A size is a sequence of ints (Python or NumPy integers, or 0-d integer tensors): a float, bool or string is
a ``TypeError``, a negative size or a byte count past int64 a ``RuntimeError``. A fill value that the dtype
cannot hold, a range without end, and an allocation NumPy cannot make are ``RuntimeError`` too, never a
NumPy exception.
"""
import functools
import math
import operator

import numpy as np

from ember.backend.device import gpu_module
from ember.backend.gpu_memory import out_of_memory

INT64_MAX = 2**63 - 1
_C_TYPES = {"uint8": "uint8_t", "int8": "int8_t", "int16": "int16_t", "int32": "int", "int64": "int64_t",
            "float32": "float"}


def _type_name(value):
    cls = type(value)
    return f"numpy.{cls.__name__}" if cls.__module__ == "numpy" else cls.__name__


def _dim(value, name, where):
    """One size entry as an int; ``where(type name)`` builds the TypeError message for a bad one."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(where(_type_name(value)))
    try:
        n = operator.index(value)
    except TypeError:
        raise TypeError(where(_type_name(value))) from None
    if not -INT64_MAX - 1 <= n <= INT64_MAX:
        raise TypeError(f"{name}(): argument 'size' failed to unpack the object with error "
                        f"\"Overflow when unpacking long long\" (got {n})")
    return n


def check_size(args, name, dtype=None):
    """The shape a factory ``name`` was given as ``f(2, 3)``, ``f((2, 3))``, ``f([2, 3])`` or ``f(Size)``.

    >>> check_size((2, 3), "zeros")
    (2, 3)
    """
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        seq = args[0]
        shape = tuple(_dim(s, name, lambda t, i=i: f"{name}(): argument 'size' (position 1) must be tuple of ints, "
                                                   f"but found element of type {t} at pos {i}")
                      for i, s in enumerate(seq))
    elif len(args) == 1:
        shape = (_dim(args[0], name, lambda t: f"{name}(): argument 'size' (position 1) must be tuple of ints, "
                                              f"not {t}"),)
    else:
        shape = tuple(_dim(s, name, lambda t, i=i: f"{name}(): argument 'size' failed to unpack the object at pos "
                                                   f"{i + 1} with error \"type must be tuple of ints,but got {t}\"")
                      for i, s in enumerate(args))
    if any(s < 0 for s in shape):
        if name == "zeros":
            raise RuntimeError("zeros: Dimension size must be non-negative.")
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(shape)}: {list(shape)}")
    itemsize = 1 if dtype is None else np.dtype(dtype).itemsize
    if math.prod(shape) * itemsize > INT64_MAX:
        raise RuntimeError(f"Storage size calculation overflowed with sizes={list(shape)}")
    return shape


def check_count(value, name, arg):
    """An int argument such as ``randperm``'s ``n`` (a bool or float is a TypeError, as in torch)."""
    return _dim(value, name, lambda t: f"{name}(): argument '{arg}' (position 1) must be int, not {t}")


def check_fill(value, dtype):
    """``value`` as the dtype ``dtype`` (a NumPy dtype) stores it, or torch's RuntimeError when it overflows:
    integers accept [min, max] ([-max, max] when unsigned, wrapping negatives), float32 any value up to its
    largest finite one; float16, bfloat16, float64 and bool take anything.

    >>> check_fill(-1, np.dtype(np.uint8))
    255
    """
    dtype = np.dtype(dtype)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        return value
    bad = RuntimeError(f"value cannot be converted to type {_C_TYPES.get(dtype.name, dtype.name)} without overflow")
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        low = -info.max if dtype.kind == "u" else info.min
        if not (math.isfinite(value) and low <= value <= info.max):
            raise bad
        return int(value) % (info.max + 1) if dtype.kind == "u" else int(value)
    if dtype.name == "float32" and math.isfinite(value) and abs(value) > np.finfo(np.float32).max:
        raise bad
    return value


def check_range(start, end):
    """``arange``'s bounds must be finite numbers."""
    for v in (start, end):
        if isinstance(v, float) and not math.isfinite(v):
            raise RuntimeError(f"unsupported range: {start} -> {end}")


def allocator_errors(factory, name=None):
    """Wrap a factory so NumPy's MemoryError reads as torch's allocator error, with the bytes requested;
    ``name`` names a factory built by a closure (its messages and ``__name__``)."""
    if name is not None:
        factory.__name__ = factory.__qualname__ = name

    @functools.wraps(factory)
    def make(*args, **kwargs):
        try:
            return factory(*args, **kwargs)
        except MemoryError as e:
            gpu = gpu_module()
            if gpu is not None and isinstance(e, gpu.cuda.memory.OutOfMemoryError):
                raise out_of_memory(e, gpu.cuda.runtime.getDevice(), gpu.get_default_memory_pool()) from None
            wanted = getattr(e, "_total_size", None)
            raise RuntimeError(f"DefaultCPUAllocator: can't allocate memory: you tried to allocate "
                               f"{wanted if wanted is not None else 'more'} bytes.") from None
    return make
