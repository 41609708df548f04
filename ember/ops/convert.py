"""Copies between dtypes and devices: ``to``, ``clone``, ``contiguous``, ``copy_``."""
import numpy as np

from ember._tensor import Tensor
from ember.backend import dtype as ember_dtype, to_device, to_dtype
from ember.backend.arrays import is_pinned, pinned_empty, to_host
from ember.backend.device import gpu_module
from ember.ops import dispatch
from ember.ops.dispatch import check_broadcast, primitive, xp_of
from ember.ops.dual import linear
from ember.ops.inplace import inplace
from ember.ops.registry import method, public


@primitive("ToCopyBackward0")
def _to_copy(ctx, xp, x, dtype, device, src_dtype, src_device, non_blocking=False):
    """``xp`` is the destination's array module: ``to_copy`` runs this record on the destination."""
    ctx.src_dtype, ctx.src_device = src_dtype, src_device
    if device is not src_device:
        x = _to_host(xp, x, non_blocking) if device.type == "cpu" else _to_gpu(xp, x, device, non_blocking)
    if src_dtype.category == 3 and dtype.category < 3:  # PyTorch drops the imaginary part
        x = x.real
    if device is not src_device:  # already a fresh array
        return x if x.dtype == dtype.np else x.astype(dtype.np)
    return x.astype(dtype.np, copy=False) if x.dtype != dtype.np else x.copy()


def _to_gpu(xp, x, device, non_blocking):
    """``x`` copied onto GPU ``device``; from pinned host memory with ``non_blocking``, as an
    asynchronous copy queued on the current stream (the call returns before the data has landed)."""
    with xp.cuda.Device(device.index):
        if non_blocking and is_pinned(x) and x.flags.c_contiguous:
            out = xp.empty(x.shape, x.dtype)
            out.set(x, stream=xp.cuda.get_current_stream())
            return out
        return xp.array(x)


def _to_host(xp, x, non_blocking):
    """``x`` copied to the host; with ``non_blocking``, asynchronously on the current stream into
    pinned memory (as PyTorch's: read it after synchronising)."""
    if not non_blocking or isinstance(x, np.ndarray):
        return to_host(x)
    gpu = gpu_module()
    out = pinned_empty(x.shape, x.dtype)
    with gpu.cuda.Device(x.device.id):
        x.get(stream=gpu.cuda.get_current_stream(), out=out)
    return out


@_to_copy.derivative
def _(ctx, g):
    return g.to(ctx.src_dtype, ctx.src_device)


@method("to")
def to(self, *args, dtype=None, device=None, non_blocking=False, copy=False):
    """``to(dtype)``, ``to(device)``, ``to(device, dtype)`` or ``to(other)``: self when nothing changes.
    ``non_blocking=True`` copies from pinned memory to a GPU (and from a GPU into pinned memory)
    asynchronously on the current stream."""
    for a in args:
        if isinstance(a, Tensor):
            dtype, device = a._dtype, a._device
        elif isinstance(a, ember_dtype):
            dtype = a
        elif isinstance(a, bool):
            non_blocking = a  # to(device, dtype, non_blocking): the legacy positional form
        elif a is not None:
            device = a
    return to_copy(self, dtype, device, copy, non_blocking)


def to_copy(x, dtype, device, copy=False, non_blocking=False):
    dtype = x._dtype if dtype is None else to_dtype(dtype)
    device = x._device if device is None else to_device(device)
    if dtype is x._dtype and device is x._device and not copy:
        return x
    params = {"dtype": dtype, "device": device, "src_dtype": x._dtype, "src_device": x._device}
    if device is not x._device:
        if "meta" in (device.type, x._device.type):
            return _meta_copy(x, dtype, device)
        xp_of(device)  # raises a clear error when the device is unavailable
        if non_blocking:
            params["non_blocking"] = True
    return dispatch.run(_to_copy, (x,), [x._data], device, params)  # looked up now: interceptors may wrap it


def _meta_copy(x, dtype, device):
    """Onto the meta device: shape and dtype only. Off it: there is no data to copy."""
    if x._device.type == "meta":
        raise NotImplementedError("Cannot copy out of meta tensor; no data! Please use Module.to_empty() instead "
                                  "when moving a module from meta to a different device.")
    return Tensor._make(xp_of(device).asarray(x._data, dtype.np), dtype, device)


@method("pin_memory")
def pin_memory(self, device=None):
    """A CPU copy in page-locked memory, which GPUs copy from fastest (self if it is pinned already)."""
    if self._device.type != "cpu":
        raise RuntimeError(f"cannot pin '{self.type()}' only dense CPU tensors can be pinned")
    if is_pinned(self._data):
        return self
    out = pinned_empty(self.shape, self._data.dtype)
    out[...] = self._data
    return Tensor._make(out, self._dtype, self._device, self._requires_grad)


method("is_pinned")(lambda self, device=None: self._device.type == "cpu" and is_pinned(self._data))


@primitive("CloneBackward0")
def _clone(ctx, xp, x):
    return x.copy()


_clone.derivative(lambda ctx, g: g)


@public
def clone(input, *, memory_format=None):
    """A copy with its own memory that stays in the graph: ``y = x.clone()``."""
    return _clone(input)


@public(namespace=False)
def contiguous(input, memory_format=None):
    return input if input._data.flags.c_contiguous else _clone(input)


@primitive("CopyBackwards")
def _copy(ctx, xp, dst, src):
    check_broadcast((dst, src))
    shape = xp.broadcast_shapes(dst.shape, src.shape)
    if shape != dst.shape:
        raise RuntimeError(f"output with shape {list(dst.shape)} doesn't match the broadcast shape {list(shape)}")
    return xp.broadcast_to(src, dst.shape).astype(dst.dtype)


_copy.derivative(lambda ctx, g: (None, g))


@public(namespace=False)
def copy_(self, src, non_blocking=False):
    """Write ``src`` (broadcast, cast to ``self``'s dtype, moved to its device) into ``self``: ``w.copy_(w0)``."""
    if not isinstance(src, Tensor):
        raise TypeError(f"copy_(): argument 'src' must be Tensor, not {type(src).__name__}")
    if src._device is not self._device:
        src = to_copy(src, None, self._device)
    return inplace(self, _copy, src)


@primitive("DetachBackward0", name="detach")
def detach_record(ctx, xp, x):
    """``detach`` as a recorded op: the same values, no gradient (no derivative: the result gets no
    history). Eager ``Tensor.detach`` shares memory outside the dispatcher; a captured graph records this."""
    return x


@primitive("AliasBackward0", name="input_alias")
def input_alias(ctx, xp, x):
    """The same array with the gradient passed through: what graph capture feeds a program in place of
    a float input, so ops see a tensor that needs a gradient (and take their differentiable form) with
    the input's own memory layout. Not a leaf, so an in-place write into it is reported, not refused."""
    return x


input_alias.derivative(lambda ctx, g: g)


# forward-mode rules (run by ember.ops.dual) --------------------------------------------------

for _prim in (_to_copy, _clone, input_alias):
    _prim.jvp(linear())
_copy.jvp(linear(1))  # the result is src, broadcast and cast to dst's shape and dtype
