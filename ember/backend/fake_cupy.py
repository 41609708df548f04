"""A strict stand-in for CuPy on the CPU, so the CUDA code paths run where there is no GPU.

``EMBER_FAKE_CUDA=1`` (or ``pytest --fake-cuda``) makes ``device="cuda"`` use this module. It
answers only to the names CuPy has (``cupy_names.json``, taken from CuPy itself; a test keeps it
in sync when CuPy is installed) and behaves as CuPy does where a host-only habit would break on a
real GPU:

- ``np.asarray(device_array)`` raises, as CuPy does: data reaches the host only through
  ``.get()`` / ``cupy.asnumpy``;
- a NumPy array may not meet a device array in an operator or a function (CuPy raises
  ``TypeError``), except where CuPy copies it over: ``asarray``/``array`` and indices;
- every array belongs to the device that was current when it was made, and an operation on an
  array of another device raises, as CuPy does, so a missing ``cuda.Device(i)`` shows;
- reductions return 0-d arrays, not NumPy scalars.

The arrays hold NumPy arrays, so every result equals NumPy's.
"""
import functools
import json
import pathlib
import threading
import time
import types
import weakref

import numpy as np

NAMES = json.loads((pathlib.Path(__file__).with_name("cupy_names.json")).read_text())
DEVICE_COUNT = 2
_current = threading.local()


def _current_device():
    return getattr(_current, "id", 0)


class Device:
    """``cupy.cuda.Device(i)``: a context that makes device ``i`` current."""

    def __init__(self, device=None):
        self.id = _current_device() if device is None else int(device)
        if not 0 <= self.id < DEVICE_COUNT:
            raise RuntimeError(f"cudaErrorInvalidDevice: invalid device ordinal {self.id}")
        self._saved = []

    def __enter__(self):
        self._saved.append(_current_device())
        _current.id = self.id
        return self

    def __exit__(self, *exc):
        _current.id = self._saved.pop()

    def use(self):
        _current.id = self.id

    def synchronize(self):
        """Work on the fake device is done when a call returns."""

    def __eq__(self, other):
        return isinstance(other, Device) and other.id == self.id

    def __hash__(self):
        return hash(self.id)

    def __repr__(self):
        return f"<CUDA Device {self.id}>"


def _refuse_host(kind):
    raise TypeError(f"Unsupported type {kind}")


