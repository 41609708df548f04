"""Factories: tensor, as_tensor, from_numpy, zeros/ones/full/empty (+ _like), eye,
arange, linspace, logspace, the legacy ``FloatTensor``-style constructors and the
``Tensor.new_*`` methods. They build tensors straight from backend arrays, so they
sit with the tensor core, below autograd and ops (which use them)."""
import math

import numpy as np

from ember._tensor import Size, Tensor
from ember.backend import PROMOTE, array_module, from_numpy_dtype, get_default_dtype, to_device, to_dtype
from ember.backend.dtype import bool_, by_name, int64
from ember.backend.device import gpu_module, place
from ember.backend.size import allocator_errors, check_count, check_fill, check_range, check_size


_PY_TYPES = {bool: bool_, int: int64}


def _leaf_dtype(x):
    """The dtype PyTorch infers for one element of a nested sequence."""
    if isinstance(x, Tensor):
        return x._dtype
    if isinstance(x, (np.ndarray, np.generic)):
        if x.ndim == 0 and x.dtype.kind in "iu":
            return int64
        return from_numpy_dtype(x.dtype)
    if isinstance(x, float):
        return get_default_dtype()
    if isinstance(x, complex):
        return get_default_dtype().to_complex()
    if isinstance(x, (bool, int)):
        return _PY_TYPES[bool if isinstance(x, bool) else int]
    raise TypeError(f"new(): invalid data type '{type(x).__name__}'")


def _scan(data):
    """The shape and inferred dtype of nested sequences, checked to be rectangular like PyTorch."""
    shape, found = [], [None, None]  # dtype, depth of the leaves

    def visit(x, d):
        if isinstance(x, (list, tuple)):
            if found[1] is not None and d >= found[1]:
                raise TypeError(f"'{type(x).__name__}' object cannot be interpreted as an integer")
            if d == len(shape):
                shape.append(len(x))
            elif shape[d] != len(x):
                raise ValueError(f"expected sequence of length {shape[d]} at dim {d} (got {len(x)})")
            for v in x:
                visit(v, d + 1)
            return
        dt = _leaf_dtype(x)
        inner = tuple(x.shape) if hasattr(x, "shape") else ()
        if found[1] is None:
            found[1] = d + len(inner)
            shape.extend(inner)
        if d + len(inner) != found[1] or tuple(shape[d:]) != inner:
            raise TypeError("not a sequence")
        found[0] = dt if found[0] is None else PROMOTE[found[0], dt]

    visit(data, 0)
    return tuple(shape), found[0] or get_default_dtype()


def _finish(data, dtype, device, requires_grad):
    t = Tensor._make(place(data, device), dtype, device, False)
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
    if isinstance(data, (np.ndarray, np.generic)):
        host, inferred = data, from_numpy_dtype(data.dtype)
    else:
        shape, inferred = _scan(data)
        dtype = inferred if dtype is None else to_dtype(dtype)
        host = _nested_to_numpy(data, dtype.np, shape)
    dtype = inferred if dtype is None else to_dtype(dtype)
    return _finish(xp.array(host, dtype=dtype.np), dtype, dev, requires_grad)


def _nested_to_numpy(data, np_dtype, shape):
    if isinstance(data, Tensor):
        return data._host()
    if isinstance(data, (list, tuple)) and any(isinstance(x, (Tensor, list, tuple)) for x in data):
        data = [_nested_to_numpy(x, np_dtype, shape[1:]) for x in data]
    try:
        return np.array(data, dtype=np_dtype).reshape(shape)
    except OverflowError:
        raise ValueError("Overflow when unpacking long long") from None


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
    xp = gpu_module()
    if xp is None:
        raise RuntimeError(f"from_dlpack: the producer's memory is on a device ember cannot reach (DLPack device "
                           f"type {dev_type}); CUDA memory needs CuPy and a visible NVIDIA GPU")
    data = xp.from_dlpack(ext_tensor)
    return Tensor._make(data, from_numpy_dtype(data.dtype), to_device(f"cuda:{data.device.id}"))


def _size(args, name, dtype=None):
    """A shape from ``f(2, 3)``, ``f((2, 3))``, ``f([2, 3])`` or ``f(ember.Size(...))``, checked as torch does."""
    return check_size(args, name, dtype)


def _factory(fill):
    def make(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False,
             memory_format=None):
        dev = to_device(device)
        dt = get_default_dtype() if dtype is None else to_dtype(dtype)
        return _finish(fill(array_module(dev), _size(size, make.__name__, dt.np), dt.np), dt, dev, requires_grad)
    return make


