"""``ember.cuda``: what PyTorch programs ask about GPUs before using one.

>>> ember.cuda.is_available()
False
"""
from ember.backend import cuda_is_available


def is_available():
    """True when CuPy imports and sees a GPU."""
    return cuda_is_available()


def device_count():
    if not cuda_is_available():
        return 0
    import cupy
    return cupy.cuda.runtime.getDeviceCount()