class ndarray:
    """A device array: NumPy memory that only the fake module's functions may touch."""

    __slots__ = ("_a", "_device_id")
    __array_priority__ = 100

    def __init__(self, *args, **kwargs):
        raise TypeError("make device arrays with the module's functions (empty, asarray, ...)")

    @classmethod
    def _wrap(cls, a, device_id=None):
        self = object.__new__(cls)
        self._a = a
        self._device_id = _current_device() if device_id is None else device_id
        if a.base is None and a.nbytes and id(a) not in _POOL.owned:
            _POOL.account(a, self._device_id)
        return self

    # what CuPy refuses -------------------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. "
                        "Please use `.get()` to construct a NumPy array explicitly.")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        fn = getattr(ufunc, method)
        return _call(fn, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        ours = _MODULE_FUNCTIONS.get(func.__name__)
        if ours is None:
            return NotImplemented
        return ours(*args, **kwargs)

    # data and identity ---------------------------------------------------------------
    def get(self, stream=None, order="C", out=None):
        """A host copy (into ``out`` when given: with a stream, CuPy's copy is asynchronous there)."""
        if out is None:
            return np.array(self._a, order=order)
        out[...] = self._a
        _note_transfer(stream, "get", self._a.nbytes)
        return out

    def set(self, arr, stream=None):
        """Copy a host array of the same shape and dtype in (asynchronous on ``stream`` in CuPy)."""
        if not isinstance(arr, np.ndarray) or arr.shape != self._a.shape or arr.dtype != self._a.dtype:
            raise ValueError("set: the host array must be a numpy.ndarray of the same shape and dtype")
        _check_device((self,))
        self._a[...] = arr
        _note_transfer(stream, "set", arr.nbytes)

    @property
    def device(self):
        return Device(self._device_id)

    @property
    def data(self):
        """CuPy's memory pointer (``.ptr``: the address of the first element)."""
        return types.SimpleNamespace(ptr=self._a.ctypes.data, device_id=self._device_id)

    @property
    def __cuda_array_interface__(self):
        return {"shape": self._a.shape, "typestr": self._a.dtype.str, "data": (self._a.ctypes.data, False),
                "strides": self._a.strides, "version": 3}

    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    strides = property(lambda self: self._a.strides)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    flags = property(lambda self: self._a.flags)

    @property
    def base(self):
        return None if self._a.base is None else _wrap_result(self._a.base, self._device_id)

    def __getattr__(self, name):
        if name not in NAMES["cupy.ndarray"]:
            raise AttributeError(f"'cupy.ndarray' object has no attribute '{name}'")
        attr = getattr(self._a, name)
        if not callable(attr):
            return _wrap_result(attr, self._device_id)
        return functools.partial(_call_method, self, name)

    def __setattr__(self, name, value):
        if name in ("_a", "_device_id"):
            object.__setattr__(self, name, value)
        elif name in ("shape", "strides", "dtype") or name not in NAMES["cupy.ndarray"]:
            raise AttributeError(f"cannot set '{name}' of a device array")
        else:
            _check_device((self,))
            setattr(self._a, name, _unwrap(value, name))

    def __repr__(self):
        return f"fake_cupy.array({np.array2string(self._a, separator=', ')}, device={self._device_id})"

    # Python protocols CuPy supports by synchronising --------------------------------
    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __bool__(self):
        return bool(self._a)

    def __int__(self):
        return int(self._a)

    def __float__(self):
        return float(self._a)

    def __complex__(self):
        return complex(self._a)

    def __getitem__(self, key):
        _check_device((self,))
        return _wrap_result(self._a[_unwrap_key(key)], self._device_id)

    def __setitem__(self, key, value):
        _check_device((self,))
        if isinstance(value, np.ndarray) and value.ndim:
            _refuse_host(np.ndarray)
        self._a[_unwrap_key(key)] = _unwrap(value, "setitem")

    def __dlpack_device__(self):
        return 2, self._device_id  # kDLCUDA

    def __dlpack__(self, stream=None, **kwargs):
        return self._a.__dlpack__(**kwargs)

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()

    def __reduce__(self):
        raise TypeError("a device array cannot be pickled directly: copy it to the host with .get() first")


def _binary(name):
    if name.startswith("__i"):  # in place: the array itself comes back, as in CuPy
        def op(self, other):
            _call(getattr(self._a.__class__, name), (self, other), {})
            return self
    else:
        def op(self, other):
            return _call(getattr(self._a.__class__, name), (self, other), {})
    op.__name__ = name
    return op


def _unary(name):
    def op(self):
        return _call(getattr(self._a.__class__, name), (self,), {})
    op.__name__ = name
    return op


for _name in NAMES["cupy.ndarray"] + ["__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__"]:
    if _name in ("__abs__", "__neg__", "__pos__", "__invert__"):
        setattr(ndarray, _name, _unary(_name))
    elif _name.startswith("__") and hasattr(np.ndarray, _name) and _name not in vars(ndarray) and (
            _name[2:-2].lstrip("ri") in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and",
                                          "or", "xor", "lshift", "rshift", "divmod")
            or _name in ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__")):
        setattr(ndarray, _name, _binary(_name))
ndarray.__hash__ = None


def _unwrap(x, where):
    """The NumPy array behind a device argument; host arrays are refused as CuPy does."""
    if isinstance(x, ndarray):
        return x._a
    if isinstance(x, np.ndarray):
        _refuse_host(np.ndarray)
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(v, where) for v in x)
    return x


