"""Storage-level views and resizing (as_strided, resize_, empty_strided, frombuffer), the
split aliases (split_with_sizes, unsafe_*), index_reduce, element-wise Python callables
(apply_, map_, map2_), and small queries (dim_order, const_data_ptr, is_inference)."""
import builtins
import math

import numpy as np

from ember._tensor import Tensor
from ember.autograd.grad_mode import is_grad_enabled
from ember.backend import from_numpy_dtype, to_device, to_dtype
from ember.backend.arrays import address, to_host
from ember.backend.dtype import bool_, get_default_dtype, int64
from ember.creation import arange, empty, tensor
from ember.ops.convert import input_alias
from ember.ops.dispatch import per_sample, refuse_batched, xp_of
from ember.ops.dual import differentiable
from ember.ops.join import chunk, split
from ember.ops.out import accepts_out
from ember.ops.registry import method, public
from ember.ops.tensor_methods import scatter_reduce


def _storage(t):
    """The tensor that owns ``t``'s memory (its base), which must be contiguous to index like a storage."""
    base = t if t._base is None else t._base
    if not base._data.flags.c_contiguous:
        raise RuntimeError("as_strided: ember addresses storage through a contiguous base tensor")
    return base


@public
@per_sample(own_storage=True)
def as_strided(input, size, stride, storage_offset=None):
    """A tensor of ``size`` reading the storage at ``offset + sum(i_k * stride_k)`` (element units).

    Without autograd it is a view (writes show in ``input``); with it, a gather whose
    gradient scatters back."""
    base = _storage(input)
    offset = input.storage_offset() if storage_offset is None else storage_offset
    size, stride = tuple(size), tuple(stride)
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    last = offset + sum((n - 1) * s for n, s in zip(size, stride)) if all(size) else offset
    if last >= base.numel() and all(size):
        item = base.element_size()
        raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {offset}, and "
                           f"itemsize {item} requiring a storage size of {(last + 1) * item} are out of bounds for "
                           f"storage of size {base.numel() * item}")
    if not (input._requires_grad or differentiable(input)):
        flat = base._data.reshape(-1)
        view = xp_of(input._device).lib.stride_tricks.as_strided(flat[offset:], size,
                                                                 [s * flat.itemsize for s in stride])
        return Tensor._make(view, input._dtype, input._device, base=base)
    # the gradient flows into ``input`` only (as PyTorch's does): the storage elements outside
    # its geometry are read as constants
    own = _positions(input.shape, input.stride(), input.storage_offset(), input.device)
    storage = base.detach().reshape(-1).index_put((own.reshape(-1),), input.reshape(-1))
    return storage[_positions(size, stride, offset, input.device)]


def _positions(size, stride, offset, device):
    """The storage index of every element of a ``size``/``stride``/``offset`` geometry."""
    index = tensor(offset, dtype=int64, device=device)
    for d, (n, s) in enumerate(zip(size, stride)):
        shape = [1] * len(size)
        shape[d] = n
        index = index + arange(n, device=device).reshape(shape) * s
    return index


def as_strided_(input, size, stride, storage_offset=None):
    """Make ``input`` itself the ``as_strided`` view of its storage (its shape and strides change)."""
    refuse_batched("as_strided_", input)
    if input._requires_grad and input.grad_fn is None and is_grad_enabled():
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
    out = as_strided(input, size, stride, storage_offset)
    if input._base is None and out._base is input:  # input owned the storage: keep it as the new view's base
        owner = Tensor._make(input._data, input._dtype, input._device)
        owner._version = input._version
        input._base = owner
    input._data = out._data
    if out.grad_fn is not None:
        input.grad_fn, input._output_nr = out.grad_fn, out._output_nr
    input._version[0] += 1
    return input


public(as_strided_)


@public
def as_strided_scatter(input, src, size, stride, storage_offset=None):
    """A copy of ``input`` with ``src`` written where ``as_strided(size, stride, offset)`` would read."""
    out = input.clone()
    flat_positions = as_strided(arange(input.numel(), device=input.device).reshape(input.shape), size, stride,
                                storage_offset)
    return out.reshape(-1).index_put((flat_positions.reshape(-1),), src.reshape(-1).to(input.dtype)).reshape(
        input.shape)


