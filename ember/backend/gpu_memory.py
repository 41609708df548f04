"""GPU memory accounting: CuPy's memory pool, with an allocator hook that keeps the peaks torch
reports (``max_memory_allocated``/``max_memory_reserved``), and torch's out-of-memory error."""
import threading


class OutOfMemoryError(RuntimeError):
    """The GPU could not give the memory an operation asked for (torch's ``OutOfMemoryError``)."""


class _Peaks:
    def __init__(self):
        self.allocated = {}
        self.reserved = {}
        self.lock = threading.Lock()


PEAKS = _Peaks()


def install(xp):
    """Route CuPy's allocations through the pool and note the peaks after each one."""
    pool = xp.get_default_memory_pool()

    def malloc(size):
        block = pool.malloc(size)
        dev = xp.cuda.runtime.getDevice()
        with PEAKS.lock:
            used, total = pool.used_bytes(), pool.total_bytes()
            PEAKS.allocated[dev] = max(PEAKS.allocated.get(dev, 0), used)
            PEAKS.reserved[dev] = max(PEAKS.reserved.get(dev, 0), total)
        return block

    xp.cuda.set_allocator(malloc)


def out_of_memory(error, device_index, pool):
    """torch's message for a failed GPU allocation, from CuPy's ``OutOfMemoryError``."""
    return OutOfMemoryError(
        f"CUDA out of memory. {error} (GPU {device_index}; {pool.used_bytes() / 2**20:.2f} MiB allocated by "
        f"tensors, {pool.total_bytes() / 2**20:.2f} MiB reserved in total by ember). Free tensors you no longer "
        "need, lower the batch size, or call ember.cuda.empty_cache() to return cached blocks.")
