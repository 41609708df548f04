"""``ember.cuda``: GPUs, through CuPy.

Without CuPy or a GPU, ``is_available()`` is False, the seeding and memory helpers do nothing (as
torch's do, so a CPU-only program that also calls ``torch.cuda.manual_seed_all`` runs unchanged),
and any request for a CUDA tensor raises one clear error. ``EMBER_FAKE_CUDA=1`` turns on a strict
CPU stand-in for CuPy (``ember.backend.fake_cupy``) that the test suite runs the CUDA paths on.

>>> ember.cuda.is_available()
False
>>> ember.cuda.manual_seed_all(0)
"""
from ember.backend.device import cuda_is_available, device as _device, gpu_module
from ember.backend.dtype import bfloat16 as _bfloat16
from ember.cuda.devices import (
    can_device_access_peer, current_device, device, device_count, device_of, get_arch_list, get_device_capability,
    get_device_name, get_device_properties, get_gencode_flags, has_half, has_magma, init, is_initialized,
    is_tf32_supported, set_device, synchronize,
)
from ember.cuda.memory import (
    OutOfMemoryError, caching_allocator_alloc, caching_allocator_delete, device_memory_used, empty_cache,
    get_per_process_memory_fraction, max_memory_allocated, max_memory_cached, max_memory_reserved, mem_get_info,
    memory_allocated, memory_cached, memory_reserved, memory_stats, memory_stats_as_nested_dict, memory_summary,
    reset_accumulated_memory_stats, reset_max_memory_allocated, reset_max_memory_cached, reset_peak_memory_stats,
    set_per_process_memory_fraction,
)
from ember.cuda.nvml import clock_rate, list_gpu_processes, memory_usage, power_draw, temperature, utilization
from ember.cuda.rng import (
    get_rng_state, get_rng_state_all, initial_seed, manual_seed, manual_seed_all, seed, seed_all, set_rng_state,
    set_rng_state_all,
)
from ember.cuda.streams import (
    Event, ExternalStream, Stream, StreamContext, current_stream, default_stream, get_sync_debug_mode,
    is_current_stream_capturing, set_stream, set_sync_debug_mode, stream,
)
from ember.cuda import graphs, nvtx, random
from ember.cuda.graphs import CUDAGraph, graph
from ember.random import device_generator as _device_generator


def is_available():
    """True when CuPy imports and sees a GPU (or the fake CUDA device is on)."""
    return cuda_is_available()


def is_bf16_supported(including_emulation=True):
    """Whether bfloat16 tensors work on the current GPU. CuPy 14 has the dtype (``ml_dtypes.bfloat16``,
    with NumPy >= 2.1.2) and cuBLAS runs bfloat16 products; GPUs of compute capability 8.0 (Ampere) and
    newer compute it natively, older ones only emulate it (``including_emulation=False`` says no there)."""
    xp = gpu_module()
    if xp is None:
        return False
    try:
        xp.zeros(1, dtype=_bfloat16.np)
    except Exception:  # an older CuPy, or NumPy too old for CuPy's bfloat16
        return False
    return including_emulation or get_device_capability()[0] >= 8


def __getattr__(name):
    """``default_generators``: each GPU's generator, looked up when read (empty without a GPU)."""
    if name == "default_generators":
        return tuple(_device_generator(_device("cuda", i)) for i in range(device_count()))
    raise AttributeError(f"module 'ember.cuda' has no attribute '{name}'")


def ipc_collect():
    """Nothing to collect: ember shares no GPU memory between processes through CUDA IPC."""


__all__ = [
    "CUDAGraph", "Event", "ExternalStream", "OutOfMemoryError", "Stream", "StreamContext", "caching_allocator_alloc",
    "caching_allocator_delete", "can_device_access_peer", "clock_rate", "current_device", "current_stream",
    "default_stream", "device", "device_count", "device_memory_used", "device_of", "empty_cache", "get_arch_list",
    "get_device_capability", "get_device_name", "get_device_properties", "get_gencode_flags",
    "get_per_process_memory_fraction", "get_rng_state", "get_rng_state_all", "get_sync_debug_mode", "gpu_module",
    "graph", "graphs", "has_half", "has_magma", "init", "initial_seed", "ipc_collect", "is_available",
    "is_bf16_supported", "is_current_stream_capturing", "is_initialized", "is_tf32_supported", "list_gpu_processes",
    "manual_seed", "manual_seed_all", "max_memory_allocated", "max_memory_cached", "max_memory_reserved",
    "mem_get_info", "memory_allocated", "memory_cached", "memory_reserved", "memory_stats",
    "memory_stats_as_nested_dict", "memory_summary", "memory_usage", "nvtx", "power_draw", "random",
    "reset_accumulated_memory_stats", "reset_max_memory_allocated", "reset_max_memory_cached",
    "reset_peak_memory_stats", "seed", "seed_all", "set_device", "set_per_process_memory_fraction", "set_rng_state",
    "set_rng_state_all", "set_stream", "set_sync_debug_mode", "stream", "synchronize", "temperature", "utilization",
]
