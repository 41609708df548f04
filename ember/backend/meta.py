"""The "meta" device: tensors with a shape and a dtype but no data (PyTorch's ``device="meta"``), used to
build a big model before its weights are loaded (``nn.Linear(..., device="meta")``, then
``Module.to_empty(device="cpu")`` and ``load_state_dict``).

A meta tensor's array is a stand-in: one element seen through all-zero strides, so it has the right shape
and dtype, costs ``itemsize`` bytes whatever its size, and accepts writes (they all land on that element).
Ops run on stand-ins like on any array and their results are turned back into stand-ins; the values are
never read. This module is also the meta device's array namespace: the factories below make stand-ins
without allocating, every other name is NumPy's.
"""
import numpy as np


def stand_in(shape, dtype):
    """A writable zero-byte-per-element array of ``shape`` and ``dtype``.

    >>> stand_in((1000, 1000), np.float32).strides
    (0, 0)
    """
    shape = tuple(shape)
    return np.lib.stride_tricks.as_strided(np.zeros(1, dtype), shape, (0,) * len(shape))


def _dtype(a):
    return a.dtype if hasattr(a, "dtype") else np.asarray(a).dtype


def empty(shape, dtype=np.float64, **_):
    return stand_in(shape if isinstance(shape, tuple) else (shape,), dtype)


zeros = ones = empty


def full(shape, fill_value, dtype=None, **_):
    return stand_in(shape if isinstance(shape, tuple) else (shape,), np.result_type(fill_value) if dtype is None else dtype)


def eye(n, m=None, dtype=np.float64, **_):
    return stand_in((n, n if m is None else m), dtype)


def asarray(a, dtype=None, **_):
    """The stand-in of ``a``'s shape and dtype (an op's result, a copy to the meta device)."""
    return stand_in(np.shape(a), _dtype(a) if dtype is None else dtype)


array = asarray


def __getattr__(name):
    return getattr(np, name)
