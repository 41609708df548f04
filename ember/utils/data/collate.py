"""``default_collate`` (a list of samples -> one batch) and ``default_convert`` (one
sample's NumPy arrays -> tensors), following PyTorch's rules.

>>> default_collate([(1, 2.0), (3, 4.0)])
[tensor([1, 3]), tensor([2., 4.], dtype=ember.float64)]
"""
import collections.abc
import re

import numpy as np

from ember._tensor import Tensor
from ember.backend.dtype import float64
from ember.creation import as_tensor, tensor
from ember.ops.join import stack

_ERR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"
_STRINGS = re.compile(r"[SaUO]")


def _is_namedtuple(obj):
    return isinstance(obj, tuple) and hasattr(obj, "_fields")


def _rebuild(elem, values):
    """``values`` in ``elem``'s own container type, or as they are when that type cannot be built from them."""
    try:
        return type(elem)(values)
    except TypeError:
        return values


def default_convert(data):
    """NumPy arrays and scalars become tensors, recursively inside dicts, named tuples and
    sequences; everything else is returned unchanged (used when ``batch_size=None``)."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, (np.ndarray, np.generic)) and not isinstance(data, (np.str_, np.bytes_)):
        return data if _STRINGS.search(data.dtype.str) else as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        return _rebuild(data, {k: default_convert(v) for k, v in data.items()})
    if _is_namedtuple(data):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _rebuild(data, [default_convert(d) for d in data])
    return data


def _numbers(batch, dtype):
    """Python ints (int64) or floats (float64) as one tensor; NumPy converts a plain list of them at once,
    and anything else in the list (a bool, a bigger int, a tensor) takes ``tensor``'s general path."""
    try:
        arr = np.array(batch)
    except (OverflowError, ValueError):
        arr = None
    kind = "f" if dtype is float64 else "i"
    if arr is not None and arr.ndim == 1 and arr.dtype.kind == kind and all(type(v) in (int, float) for v in batch):
        return as_tensor(arr.astype(np.float64 if kind == "f" else np.int64, copy=False))
    return tensor(batch, dtype=dtype)


class GatheredSamples(collections.abc.Sequence):
    """A batch of samples fetched with one index per tensor (``TensorDataset.__getitems__``).

    ``columns`` hold the whole batch, one tensor per field. It reads as the list of
    per-sample tuples a ``collate_fn`` expects; ``default_collate`` returns the columns
    as they are, so a batch costs one gather per field instead of one ``__getitem__``
    per sample plus a stack.
    """

    __slots__ = ("columns",)

    def __init__(self, columns):
        self.columns = columns

    def __len__(self):
        return len(self.columns[0])

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(len(self))[i]]
        return tuple(c[i] for c in self.columns)


def _collate_sequence(batch, elem):
    size = len(elem)
    if any(len(e) != size for e in batch):
        raise RuntimeError("each element in list of batch should be of equal size")
    columns = [default_collate(samples) for samples in zip(*batch)]
    return columns if isinstance(elem, tuple) else _rebuild(elem, columns)


def default_collate(batch):
    """Merge a list of samples into a batch: tensors and NumPy arrays are stacked along a new
    first dim, Python floats become a float64 tensor, ints an int64 tensor, bools a bool
    tensor, strings stay a list; dicts, named tuples and sequences are collated field by field."""
    if type(batch) is GatheredSamples:
        return list(batch.columns)
    elem = batch[0]
    if isinstance(elem, Tensor):
        return stack(batch, 0)
    if isinstance(elem, np.ndarray):
        if _STRINGS.search(elem.dtype.str):
            raise TypeError(_ERR.format(elem.dtype))
        return default_collate([as_tensor(b) for b in batch])
    if isinstance(elem, np.generic) and not isinstance(elem, (np.str_, np.bytes_)):
        return as_tensor(np.array(batch))
    if isinstance(elem, bool):
        return tensor(batch)
    if isinstance(elem, (int, float)):
        return _numbers(batch, float64 if isinstance(elem, float) else None)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        return _rebuild(elem, {k: default_collate([d[k] for d in batch]) for k in elem})
    if _is_namedtuple(elem):
        return type(elem)(*(default_collate(samples) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        return _collate_sequence(batch, elem)
    raise TypeError(_ERR.format(type(elem)))
