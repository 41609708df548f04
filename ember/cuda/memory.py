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


def memory_stats_as_nested_dict(device=None):
    """``memory_stats`` as torch nests it: ``stats["allocated_bytes"]["all"]["current"]``."""
    nested = {}
    for key, value in memory_stats(device).items():
        name, pool, metric = key.split(".")
        nested.setdefault(name, {}).setdefault(pool, {})[metric] = value
    return nested


def memory_summary(device=None, abbreviated=False):
    """A printable table of the memory counters of one GPU."""
    stats = memory_stats(device)
    rows = [("Allocated memory", "allocated_bytes"), ("GPU reserved memory", "reserved_bytes")]
    lines = [f"{'ember CUDA memory summary, device ' + str(_index(device) if _pool() else 0):^60}",
             f"{'Metric':<28}{'Cur Usage':>16}{'Peak Usage':>16}"]
    for title, key in rows:
        lines.append(f"{title:<28}{_size(stats[key + '.all.current']):>16}{_size(stats[key + '.all.peak']):>16}")
    return "\n".join(lines) + "\n"


def _size(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024


def reset_accumulated_memory_stats(device=None):
    """ember keeps no accumulated counters besides the peaks: resets those."""
    reset_peak_memory_stats(device)


memory_cached = memory_reserved  # torch's old names
max_memory_cached = max_memory_reserved
reset_max_memory_cached = reset_peak_memory_stats


def get_per_process_memory_fraction(device=None):
    """The cap ``set_per_process_memory_fraction`` set (1.0: none)."""
    limit = _on(device, lambda pool: pool.get_limit())
    if not limit:
        return 1.0
    return limit / mem_get_info(device)[1]


def device_memory_used(device=None):
    """Bytes in use on the GPU, by every process (the driver's count)."""
    free, total = mem_get_info(device)
    return total - free


_ALLOCATIONS = {}  # pointer -> the device array holding it


def caching_allocator_alloc(size, device=None, stream=None):
    """``size`` bytes from ember's GPU memory pool; the address, to be freed by ``caching_allocator_delete``."""
    xp = gpu_module() if cuda_is_available() else None
    if xp is None:
        raise RuntimeError("caching_allocator_alloc: ember found no CUDA device")
    with xp.cuda.Device(_index(device)):
        block = xp.empty(int(size), dtype="uint8")
    _ALLOCATIONS[block.data.ptr] = block
    return block.data.ptr


def caching_allocator_delete(mem_ptr):
    """Give a ``caching_allocator_alloc`` block back to the pool."""
    if _ALLOCATIONS.pop(mem_ptr, None) is None:
        raise RuntimeError(f"caching_allocator_delete: {mem_ptr:#x} was not allocated by caching_allocator_alloc")


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


__all__ = ["OutOfMemoryError", "caching_allocator_alloc", "caching_allocator_delete", "device_memory_used",
           "empty_cache", "get_per_process_memory_fraction", "max_memory_allocated", "max_memory_cached",
           "max_memory_reserved", "mem_get_info", "memory_allocated", "memory_cached", "memory_reserved",
           "memory_stats", "memory_stats_as_nested_dict", "memory_summary", "reset_accumulated_memory_stats",
           "reset_max_memory_allocated", "reset_max_memory_cached", "reset_peak_memory_stats",
           "set_per_process_memory_fraction"]
