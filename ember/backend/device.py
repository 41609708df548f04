"""Devices and the array module (``xp``) that serves each one."""
import functools
import os

import numpy as np

from ember.backend import flags, gpu_memory, gpu_precision, meta


class device:
    """Where a tensor lives: ``device("cpu")``, ``device("cuda:0")``, ``device("cuda", 1)``."""

    __slots__ = ("type", "index")
    _cache = {}

    def __new__(cls, type, index=None):
        if isinstance(type, device):
            return type
        if isinstance(type, int):
            type, index = "cuda", type
        if ":" in type:
            type, _, idx = type.partition(":")
            if index is not None:
                raise RuntimeError(f"type (string) must not include an index because index was passed explicitly: {type}")
            if not idx.isdigit():
                raise RuntimeError(f"Invalid device string: '{type}:{idx}'")
            index = int(idx)
        if type not in ("cpu", "cuda", "meta"):
            raise RuntimeError(
                f"Expected one of cpu, cuda, meta device type at start of device string: {type}"
            )
        key = (type, index)
        cached = cls._cache.get(key)
        if cached is None:
            cached = object.__new__(cls)
            object.__setattr__(cached, "type", type)
            object.__setattr__(cached, "index", index)
            cls._cache[key] = cached
        return cached

    def __setattr__(self, name, value):
        raise AttributeError("ember.device is immutable")

    def __repr__(self):
        return f"device(type='{self.type}')" if self.index is None else f"device(type='{self.type}', index={self.index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and self.type == other.type and self.index == other.index

    def __hash__(self):
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (str(self),))


CPU = device("cpu")


_GPU = []  # [module or None] once looked up


def gpu_module():
    """The array module of CUDA devices: CuPy when it imports and sees a GPU, the strict CPU
    stand-in (``fake_cupy``) when ``EMBER_FAKE_CUDA=1``, else None. Looked up once, on first use,
    so ``import ember`` never imports CuPy."""
    if not _GPU:
        xp = _find_gpu_module()
        if xp is not None:
            gpu_memory.install(xp)
            flags.on_matmul_precision("cuda", functools.partial(gpu_precision.apply, xp))
        _GPU.append(xp)
    return _GPU[0]


def _find_gpu_module():
    if os.environ.get("EMBER_FAKE_CUDA", "") not in ("", "0"):
        from ember.backend import fake_cupy  # optional dependency: only with EMBER_FAKE_CUDA set
        return fake_cupy.module
    try:
        import cupy
        return cupy if cupy.cuda.runtime.getDeviceCount() > 0 else None
    except Exception:  # no CuPy, no driver, no device: all mean no GPU
        return None


def cuda_is_available():
    """True when CuPy imports and sees at least one GPU (or the fake CUDA device is on)."""
    return gpu_module() is not None


_DEFAULT = [None]  # set_default_device's choice; None: the CPU


def set_default_device(value):
    """The device new tensors go to when a factory is given none (``None`` resets it to the CPU)."""
    _DEFAULT[0] = None if value is None else to_device(value)


def get_default_device():
    return _DEFAULT[0] or CPU


def to_device(value):
    if value is None:
        return _DEFAULT[0] or CPU
    if isinstance(value, device):
        if value.type == "cuda" and value.index is None:  # a bare "cuda" means the current GPU
            gpu = gpu_module()
            return device("cuda", gpu.cuda.runtime.getDevice() if gpu is not None else 0)
        return value
    return to_device(device(value))


def place(data, dev):
    """``data``, an array made with ``dev``'s module, on ``dev`` itself: GPU arrays are made on the
    current GPU, so one meant for another GPU is copied there."""
    if dev.type == "cuda" and data.device.id != dev.index:
        xp = gpu_module()
        with xp.cuda.Device(dev.index):
            return xp.array(data)
    return data


def array_module(dev):
    """The array namespace for a device: NumPy for the CPU, CuPy for CUDA, stand-ins for meta."""
    if dev.type == "cpu":
        return np
    if dev.type == "cuda":
        xp = gpu_module()
        if xp is None:
            raise RuntimeError(
                f"Cannot use device '{dev}': ember's CUDA backend needs CuPy and a visible NVIDIA GPU, "
                "and none was found. Install ember[cuda] on a machine with a GPU, or stay on 'cpu'."
            )
        count = xp.cuda.runtime.getDeviceCount()
        if dev.index >= count:
            raise RuntimeError(f"CUDA error: invalid device ordinal (device '{dev}'; this machine has {count} "
                               f"CUDA device{'s' if count != 1 else ''})")
        return xp
    return meta
