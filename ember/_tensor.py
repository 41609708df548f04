"""The Tensor: a backend array plus autograd state.

Operations are not defined here: each op in ``ember.ops`` attaches its methods
to ``Tensor`` when it is defined (``to``, ``add``, ...), the autograd layer attaches
``backward`` and the hooks, and ``ember.creation`` the ``new_*`` factories, so this
file only holds what every tensor is and imports nothing above the backend.
"""
import copy

import numpy as np

from ember._printing import tensor_repr
from ember.backend import CPU, array_module, device as _device_cls, to_device
from ember.backend.layout import sparse_coo, strided
from ember.backend.dtype import by_name, float32, float64, get_default_dtype, int64, torch_name
from ember.backend.arrays import address
from ember.backend.device import place


value_observer = None  # graph capture sets a function(tensor) told when Python reads a tensor's values


def observe_read(t):
    """Tell a running graph capture that Python code reads ``t``'s values (they become Python constants)."""
    if value_observer is not None:
        value_observer(t)


class Size(tuple):
    """A tensor's shape: a tuple of ints (``ember.Size([2, 3])``)."""

    def __repr__(self):
        return f"ember.Size([{', '.join(map(str, self))}])"

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, item):
        r = tuple.__getitem__(self, item)
        return Size(r) if isinstance(item, slice) else r

    def __add__(self, other):
        return Size(tuple.__add__(self, tuple(other)))


