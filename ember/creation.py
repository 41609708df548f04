"""Factories: tensor, as_tensor, from_numpy, zeros/ones/full/empty (+ _like), eye,
arange, linspace, logspace."""
import math

import numpy as np

from ember._tensor import Tensor
from ember.backend import array_module, from_numpy_dtype, get_default_dtype, to_device, to_dtype
from ember.backend.dtype import bool_, int64
from ember.ops._dims import shape_arg


def _infer_dtype(array):
    kind = array.dtype.kind
    if kind == "b":
        return bool_
    if kind in "iu":
        return int64
    if kind == "f":
        return get_default_dtype()
    raise TypeError(f"Could not infer dtype of {array.dtype}")


def _finish(data, dtype, device, requires_grad):
    t = Tensor._make(data, dtype, device, False)
    if requires_grad:
        t.requires_grad_(True)
    return t


def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """A new tensor holding a copy of ``data`` (nested lists, scalars, arrays, tensors).

    >>> ember.tensor([[1., 2.], [3., 4.]], requires_grad=True)
    """
    dev = to_device(device)
    xp = array_module(dev)
    if isinstance(data, Tensor):
        src = data._host() if dev.type == "cpu" else data._data
        dtype = data._dtype if dtype is None else to_dtype(dtype)
        return _finish(xp.array(src, dtype=dtype.np), dtype, dev, requires_grad)
    if isinstance(data, np.ndarray):
        host = data
        inferred = from_numpy_dtype(data.dtype)
    else:
        host = _nested_to_numpy(data)
        inferred = _infer_dtype(host)
    dtype = inferred if dtype is None else to_dtype(dtype)
    return _finish(xp.array(host, dtype=dtype.np), dtype, dev, requires_grad)


def _nested_to_numpy(data):
    if isinstance(data, (list, tuple)) and data and any(isinstance(x, Tensor) for x in data):
        data = [x._host() if isinstance(x, Tensor) else x for x in data]
    try:
        return np.asarray(data)
    except ValueError as e:
        raise ValueError(f"expected a regular (rectangular) nested sequence: {e}") from None


def as_tensor(data, dtype=None, device=None):
    """Like ``tensor`` but shares memory with ``data`` when dtype and device allow."""
    if isinstance(data, Tensor):
        return data.to(dtype=dtype, device=device)
    if isinstance(data, np.ndarray) and to_device(device).type == "cpu":
        t = from_numpy(data)
        return t if dtype is None else t.to(dtype)
    return tensor(data, dtype=dtype, device=device)


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=False):
    t = tensor(obj, dtype=dtype, device=device) if copy else as_tensor(obj, dtype=dtype, device=device)
    return t.requires_grad_() if requires_grad else t


