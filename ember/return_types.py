"""Named tuples returned by ops with several outputs, as ``torch.return_types``:
``values, indices = ember.max(x, 1)`` or ``ember.max(x, 1).indices``."""
from collections import namedtuple

__all__ = ["max", "min", "sort", "topk", "median", "nanmedian", "kthvalue", "mode"]


def _values_indices(name):
    fields = ("values", "indices")
    cls = namedtuple(name, fields)
    cls.__module__ = __name__
    cls.__qualname__ = name
    cls.__repr__ = lambda self: f"ember.return_types.{name}(" + ", ".join(
        f"{f}={v!r}" for f, v in zip(fields, self)) + ")"
    return cls


max = _values_indices("max")  # noqa: A001 - PyTorch's names
min = _values_indices("min")  # noqa: A001
sort = _values_indices("sort")
topk = _values_indices("topk")
median = _values_indices("median")
nanmedian = _values_indices("nanmedian")
kthvalue = _values_indices("kthvalue")
mode = _values_indices("mode")