class Tensor:
    """A multi-dimensional array with autograd. Create with ``ember.tensor([...])``."""

    # The hot fields are slots; the rest default at class level and are stored in
    # __dict__ only by the tensors that set them. _version is a one-element list
    # shared by a tensor and its views: the in-place version counter.
    __slots__ = ("_data", "_dtype", "_device", "_requires_grad", "grad_fn", "_version", "__weakref__", "__dict__")
    __array_priority__ = 1000
    grad = None
    _output_nr = 0
    _base = None
    _retains_grad = False
    _hooks = None
    _post_acc_hooks = None
    _grad_acc = None
    _fw_grads = None  # forward AD: {level: tangent} while the tensor is dual (ember.autograd.forward_ad)

    @classmethod
    def _make(cls, data, dtype, device, requires_grad=False, grad_fn=None, output_nr=0, base=None):
        t = object.__new__(cls)
        t._data = data
        t._dtype = dtype
        t._device = device
        t._requires_grad = requires_grad
        t.grad_fn = grad_fn
        if output_nr:
            t._output_nr = output_nr
        if base is None:
            t._version = [0]
        else:
            t._version = base._version
            t._base = base
        return t

    def __init__(self, *args, device=None):
        """Legacy constructor: ``Tensor(2, 3)`` (uninitialised float), ``Tensor([1, 2])`` (data)."""
        dev = to_device(device)
        xp = array_module(dev)
        dtype = get_default_dtype()
        if len(args) == 1 and not isinstance(args[0], (int, Size)):
            src = args[0]
            if isinstance(src, Tensor):
                data = src._data
            elif not isinstance(src, (list, tuple, np.ndarray)):
                raise TypeError(f"new(): data must be a sequence (got {type(src).__name__})")
            else:
                data = xp.asarray(np.asarray(src, dtype=dtype.np))
        else:
            shape = args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else args or (0,)
            data = xp.empty(tuple(shape), dtype=dtype.np)
        self._data, self._dtype, self._device = data.astype(dtype.np, copy=False), dtype, dev
        self._requires_grad = False
        self.grad_fn = None
        self._version = [0]

    # attributes -------------------------------------------------------------------
    @property
    def data(self):
        """The same memory without autograd history."""
        return self.detach()

    @data.setter
    def data(self, value):
        self._data, self._dtype, self._device = value._data, value._dtype, value._device

    @property
    def shape(self):
        return Size(self._data.shape)

    def size(self, dim=None):
        return Size(self._data.shape) if dim is None else self._data.shape[_wrap_dim(dim, self._data.ndim)]

    @property
    def dtype(self):
        return self._dtype

    @property
    def device(self):
        return self._device

    @property
    def is_cuda(self):
        return self._device.type == "cuda"

    @property
    def is_meta(self):
        return self._device.type == "meta"

    @property
    def ndim(self):
        return self._data.ndim

    def dim(self):
        return self._data.ndim

    ndimension = dim

    def numel(self):
        return int(self._data.size)

    nelement = numel

    def element_size(self):
        return self._dtype.itemsize

    @property
    def itemsize(self):
        return self._dtype.itemsize

    @property
    def nbytes(self):
        return self.numel() * self._dtype.itemsize

    def stride(self, dim=None):
        strides = tuple(s // self._dtype.itemsize for s in self._data.strides)
        if self._data.size == 0:  # NumPy gives empty arrays zero strides; PyTorch keeps contiguous ones
            strides = tuple(int(np.prod(self._data.shape[i + 1:])) for i in range(self._data.ndim))
        return strides if dim is None else strides[_wrap_dim(dim, self._data.ndim)]

    def storage_offset(self):
        base = self._root_data()
        return (address(self._data) - address(base)) // self._dtype.itemsize

    def _root_data(self):
        t = self
        while t._base is not None:
            t = t._base
        return t._data

    def data_ptr(self):
        return address(self._data)

    def is_contiguous(self, memory_format=None):
        return bool(self._data.flags.c_contiguous)

    def is_floating_point(self):
        return self._dtype.is_floating_point

    def is_complex(self):
        return self._dtype.category == 3

    @property
    def is_leaf(self):
        return self.grad_fn is None

    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        if self.grad_fn is not None and not value:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use a "
                "computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach()."
            )
        if value and self._dtype.category < 2:
            raise RuntimeError(
                f"only Tensors of floating point and complex dtype can require gradients (got {self._dtype})"
            )
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad=True):
        self.requires_grad = requires_grad
        return self

    @property
    def retains_grad(self):
        return self._retains_grad

    def is_inference(self):
        """ember has no inference tensors: tensors made under inference_mode are ordinary ones."""
        return False

    @property
    def layout(self):
        return getattr(self._data, "layout", strided)

    @property
    def is_sparse(self):
        """True for a sparse COO tensor (``layout == ember.sparse_coo``)."""
        return getattr(self._data, "layout", strided) is sparse_coo

    @property
    def output_nr(self):
        return self._output_nr

    @property
    def _version_value(self):
        return self._version[0]

    def type(self, dtype=None):
        if dtype is None:
            prefix = "ember.cuda." if self._device.type == "cuda" else "ember."
            return f"{prefix}{torch_name(self._dtype)}Tensor"
        return self.to(dtype)

    # conversion -------------------------------------------------------------------
    def numpy(self, *, force=False):
        """The tensor's memory as a NumPy array (shared, no copy, on the CPU)."""
        if value_observer is not None:
            value_observer(self)
        if self._requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        if self.is_sparse:
            raise TypeError("can't convert Sparse layout tensor to numpy. Use Tensor.to_dense() first.")
        if self._device.type != "cpu":
            if not force:
                raise TypeError(
                    f"can't convert {self._device} device type tensor to numpy. Use Tensor.cpu() to "
                    "copy the tensor to host memory first."
                )
            return self._data.get()
        return self._data

    def __array__(self, dtype=None, copy=None):
        if value_observer is not None:
            value_observer(self)
        a = self.numpy(force=True) if self._device.type != "cpu" else self._data
        return a if dtype is None else a.astype(dtype, copy=False)

    def tolist(self):
        if value_observer is not None:
            value_observer(self)
        return self._host().tolist()

    def _host(self):
        if value_observer is not None:  # an op computing on host values bakes them into a captured graph
            value_observer(self)
        if self._device.type == "meta":
            raise NotImplementedError("Cannot copy out of meta tensor; no data!")
        return self._data if self._device.type == "cpu" else self._data.get()

    def item(self):
        if value_observer is not None:
            value_observer(self)
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return self._host().reshape(()).item()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self._dtype.category != 1 or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with more than one value is ambiguous (shape {list(self.shape)}); "
                "use .any() or .all()"
            )
        return bool(self.item())

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __hash__(self):
        return id(self)

    def __dlpack__(self, stream=None, **kwargs):
        if self._requires_grad:
            raise RuntimeError("Can't export tensors that require gradient, use tensor.detach()")
        if stream is not None:
            kwargs["stream"] = stream
        return self._data.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()

    @property
    def __cuda_array_interface__(self):
        """The GPU memory as CuPy, Numba and JAX read it, without a copy (CUDA tensors only)."""
        if self._device.type != "cuda":
            raise AttributeError(f"Can't get __cuda_array_interface__ on non-CUDA tensor type: {self.type()} "
                                 "If CUDA data is required use tensor.cuda() to copy tensor to device memory.")
        if self._requires_grad:
            raise RuntimeError("Can't get __cuda_array_interface__ on Variable that requires grad. If gradients "
                               "aren't required, use var.detach() to get Variable that doesn't require grad.")
        return self._data.__cuda_array_interface__

    def __repr__(self):
        return tensor_repr(self)

    def __format__(self, spec):
        if self._data.ndim == 0:
            return format(self.item(), spec)
        return object.__format__(self, spec)

    def __reduce_ex__(self, protocol):
        return (_rebuild, (self._host(), self._dtype.name, str(self._device), self._requires_grad))

    def __deepcopy__(self, memo):
        if self.grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support the deepcopy protocol")
        new = type(self)._make(self._data.copy(), self._dtype, self._device, self._requires_grad)
        if isinstance(self.__dict__, dict):
            for k, v in self.__dict__.items():
                setattr(new, k, copy.deepcopy(v, memo))
        if self.grad is not None:
            new.grad = self.grad.__deepcopy__(memo)
        memo[id(self)] = new
        return new

    # devices and dtypes (``to`` itself is the op ``ember.ops.convert`` attaches) ---------------
    def cpu(self):
        return self.to(CPU)

    def cuda(self, device=None, non_blocking=False):
        """A copy on a GPU (``cuda:0`` unless ``device`` says otherwise)."""
        if device is None or isinstance(device, int):
            device = _device_cls("cuda", device or 0)
        return self.to(device, non_blocking=non_blocking)

    def double(self):
        return self.to(float64)

    def float(self):
        return self.to(float32)

    def long(self):
        return self.to(int64)

    def _dtype_by_name(name):  # noqa: N805 - helper used at class creation
        def convert(self):
            return self.to(by_name(name))
        convert.__name__ = name
        return convert

    half = _dtype_by_name("float16")
    bfloat16 = _dtype_by_name("bfloat16")
    int = _dtype_by_name("int32")
    short = _dtype_by_name("int16")
    char = _dtype_by_name("int8")
    byte = _dtype_by_name("uint8")
    bool = _dtype_by_name("bool")
    del _dtype_by_name

    def type_as(self, other):
        return self.to(other._dtype)

    # autograd -----------------------------------------------------------------------
    def detach(self):
        """A tensor sharing this one's memory and version counter, outside the graph (not a view)."""
        t = Tensor._make(self._data, self._dtype, self._device)
        t._version = self._version
        return t

    def detach_(self):
        if self._base is not None and self._base._requires_grad:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self.grad_fn = None
        self._requires_grad = False
        return self

    # in-place plumbing ----------------------------------------------------------------
    def _bump(self):
        """Count one in-place change of this memory (shared with the views of it); the only place versions move."""
        self._version[0] += 1


def _wrap_dim(dim, ndim):
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim + n if dim < 0 else dim


def shape_arg(args):
    """A shape from ``f(2, 3)``, ``f((2, 3))`` or ``f([2, 3])`` alike."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = args[0]
    return tuple(int(s) for s in args)


def _rebuild(array, dtype_name, device, requires_grad):
    dev = to_device(device)
    return Tensor._make(place(array_module(dev).asarray(array), dev), by_name(dtype_name), dev, requires_grad)