def _sizes(args):
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else tuple(args)


@method("resize_")
def resize_(self, *sizes, memory_format=None):
    """Give ``self`` a new shape in place, keeping its leading elements (new ones are uninitialised)."""
    if self._requires_grad:
        raise RuntimeError("cannot resize variables that require grad")
    shape = _sizes(sizes)
    n = math.prod(shape)
    flat = self._data.reshape(-1)
    if n <= flat.size and self._data.flags.c_contiguous:
        self._data = flat[:n].reshape(shape)
    else:
        grown = np.empty(n, dtype=flat.dtype) if self._device.type == "cpu" else None
        if grown is None:
            raise RuntimeError("resize_: growing a CUDA tensor is not supported")
        grown[:min(n, flat.size)] = flat[:min(n, flat.size)]
        self._data = grown.reshape(shape)
    return self


@method("resize_as_")
def resize_as_(self, the_template, memory_format=None):
    return resize_(self, *the_template.shape)


@method("resize")
def resize(self, *sizes):
    """The deprecated out-of-place resize: like PyTorch's, only a reshape to as many elements."""
    shape = _sizes(sizes)
    if math.prod(shape) != self.numel():
        size = "x".join(map(str, self.shape)) or "[]"
        raise RuntimeError(f"requested resize to {shape} ({math.prod(shape)} elements in total), but the given tensor "
                           f"has a size of {size} ({self.numel()} elements). autograd's resize can only change the "
                           "shape of a given tensor, while preserving the number of elements.")
    return self.reshape(shape)


@method("resize_as")
def resize_as(self, tensor_):
    return resize(self, *tensor_.shape)


def resize_as_fn(input, the_template, *, memory_format=None):
    return resize_as_(input, the_template)


resize_as_fn.__name__ = "resize_as_"
public(resize_as_fn, method=False)


