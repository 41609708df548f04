"""GPU memory statistics (CuPy's memory pool; the peaks come from ember's allocator hook)."""
from ember.backend.device import cuda_is_available, gpu_module
from ember.backend.gpu_memory import PEAKS, OutOfMemoryError
from ember.cuda.devices import _index


def _pool():
    return gpu_module().get_default_memory_pool() if cuda_is_available() else None


def _on(dev, read):
    """``read(pool)`` with ``dev`` current; 0 without a GPU."""
    pool = _pool()
    if pool is None:
        return 0
    with gpu_module().cuda.Device(_index(dev)):
        return read(pool)


def memory_allocated(device=None):
    """Bytes of GPU memory that tensors hold now (0 without a GPU)."""
    return _on(device, lambda pool: pool.used_bytes())


def memory_reserved(device=None):
    """Bytes the pool holds from the GPU: tensors' plus cached free blocks."""
    return _on(device, lambda pool: pool.total_bytes())


def max_memory_allocated(device=None):
    """The most bytes tensors held at once since the start or the last ``reset_peak_memory_stats``."""
    if not cuda_is_available():
        return 0
    return max(PEAKS.allocated.get(_index(device), 0), memory_allocated(device))


def max_memory_reserved(device=None):
    if not cuda_is_available():
        return 0
    return max(PEAKS.reserved.get(_index(device), 0), memory_reserved(device))


def reset_peak_memory_stats(device=None):
    if cuda_is_available():
        index = _index(device)
        with PEAKS.lock:
            PEAKS.allocated[index] = memory_allocated(index)
            PEAKS.reserved[index] = memory_reserved(index)


reset_max_memory_allocated = reset_peak_memory_stats


def memory_stats(device=None):
    """The counters above under torch's key names."""
    return {"allocated_bytes.all.current": memory_allocated(device),
            "allocated_bytes.all.peak": max_memory_allocated(device),
            "reserved_bytes.all.current": memory_reserved(device),
            "reserved_bytes.all.peak": max_memory_reserved(device)}


def empty_cache():
    """Give cached free blocks back to the GPU (tensors keep theirs)."""
    pool = _pool()
    if pool is not None:
        pool.free_all_blocks()


def set_per_process_memory_fraction(fraction, device=None):
    """Cap this process's pool at ``fraction`` of the GPU's memory; past it allocations fail with
    ``OutOfMemoryError``."""
    if not isinstance(fraction, float) or not 0 <= fraction <= 1:
        raise ValueError(f"Invalid fraction value: {fraction}. Allowed range: 0~1")
    _on(device, lambda pool: pool.set_limit(fraction=fraction))


def mem_get_info(device=None):
    """(free, total) bytes of the GPU, as the driver reports them."""
    if not cuda_is_available():
        raise RuntimeError("mem_get_info: ember found no CUDA device")
    with gpu_module().cuda.Device(_index(device)):
        return gpu_module().cuda.runtime.memGetInfo()


__all__ = ["OutOfMemoryError", "empty_cache", "max_memory_allocated", "max_memory_reserved",
           "mem_get_info", "memory_allocated", "memory_reserved", "memory_stats", "reset_max_memory_allocated",
           "reset_peak_memory_stats", "set_per_process_memory_fraction"]