def _unwrap_key(key):
    """Indices may be device arrays, host arrays or lists (CuPy copies the host ones over)."""
    if isinstance(key, ndarray):
        return key._a
    if isinstance(key, tuple):
        return tuple(_unwrap_key(k) for k in key)
    return key


def _arrays(args):
    for a in args:
        if isinstance(a, ndarray):
            yield a
        elif isinstance(a, (list, tuple)):
            yield from _arrays(a)


def _check_device(arrays):
    current = _current_device()
    for a in arrays:
        if a._device_id != current:
            raise ValueError(f"The device where the array resides ({a._device_id}) is different from the current "
                             f"device ({current}). Peer access has been activated for the device (and "
                             "cupy.cuda.Device(...) must be used).")


def _wrap_result(r, device_id=None):
    if isinstance(r, np.ndarray):
        return ndarray._wrap(r, device_id)
    if isinstance(r, np.generic):  # CuPy returns 0-d arrays where NumPy returns scalars
        return ndarray._wrap(np.asarray(r), device_id)
    if isinstance(r, tuple):
        return type(r)(*(_wrap_result(v, device_id) for v in r)) if hasattr(r, "_fields") else \
            tuple(_wrap_result(v, device_id) for v in r)
    if isinstance(r, list):
        return [_wrap_result(v, device_id) for v in r]
    return r


def _call(fn, args, kwargs):
    _check_device(_arrays(list(args) + list(kwargs.values())))
    out = fn(*_unwrap(tuple(args), fn), **{k: _unwrap(v, fn) for k, v in kwargs.items()})
    return _wrap_result(out)


def _call_method(self, name, *args, **kwargs):
    return _call(getattr(np.ndarray, name), (self, *args), kwargs)


# module functions ---------------------------------------------------------------------
def asarray(a, dtype=None, order=None, *, blocking=False):
    """Host data is copied to the current device; a device array of the current device passes."""
    if isinstance(a, ndarray):
        if a._device_id == _current_device():
            return a if dtype is None or a.dtype == dtype else a.astype(dtype)
        return ndarray._wrap(np.array(a._a, dtype=dtype, order=order or "K"))
    return ndarray._wrap(np.array(a, dtype=dtype, order=order or "K"))


def array(obj, dtype=None, copy=True, order="K", subok=False, ndmin=0, *, blocking=False):
    src = obj._a if isinstance(obj, ndarray) else obj
    return ndarray._wrap(np.array(src, dtype=dtype, copy=True, order=order, ndmin=ndmin))


def from_dlpack(x, *, device=None, copy=None):
    """A device array sharing memory with a DLPack producer on the fake device (ember's CUDA tensors)."""
    kind, device_id = x.__dlpack_device__()
    if kind != 2:
        raise ValueError(f"from_dlpack: the producer is not on a CUDA device (DLPack device type {kind})")

    class _Host:  # the fake device's memory is host memory: let NumPy take the capsule
        def __dlpack__(self, **kwargs):
            return x.__dlpack__(**kwargs)

        def __dlpack_device__(self):
            return 1, 0

    return ndarray._wrap(np.from_dlpack(_Host()), device_id)


def asnumpy(a, stream=None, order="C", out=None, blocking=True):
    return a.get(order=order) if isinstance(a, ndarray) else np.asarray(a, order=order)


def _function(np_fn):
    if isinstance(np_fn, np.ufunc):
        return _ufunc(np_fn)

    @functools.wraps(np_fn)
    def fn(*args, **kwargs):
        return _call(np_fn, args, kwargs)
    return fn