@public(method=False)
def empty_strided(size, stride, *, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    """Uninitialised memory viewed with ``size`` and ``stride``."""
    size, stride = tuple(size), tuple(stride)
    need = 1 + sum((n - 1) * s for n, s in zip(size, stride)) if all(size) else 0
    storage = empty(need, dtype=dtype, device=device)
    out = as_strided(storage, size, stride, 0)
    return out.requires_grad_() if requires_grad else out


@public(method=False)
def frombuffer(buffer, *, dtype, count=-1, offset=0, requires_grad=False):
    """A 1-D tensor sharing memory with a Python buffer (bytes are read-only, bytearray writable)."""
    d = to_dtype(dtype)
    array = np.frombuffer(buffer, dtype=d.np, count=count, offset=offset)
    if array.size == 0:
        raise ValueError("both buffer length (0) and count (-1) must not be 0")
    t = Tensor._make(array, from_numpy_dtype(array.dtype), to_device(None))
    return t.requires_grad_() if requires_grad else t


@public(method=False)
def scalar_tensor(s, *, dtype=None, layout=None, device=None, pin_memory=False):
    return tensor(s, dtype=dtype or get_default_dtype(), device=device)


@public(method=False)
@accepts_out
def range(start, end=None, step=1, *, dtype=None, layout=None, device=None,  # noqa: A001
          requires_grad=False):
    """The deprecated inclusive range: ``start, start + step, ..., end`` (default float dtype)."""
    if end is None:
        raise TypeError('range() missing 1 required positional arguments: "end"')
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    n = int(math.floor((end - start) / step)) + 1
    data = start + step * np.arange(max(n, 0), dtype=np.float64)
    return tensor(data, dtype=dtype or get_default_dtype(), device=device, requires_grad=requires_grad)


@public
def split_with_sizes(input, split_sizes, dim=0):
    return split(input, list(split_sizes), dim)


@public
def unsafe_split(input, split_size, dim=0):
    return split(input, split_size, dim)


@public
def unsafe_split_with_sizes(input, split_sizes, dim=0):
    return split(input, list(split_sizes), dim)


@public
def unsafe_chunk(input, chunks, dim=0):
    return chunk(input, chunks, dim)


@public(inplace=True)
def index_reduce(input, dim, index, source, reduce, *, include_self=True):
    """Reduce the slices of ``source`` into ``input``'s slices ``index`` along ``dim`` ('prod', 'mean', 'amax', 'amin')."""
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or amin but got {reduce}.")
    if input._dtype is bool_ and not include_self:
        raise NotImplementedError("\"index_reduce_func_exclude_input_init\" not implemented for 'Bool'")
    d = dim % max(input.dim(), 1)
    shape = [1] * source.dim()
    shape[d] = -1
    full = index.to(int64).reshape(shape).expand(*source.shape)
    return scatter_reduce(input, d, full, source, reduce, include_self=include_self)


@method("apply_")
def apply_(self, callable):
    """Replace every element by ``callable(element)`` (slow, as in PyTorch; a CUDA tensor's data goes
    to the host and back, since the callable is Python code)."""
    return _python_map(self, "apply_", callable)


@method("map_")
def map_(self, tensor_, callable):
    """``self[i] = callable(self[i], tensor_[i])`` with ``tensor_`` broadcast to ``self``."""
    return _python_map(self, "map_", callable, tensor_)


@method("map2_")
def map2_(self, x, y, callable):
    """``self[i] = callable(self[i], x[i], y[i])`` with ``x`` and ``y`` broadcast to ``self``."""
    return _python_map(self, "map2_", callable, x, y)


def _python_map(self, name, callable, *others):
    """``self[...] = callable(self, *others)`` element by element on host copies (explicitly copied
    off and back onto a GPU: the callable is Python)."""
    if self._requires_grad:
        raise RuntimeError(f"{name}: can't call it on a tensor that requires grad")
    for other in others:
        if other._device != self._device:
            raise RuntimeError(f"{name}: expected all tensors on {self._device}, got {other._device}")
    args = [to_host(self._data)] + [to_host(o.expand(self.shape)._data) for o in others]  # torch's expand error
    result = np.vectorize(callable, otypes=[args[0].dtype])(*args)
    self._data[...] = result if self._device.type == "cpu" else xp_of(self._device).asarray(result)
    self._version[0] += 1
    return self


@method("dim_order")
def dim_order(self, *, ambiguity_check=False):
    """The dims from outermost to innermost in memory (``(0, 1, ..., n-1)`` when contiguous)."""
    strides = self.stride()
    return tuple(sorted(builtins.range(self.dim()), key=lambda d: -strides[d]))


Tensor.const_data_ptr = Tensor.data_ptr


@public(method=False)
def is_inference(input):
    return input.is_inference()


@public(method=False)
def get_device(input):
    return input.get_device()


@method("new_empty_strided")
def new_empty_strided(self, size, stride, *, dtype=None, device=None, requires_grad=False, layout=None,
                      pin_memory=False):
    """:func:`empty_strided` with this tensor's dtype and device unless given."""
    return empty_strided(size, stride, dtype=dtype or self._dtype, device=device or self._device,
                         requires_grad=requires_grad)


@method("is_set_to")
def is_set_to(self, tensor):
    """Whether both tensors address the same memory with the same offset, sizes and strides."""
    a, b = self._data, tensor._data
    return (self._device == tensor._device and a.dtype == b.dtype and a.shape == b.shape and a.strides == b.strides
            and address(a) == address(b))


@method("as_subclass")
def as_subclass(self, cls):
    """This tensor's data (shared) and autograd history as an instance of the Tensor subclass ``cls``."""
    if not (isinstance(cls, type) and issubclass(cls, Tensor)):
        raise TypeError("Creating a Tensor subclass from a class that does not inherit from Tensor is not possible. "
                        "Make sure your class inherits from Tensor.")
    out = input_alias(self)
    out.__class__ = cls
    return out


@method("module_load")
def module_load(self, other, assign=False):
    """What ``Module.load_state_dict`` stores for this parameter or buffer: ``other`` copied into this
    tensor, or (``assign``) ``other`` itself, detached either way."""
    return other.detach() if assign else self.copy_(other).detach()
