"""``ember.cuda``: what PyTorch programs ask about GPUs, and the helpers they call either way.

Without a GPU the seeding and memory helpers do nothing, as torch's do, so a CPU-only program with a
``set_seed`` that also calls ``torch.cuda.manual_seed_all`` runs unchanged. ember draws random numbers on
the host for every device, so ``ember.manual_seed`` alone decides them; the CUDA seeds have nothing to seed.

>>> ember.cuda.is_available()
False
>>> ember.cuda.manual_seed_all(0)
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


def is_initialized():
    return cuda_is_available()


def manual_seed(seed):
    """Nothing to do: ``ember.manual_seed`` seeds every device's draws."""


def manual_seed_all(seed):
    """Nothing to do: ``ember.manual_seed`` seeds every device's draws."""


def seed():
    """Nothing to do (torch: seed the current GPU randomly)."""


def seed_all():
    """Nothing to do (torch: seed every GPU randomly)."""


def synchronize(device=None):
    """Wait for the GPU's queued work; without a GPU there is none."""
    if cuda_is_available():
        import cupy
        cupy.cuda.Device(0 if device is None else getattr(device, "index", device) or 0).synchronize()


def empty_cache():
    """Give cached GPU memory back; without a GPU there is none."""
    if cuda_is_available():
        import cupy
        cupy.get_default_memory_pool().free_all_blocks()


def memory_allocated(device=None):
    """Bytes of GPU memory held by tensors (0 without a GPU)."""
    if not cuda_is_available():
        return 0
    import cupy
    return cupy.get_default_memory_pool().used_bytes()