class _ufunc:
    """A CuPy ufunc: ``reduce``/``outer``/``at`` for all, ``accumulate`` only for add and multiply,
    ``reduceat`` only for add (CuPy raises for the others)."""

    def __init__(self, np_ufunc):
        self._u = np_ufunc
        self.__name__ = np_ufunc.__name__
        self.nin, self.nout = np_ufunc.nin, np_ufunc.nout

    def __call__(self, *args, **kwargs):
        return _call(self._u, args, kwargs)

    def reduce(self, *args, **kwargs):
        return _call(self._u.reduce, args, kwargs)

    def outer(self, *args, **kwargs):
        return _call(self._u.outer, args, kwargs)

    def at(self, a, indices, b=None):
        _check_device(_arrays((a, b)))
        self._u.at(a._a, _unwrap_key(indices), b._a if isinstance(b, ndarray) else b)

    def accumulate(self, *args, **kwargs):
        if self.__name__ not in ("add", "multiply"):
            raise NotImplementedError(f"accumulate is not supported for cupy_{self.__name__}")
        return _call(self._u.accumulate, args, kwargs)

    def reduceat(self, *args, **kwargs):
        if self.__name__ != "add":
            raise NotImplementedError(f"reduceat is not supported for cupy_{self.__name__}")
        return _call(self._u.reduceat, args, kwargs)


def _namespace(name, key, np_module, overrides=None):
    """A module object with CuPy's names of ``key``, each running NumPy's function of that name."""
    module = types.ModuleType(name)
    for attr in NAMES[key]:
        if overrides and attr in overrides:
            value = overrides[attr]
        else:
            value = getattr(np_module, attr, None)
            if value is None:
                continue  # a CuPy-only name that ember does not use: absent here too
            if callable(value) and not isinstance(value, type):
                value = _function(value)
        setattr(module, attr, value)
    return module


def _scipy_modules():
    import scipy.fft
    import scipy.special
    return types.SimpleNamespace(special=_namespace("cupyx.scipy.special", "cupyx.scipy.special", scipy.special),
                                 fft=_namespace("cupyx.scipy.fft", "cupyx.scipy.fft", scipy.fft))


def _scatter_add(a, slices, value):
    _check_device(_arrays((a, value)))
    np.add.at(a._a, _unwrap_key(slices), value._a if isinstance(value, ndarray) else value)


class _Stream:
    """``cupy.cuda.Stream``: work on the fake device finishes in order, at once. ``transfers`` lists
    the host copies queued on it as asynchronous (``("set"|"get", nbytes)``), for tests."""

    done = True

    def __init__(self, null=False, non_blocking=False, ptr=None):
        self.ptr = 0 if null else id(self)
        self.transfers = []

    def __enter__(self):
        _streams.append(self)
        return self

    def __exit__(self, *exc):
        _streams.pop()

    def synchronize(self):
        """Work is done when a call returns."""

    def wait_event(self, event):
        """Events are reached when recorded."""

    def use(self):
        _streams[0] = self
        return self

    def is_capturing(self):
        """The fake device cannot capture graphs."""
        return False


def _external_stream(ptr, device_id=-1):
    stream = _Stream()
    stream.ptr = ptr
    return stream


class _Nvtx:
    """``cupy.cuda.nvtx``: ranges and marks, kept in ``events`` (the fake device has no profiler)."""

    def __init__(self):
        self.events = []

    def RangePush(self, message, id_color=-1, argb_color=None):  # noqa: N802 - CuPy's names
        self.events.append(("push", message))

    def RangePop(self):  # noqa: N802
        self.events.append(("pop", None))

    def Mark(self, message, id_color=-1, argb_color=None):  # noqa: N802
        self.events.append(("mark", message))


def _note_transfer(stream, kind, nbytes):
    if stream is not None:
        stream.transfers.append((kind, nbytes))


_Stream.null = _Stream(null=True)
_streams = [_Stream.null]


class _Event:
    """``cupy.cuda.Event``: the fake device's work is done when queued, so an event reads the host clock."""

    done = True

    def __init__(self, block=False, disable_timing=False, interprocess=False):
        self.time = None

    def record(self, stream=None):
        self.time = time.perf_counter()

    def synchronize(self):
        """Reached when recorded."""