zeros = allocator_errors(_factory(lambda xp, shape, dt: xp.zeros(shape, dt)), "zeros")
ones = allocator_errors(_factory(lambda xp, shape, dt: xp.ones(shape, dt)), "ones")
empty = allocator_errors(_factory(lambda xp, shape, dt: xp.empty(shape, dt)), "empty")
zeros.__doc__ = "A tensor of zeros: ``ember.zeros(2, 3)``."
ones.__doc__ = "A tensor of ones: ``ember.ones(2, 3)``."
empty.__doc__ = "An uninitialised tensor: ``ember.empty(2, 3)``."


@allocator_errors
def full(size, fill_value, *, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False):
    """A tensor filled with ``fill_value``; its dtype follows the value (bool, int64 or default float)."""
    if dtype is None:
        if isinstance(fill_value, Tensor):
            fill_value = fill_value.item()
        dtype = bool_ if isinstance(fill_value, bool) else int64 if isinstance(fill_value, int) else (
            get_default_dtype().to_complex() if isinstance(fill_value, complex) else get_default_dtype())
    dt, dev = to_dtype(dtype), to_device(device)
    shape, fill_value = _size((size,), "full", dt.np), check_fill(fill_value, dt.np)
    return _finish(array_module(dev).full(shape, fill_value, dt.np), dt, dev, requires_grad)


def _like(factory):
    def make(input, *args, dtype=None, device=None, requires_grad=False, layout=None, memory_format=None, **kw):
        return factory(input.shape, *args, dtype=dtype or input._dtype, device=device or input._device,
                       requires_grad=requires_grad, **kw)
    make.__name__ = factory.__name__ + "_like"
    make.__doc__ = f"``{factory.__name__}`` with the shape (and by default dtype and device) of ``input``."
    return make


zeros_like, ones_like, empty_like, full_like = _like(zeros), _like(ones), _like(empty), _like(full)


@allocator_errors
def eye(n, m=None, *, dtype=None, device=None, requires_grad=False):
    """The identity matrix (``n`` x ``m``, square by default): ``ember.eye(3)``."""
    for name, v in (("n", n), ("m", m)):
        if v is not None and check_count(v, "eye", name) < 0:
            raise RuntimeError(f"{name} must be greater or equal to 0, got {v}")
    dt, dev = get_default_dtype() if dtype is None else to_dtype(dtype), to_device(device)
    return _finish(array_module(dev).eye(n, m, dtype=dt.np), dt, dev, requires_grad)


@allocator_errors
def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False):
    """Values from ``start`` to ``end`` (exclusive) by ``step``: int64 for integer arguments."""
    if end is None:
        start, end = 0, start
    args = [a.item() if isinstance(a, Tensor) else a for a in (start, end, step)]
    check_range(args[0], args[1])
    if args[2] == 0:
        raise RuntimeError("step must be nonzero")
    if (args[1] - args[0]) * args[2] < 0:
        raise RuntimeError(
            f"upper bound and lower bound inconsistent with step sign (start={args[0]}, end={args[1]}, step={args[2]})"
        )
    if dtype is None:
        dtype = int64 if all(isinstance(a, int) for a in args) else get_default_dtype()
    dt, dev = to_dtype(dtype), to_device(device)
    n = max(math.ceil((args[1] - args[0]) / args[2]), 0)
    data = (args[0] + args[2] * np.arange(n, dtype=np.float64 if dt.is_floating_point else np.int64)).astype(dt.np)
    return _finish(array_module(dev).asarray(data), dt, dev, requires_grad)


@allocator_errors
def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False):
    dt, dev = get_default_dtype() if dtype is None else to_dtype(dtype), to_device(device)
    if check_count(steps, "linspace", "steps") < 0:
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
    dtype = by_name(dtype_name)

    def new(cls, *args, device=None):
        if len(args) == 1 and not isinstance(args[0], (int, Size)):
            data = args[0]
            if not isinstance(data, (list, tuple, np.ndarray, Tensor)):
                raise TypeError(f"new(): data must be a sequence (got {type(data).__name__})")
            return tensor(data.tolist() if isinstance(data, Tensor) else data, dtype=dtype, device=device)
        return empty(*(args or (0,)), dtype=dtype, device=device)
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


# Tensor.new_*: a new tensor with this one's dtype and device unless told otherwise ------------

def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
    return tensor(data, dtype=dtype or self._dtype, device=device or self._device, requires_grad=requires_grad)


def _new_factory(factory):
    def make(self, *size, dtype=None, device=None, requires_grad=False, **kw):
        return factory(*size, dtype=dtype or self._dtype, device=device or self._device,
                       requires_grad=requires_grad, **kw)
    make.__name__ = "new_" + factory.__name__
    return make


Tensor.new_tensor = new_tensor
Tensor.new_zeros, Tensor.new_ones = _new_factory(zeros), _new_factory(ones)
Tensor.new_empty, Tensor.new_full = _new_factory(empty), _new_factory(full)