def from_numpy(ndarray):
    """A tensor sharing memory with a NumPy array: writes to either show in both."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    return Tensor._make(ndarray, from_numpy_dtype(ndarray.dtype), to_device(None))


def from_dlpack(ext_tensor):
    """A tensor sharing memory with any DLPack producer (NumPy, CuPy, PyTorch...)."""
    dev_type, _ = ext_tensor.__dlpack_device__()
    if dev_type == 1:
        data = np.from_dlpack(ext_tensor)
        return Tensor._make(data, from_numpy_dtype(data.dtype), to_device("cpu"))
    import cupy
    data = cupy.from_dlpack(ext_tensor)
    return Tensor._make(data, from_numpy_dtype(data.dtype), to_device(f"cuda:{data.device.id}"))


def _factory(fill):
    def make(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False,
             memory_format=None):
        dev = to_device(device)
        dt = get_default_dtype() if dtype is None else to_dtype(dtype)
        shape = shape_arg(size)
        if any(s < 0 for s in shape):
            raise RuntimeError(f"Trying to create tensor with negative dimension {min(shape)}: {list(shape)}")
        return _finish(fill(array_module(dev), shape, dt.np), dt, dev, requires_grad)
    return make


zeros = _factory(lambda xp, shape, dt: xp.zeros(shape, dt))
ones = _factory(lambda xp, shape, dt: xp.ones(shape, dt))
empty = _factory(lambda xp, shape, dt: xp.empty(shape, dt))
zeros.__name__, ones.__name__, empty.__name__ = "zeros", "ones", "empty"
zeros.__doc__ = "A tensor of zeros: ``ember.zeros(2, 3)``."
ones.__doc__ = "A tensor of ones: ``ember.ones(2, 3)``."
empty.__doc__ = "An uninitialised tensor: ``ember.empty(2, 3)``."


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False):
    """A tensor filled with ``fill_value``; its dtype follows the value (bool, int64 or default float)."""
    if dtype is None:
        if isinstance(fill_value, Tensor):
            fill_value = fill_value.item()
        dtype = bool_ if isinstance(fill_value, bool) else int64 if isinstance(fill_value, int) else get_default_dtype()
    dt, dev = to_dtype(dtype), to_device(device)
    return _finish(array_module(dev).full(shape_arg((size,)), fill_value, dt.np), dt, dev, requires_grad)


def _like(factory):
    def make(input, *args, dtype=None, device=None, requires_grad=False, layout=None, memory_format=None, **kw):
        return factory(input.shape, *args, dtype=dtype or input._dtype, device=device or input._device,
                       requires_grad=requires_grad, **kw)
    make.__name__ = factory.__name__ + "_like"
    make.__doc__ = f"``{factory.__name__}`` with the shape (and by default dtype and device) of ``input``."
    return make


zeros_like, ones_like, empty_like, full_like = _like(zeros), _like(ones), _like(empty), _like(full)


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False):
    dt, dev = get_default_dtype() if dtype is None else to_dtype(dtype), to_device(device)
    return _finish(array_module(dev).eye(n, m, dtype=dt.np), dt, dev, requires_grad)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False):
    """Values from ``start`` to ``end`` (exclusive) by ``step``: int64 for integer arguments."""
    if end is None:
        start, end = 0, start
    args = [a.item() if isinstance(a, Tensor) else a for a in (start, end, step)]
    if args[2] == 0:
        raise RuntimeError("step must be nonzero")
    if (args[1] - args[0]) * args[2] < 0:
        raise RuntimeError(
            f"upper bound and larger bound inconsistent with step sign (start={args[0]}, end={args[1]}, step={args[2]})"
        )
    if dtype is None:
        dtype = int64 if all(isinstance(a, int) for a in args) else get_default_dtype()
    dt, dev = to_dtype(dtype), to_device(device)
    n = max(math.ceil((args[1] - args[0]) / args[2]), 0)
    data = (args[0] + args[2] * np.arange(n, dtype=np.float64 if dt.is_floating_point else np.int64)).astype(dt.np)
    return _finish(array_module(dev).asarray(data), dt, dev, requires_grad)


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False):
    dt, dev = get_default_dtype() if dtype is None else to_dtype(dtype), to_device(device)
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    data = np.linspace(float(start), float(end), steps)
    if not dt.is_floating_point:
        data = np.trunc(data)
    return _finish(array_module(dev).asarray(data.astype(dt.np)), dt, dev, requires_grad)


def logspace(start, end, steps, base=10.0, *, dtype=None, device=None, requires_grad=False):
    dt, dev = get_default_dtype() if dtype is None else to_dtype(dtype), to_device(device)
    data = np.power(base, np.linspace(float(start), float(end), steps)).astype(dt.np)
    return _finish(array_module(dev).asarray(data), dt, dev, requires_grad)


def _legacy(name, dtype_name):
    from ember.backend.dtype import ALL
    dtype = next(d for d in ALL if d.name == dtype_name)

    def new(cls, *args, device=None):
        if len(args) == 1 and not isinstance(args[0], int):
            return tensor(args[0].tolist() if isinstance(args[0], Tensor) else args[0], dtype=dtype, device=device)
        return empty(*args, dtype=dtype, device=device)
    return type(name, (), {"__new__": new, "dtype": dtype, "__doc__": f"Legacy constructor for {dtype_name} tensors."})


FloatTensor = _legacy("FloatTensor", "float32")
DoubleTensor = _legacy("DoubleTensor", "float64")
HalfTensor = _legacy("HalfTensor", "float16")
LongTensor = _legacy("LongTensor", "int64")
IntTensor = _legacy("IntTensor", "int32")
ShortTensor = _legacy("ShortTensor", "int16")
CharTensor = _legacy("CharTensor", "int8")
ByteTensor = _legacy("ByteTensor", "uint8")
BoolTensor = _legacy("BoolTensor", "bool")