def _elapsed_time(start, end):
    return (end.time - start.time) * 1000.0


TOTAL_MEMORY = 16 * 2**30


class _Runtime:
    @staticmethod
    def getDeviceCount():
        return DEVICE_COUNT

    @staticmethod
    def getDevice():
        return _current_device()

    @staticmethod
    def getDeviceProperties(index):
        return {"name": b"ember fake CUDA device (NumPy)", "major": 9, "minor": 0, "totalGlobalMem": TOTAL_MEMORY,
                "multiProcessorCount": 1, "integrated": 0, "isMultiGpuBoard": 0}

    @staticmethod
    def deviceCanAccessPeer(device, peer):  # noqa: N802 - CUDA's name
        return 1  # both fake devices live in host memory

    @staticmethod
    def memGetInfo():
        return TOTAL_MEMORY - _POOL.used_bytes(), TOTAL_MEMORY


class OutOfMemoryError(MemoryError):
    """CuPy's out-of-memory error (a MemoryError)."""

    def __init__(self, size, total, limit):
        super().__init__(f"Out of memory allocating {size:,} bytes (allocated so far: {total:,} bytes, "
                         f"limit set to: {limit:,} bytes).")


class _MemoryPool:
    """CuPy's memory pool, as far as ember asks it: bytes held by live arrays, per device, and a
    limit past which allocations fail as on a full GPU. Nothing is cached: freed bytes go back."""

    def __init__(self):
        self.used, self.owned, self.limit, self.hook = {}, set(), 0, None

    def account(self, a, device_id):
        """Count ``a``'s bytes until it is freed (through the allocator hook when one is set)."""
        with Device(device_id):
            (self.hook or self.malloc)(a.nbytes)
        self.owned.add(id(a))
        weakref.finalize(a, self._free, id(a), device_id, a.nbytes)

    def malloc(self, size):
        device_id = _current_device()
        used = self.used.get(device_id, 0)
        if self.limit and used + size > self.limit:
            raise OutOfMemoryError(size, used, self.limit)
        self.used[device_id] = used + size
        return size

    def _free(self, key, device_id, size):
        self.owned.discard(key)
        self.used[device_id] -= size

    def used_bytes(self):
        return self.used.get(_current_device(), 0)

    total_bytes = used_bytes

    def free_bytes(self):
        return 0

    def free_all_blocks(self, stream=None):
        """Nothing is cached on the fake device."""

    def set_limit(self, size=None, fraction=None):
        self.limit = int(fraction * TOTAL_MEMORY) if fraction is not None else int(size or 0)

    def get_limit(self):
        return self.limit


_POOL = _MemoryPool()


def _set_allocator(allocator=None):
    _POOL.hook = allocator


class _RoutinesLinalg:
    """``cupy._core._routines_linalg``'s compute types: the cuBLAS mode of matmuls per float dtype,
    recorded (the fake device's products are NumPy's whatever the mode)."""

    COMPUTE_TYPE_TBD, COMPUTE_TYPE_DEFAULT, COMPUTE_TYPE_PEDANTIC, COMPUTE_TYPE_FP16 = 0, 1, 2, 3
    COMPUTE_TYPE_FP32, COMPUTE_TYPE_FP64, COMPUTE_TYPE_BF16, COMPUTE_TYPE_TF32 = 4, 5, 6, 7
    _NAMES = {0: "COMPUTE_TYPE_TBD", 1: "COMPUTE_TYPE_DEFAULT", 2: "COMPUTE_TYPE_PEDANTIC", 3: "COMPUTE_TYPE_FP16",
              4: "COMPUTE_TYPE_FP32", 5: "COMPUTE_TYPE_FP64", 6: "COMPUTE_TYPE_BF16", 7: "COMPUTE_TYPE_TF32"}

    def __init__(self):
        self.types = [0, 0, 0]

    @staticmethod
    def to_compute_type_index(dtype):
        char = np.dtype(dtype).char
        for index, chars in enumerate(("e", "fF", "dD")):
            if char in chars:
                return index
        raise TypeError(f"dtype is not supported: {dtype}")

    def get_compute_type(self, dtype):
        index = self.to_compute_type_index(dtype)
        return self.types[index] or self.COMPUTE_TYPE_DEFAULT

    def set_compute_type(self, dtype, compute_type):
        if compute_type not in self._NAMES:
            raise ValueError(f"Unknown compute type: {compute_type}")
        self.types[self.to_compute_type_index(dtype)] = compute_type

    def compute_type_to_str(self, compute_type):
        return self._NAMES[compute_type]


