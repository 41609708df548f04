"""The array namespace per device (NumPy on the CPU), and dtype/device objects."""
from ember.backend.device import CPU, array_module, cuda_is_available, device, to_device
from ember.backend.dtype import (
    PROMOTE, dtype, from_numpy_dtype, get_default_dtype, set_default_dtype, to_dtype,
)
from ember.backend._malloc import keep_freed_memory

keep_freed_memory()

__all__ = [
    "CPU", "PROMOTE", "array_module", "cuda_is_available", "device", "dtype", "from_numpy_dtype",
    "get_default_dtype", "set_default_dtype", "to_device", "to_dtype",
]
