"""Devices and the array module (``xp``) that serves each one."""
import numpy as np

from ember.backend import meta


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


def cuda_is_available():
    """True when CuPy imports and sees at least one GPU."""
    try:
        import cupy
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


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
        # a bare "cuda" means the current GPU, which is 0 until a CUDA backend exists
        return device("cuda", 0) if value.type == "cuda" and value.index is None else value
    return to_device(device(value))


def array_module(dev):
    """The array namespace for a device: NumPy for the CPU, CuPy for CUDA, stand-ins for meta."""
    if dev.type == "cpu":
        return np
    if dev.type == "cuda":
        if not cuda_is_available():
            raise RuntimeError(
                f"Cannot use device '{dev}': ember's CUDA backend needs CuPy and a visible NVIDIA GPU, "
                "and none was found. Install ember[cuda] on a machine with a GPU, or stay on 'cpu'."
            )
        import cupy
        return cupy
    return meta