class _CudaSource:
    """``cupy.ElementwiseKernel``/``ReductionKernel``/``RawKernel``: CUDA C, which the fake device cannot
    compile. Ops call kernels only on real CuPy (``cupy_kernels.is_real_cupy``), so reaching this is a bug."""

    def __init__(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__}: the fake CUDA device cannot compile CUDA C kernels; "
                                  "an op must select its kernel only on real CuPy and keep its array-module path "
                                  "here (ember.backend.cupy_kernels.is_real_cupy)")


class ElementwiseKernel(_CudaSource):
    pass


class ReductionKernel(_CudaSource):
    pass


class RawKernel(_CudaSource):
    pass


class PinnedMemoryPointer(bytearray):
    """Page-locked host memory (here: ordinary memory that says it is pinned)."""


def _empty_pinned(shape, dtype=float, order="C"):
    dtype = np.dtype(dtype)
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    mem = PinnedMemoryPointer(max(int(np.prod(shape)) * dtype.itemsize, 1))
    return np.ndarray(shape, dtype, buffer=mem, order=order)


cuda = types.SimpleNamespace(Device=Device, Stream=_Stream, Event=_Event, get_elapsed_time=_elapsed_time,
                             ExternalStream=_external_stream, nvtx=_Nvtx(),
                             PinnedMemoryPointer=PinnedMemoryPointer,
                             get_current_stream=lambda: _streams[-1], runtime=_Runtime, set_allocator=_set_allocator,
                             memory=types.SimpleNamespace(OutOfMemoryError=OutOfMemoryError))

_overrides = {"ndarray": ndarray, "asarray": asarray, "array": array, "asnumpy": asnumpy, "cuda": cuda,
              "from_dlpack": from_dlpack, "ElementwiseKernel": ElementwiseKernel, "ReductionKernel": ReductionKernel,
              "RawKernel": RawKernel,
              "get_default_memory_pool": lambda: _POOL}
module = _namespace("cupy", "cupy", np, _overrides)
module.linalg = _namespace("cupy.linalg", "cupy.linalg", np.linalg)
module.fft = _namespace("cupy.fft", "cupy.fft", np.fft)
module.random = _namespace("cupy.random", "cupy.random", np.random)
module._core = types.SimpleNamespace(_routines_linalg=_RoutinesLinalg())
module.lib = types.SimpleNamespace(stride_tricks=_namespace("cupy.lib.stride_tricks", "cupy.lib.stride_tricks",
                                                            np.lib.stride_tricks))
_MODULE_FUNCTIONS = {n: getattr(module, n) for n in NAMES["cupy"] if callable(getattr(module, n, None))}


class _Cupyx(types.ModuleType):
    """``cupyx``: ``scatter_add``, ``empty_pinned``, ``scipy.special`` and ``scipy.fft`` (SciPy imported
    on first use, as ember does)."""

    scatter_add = staticmethod(_scatter_add)
    empty_pinned = staticmethod(_empty_pinned)

    @functools.cached_property
    def scipy(self):
        return _scipy_modules()


module._cupyx = _Cupyx("cupyx")
