"""Tensors in shared memory: ``Tensor.share_memory_()``, ``Tensor.is_shared()``, and how shared
tensors travel to other processes.

A shared tensor's memory is an anonymous ``memfd`` mapped ``MAP_SHARED``. Forked children inherit
the mapping; ``multiprocessing`` (spawn/forkserver contexts, queues, pipes) sends the file
descriptor itself, so the receiver maps the same pages; ``ember.multiprocessing.spawn`` reopens it
through ``/proc/<pid>/fd``. Nothing is left in ``/dev/shm``: the memory goes away with the last
mapping. Tensors that are not shared travel by value, as before.
"""
import mmap
import os
import weakref
from multiprocessing.reduction import DupFd, ForkingPickler

import numpy as np

from ember._tensor import Tensor
from ember.backend import CPU
from ember.backend.dtype import ALL
from ember.nn.parameter import Buffer, Parameter

_fds = {}  # id(mmap) -> the memfd behind it, closed when the mapping goes


def _map(fd, size):
    block = mmap.mmap(fd, size)
    _fds[id(block)] = fd
    weakref.finalize(block, _close, id(block), fd)
    return block


def _close(key, fd):
    _fds.pop(key, None)
    os.close(fd)


def _block_of(array):
    """The shared mapping under ``array``, or None."""
    while isinstance(array, np.ndarray):
        array = array.base
    return array if isinstance(array, mmap.mmap) and id(array) in _fds else None


def is_shared(self):
    """Whether this tensor's memory is shared between processes (``share_memory_()``; CUDA memory always is)."""
    if self._device.type != "cpu":
        return self._device.type == "cuda"
    return _block_of(self._data) is not None


def share_memory_(self):
    """Move this tensor's memory into shared memory, in place; a no-op if it is already there.

    Views made earlier keep the old memory. ``Module.share_memory()`` does this for every parameter
    and buffer, which is what Hogwild-style training needs.

    >>> t = ember.zeros(3).share_memory_(); t.is_shared()  # doctest: +SKIP
    True
    """
    if self._device.type != "cpu" or is_shared(self):
        return self
    a = self._data
    fd = os.memfd_create("ember-tensor", os.MFD_CLOEXEC)
    size = max(a.nbytes, 1)
    os.ftruncate(fd, size)
    shared = np.ndarray(a.shape, a.dtype, buffer=_map(fd, size))
    shared[...] = a
    self._data = shared
    return self


def _layout(t):
    block = _block_of(t._data)
    start = np.frombuffer(block, np.uint8, count=1).ctypes.data
    return block, t._data.ctypes.data - start, t._data.shape, t._data.strides


def _rebuild(cls, fd, size, offset, shape, strides, np_dtype, dtype_name, requires_grad):
    array = np.ndarray(shape, np_dtype, buffer=_map(fd, size), offset=offset, strides=strides)
    dtype = next(d for d in ALL if d.name == dtype_name)
    return cls._make(array, dtype, CPU, requires_grad)


def rebuild_from_fd(cls, dup, size, offset, shape, strides, np_dtype, dtype_name, requires_grad):
    return _rebuild(cls, dup.detach(), size, offset, shape, strides, np_dtype, dtype_name, requires_grad)


def rebuild_from_path(cls, path, size, offset, shape, strides, np_dtype, dtype_name, requires_grad):
    return _rebuild(cls, os.open(path, os.O_RDWR | os.O_CLOEXEC), size, offset, shape, strides, np_dtype,
                    dtype_name, requires_grad)


def _reduce(t):
    if t._device.type != "cpu" or _block_of(t._data) is None:
        return t.__reduce_ex__(2)
    block, offset, shape, strides = _layout(t)
    return rebuild_from_fd, (type(t), DupFd(_fds[id(block)]), block.size(), offset, shape, strides,
                             t._data.dtype, t._dtype.name, t._requires_grad)


def reduce_by_path(t):
    """A shared tensor as a path any process of this user can open while this one lives (for ``spawn``)."""
    block, offset, shape, strides = _layout(t)
    path = f"/proc/{os.getpid()}/fd/{_fds[id(block)]}"
    return rebuild_from_path, (type(t), path, block.size(), offset, shape, strides, t._data.dtype, t._dtype.name,
                               t._requires_grad)


for _cls in (Tensor, Parameter, Buffer):
    ForkingPickler.register(_cls, _reduce)
Tensor.share_memory_ = share_memory_
Tensor.is_shared = is_shared
