"""The rest of torch.cuda's API that makes sense on CuPy, on the fake CUDA device."""
import sys

import pytest
import torch

import ember


def test_memory_summary_nested_stats_and_old_names(fake_cuda):
    keep = ember.ones(1024, device="cuda")
    nested = ember.cuda.memory_stats_as_nested_dict()
    assert nested["allocated_bytes"]["all"]["current"] == ember.cuda.memory_allocated() >= keep.nbytes
    summary = ember.cuda.memory_summary()
    assert "Allocated memory" in summary and "GPU reserved memory" in summary and "KiB" in summary
    assert ember.cuda.memory_cached() == ember.cuda.memory_reserved()
    assert ember.cuda.max_memory_cached() == ember.cuda.max_memory_reserved()
    ember.cuda.reset_max_memory_cached()
    ember.cuda.reset_accumulated_memory_stats()
    assert ember.cuda.max_memory_allocated() == ember.cuda.memory_allocated()
    assert ember.cuda.device_memory_used() == ember.cuda.memory_allocated()  # the fake's driver counts ember only


def test_memory_fraction_round_trips(fake_cuda):
    assert ember.cuda.get_per_process_memory_fraction() == 1.0
    try:
        ember.cuda.set_per_process_memory_fraction(0.25)
        assert ember.cuda.get_per_process_memory_fraction() == 0.25
    finally:
        fake_cuda.get_default_memory_pool().set_limit(size=0)


def test_caching_allocator_alloc_and_delete(fake_cuda):
    before = ember.cuda.memory_allocated()
    ptr = ember.cuda.caching_allocator_alloc(4096)
    assert isinstance(ptr, int) and ember.cuda.memory_allocated() == before + 4096
    ember.cuda.caching_allocator_delete(ptr)
    assert ember.cuda.memory_allocated() == before
    with pytest.raises(RuntimeError, match="was not allocated"):
        ember.cuda.caching_allocator_delete(ptr)


def test_device_queries(fake_cuda):
    assert ember.cuda.get_arch_list() == ["sm_90"]
    assert ember.cuda.get_gencode_flags() == "-gencode compute=compute_90,code=sm_90"
    assert ember.cuda.can_device_access_peer(0, 1) and not ember.cuda.can_device_access_peer(0, 0)
    assert ember.cuda.is_tf32_supported() and ember.cuda.has_half and not ember.cuda.has_magma
    with pytest.raises(RuntimeError, match="invalid device ordinal"):
        ember.cuda.can_device_access_peer(0, 5)


def test_without_a_gpu_the_queries_answer_like_torch_on_a_cpu_machine(no_cuda):
    assert ember.cuda.get_arch_list() == [] == torch.cuda.get_arch_list()
    assert not ember.cuda.is_tf32_supported()
    assert ember.cuda.default_generators == ()
    assert not ember.cuda.is_current_stream_capturing()


def test_rng_through_cuda_random_and_default_generators(fake_cuda):
    ember.cuda.random.manual_seed(7)
    state = ember.cuda.random.get_rng_state()
    a = ember.rand(3, device="cuda")
    ember.cuda.set_rng_state(state)
    assert ember.equal(a, ember.rand(3, device="cuda"))
    gens = ember.cuda.default_generators
    assert len(gens) == ember.cuda.device_count() == 2 and gens[0].initial_seed() == 7
    ember.cuda.set_rng_state_all(ember.cuda.get_rng_state_all())
    ember.cuda.seed()
    first = ember.cuda.initial_seed()
    ember.cuda.seed()
    assert first != ember.cuda.initial_seed()  # fresh seeds from the OS


def test_streams_external_set_and_capture_state(fake_cuda):
    s = ember.cuda.ExternalStream(0x1234)
    assert s.cuda_stream == 0x1234
    ember.cuda.set_stream(s)
    try:
        assert ember.cuda.current_stream().cuda_stream == 0x1234
    finally:
        ember.cuda.set_stream(ember.cuda.default_stream())
    with ember.cuda.StreamContext(ember.cuda.Stream()) as inner:
        assert ember.cuda.current_stream() == inner
    assert not ember.cuda.is_current_stream_capturing()
    ember.cuda.set_sync_debug_mode("warn")
    assert ember.cuda.get_sync_debug_mode() == 1
    ember.cuda.set_sync_debug_mode(0)
    with pytest.raises(RuntimeError, match="invalid value of debug_mode"):
        ember.cuda.set_sync_debug_mode("loud")


def test_events_time_and_query(fake_cuda):
    start, end = ember.cuda.Event(enable_timing=True), ember.cuda.Event(enable_timing=True)
    start.record()
    ember.ones(10, device="cuda").sum()
    end.record()
    end.synchronize()
    assert start.query() and end.elapsed_time(end) == 0.0 and start.elapsed_time(end) >= 0.0
    s = ember.cuda.Stream()
    s.wait_stream(ember.cuda.current_stream())
    assert s.query()


def test_nvtx_ranges_reach_cupys_nvtx(fake_cuda):
    events = fake_cuda.cuda.nvtx.events
    events.clear()
    assert ember.cuda.nvtx.range_push("outer") == 0
    with ember.cuda.nvtx.range("step {}", 3):
        ember.cuda.nvtx.mark("here")
    assert ember.cuda.nvtx.range_pop() == 0 and ember.cuda.nvtx.range_pop() == -1
    assert events == [("push", "outer"), ("push", "step 3"), ("mark", "here"), ("pop", None), ("pop", None)]


def test_nvml_readings_need_pynvml(fake_cuda, monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # as where it is not installed
    with pytest.raises(ModuleNotFoundError, match="pynvml"):
        ember.cuda.utilization()
    for fn in (ember.cuda.temperature, ember.cuda.power_draw, ember.cuda.clock_rate, ember.cuda.memory_usage):
        with pytest.raises(ModuleNotFoundError):
            fn()
    assert ember.cuda.list_gpu_processes() == "pynvml module not found, please install pynvml"


def test_nvml_readings_through_a_stub(fake_cuda, monkeypatch):
    class Nvml:
        @staticmethod
        def nvmlInit():
            pass

        @staticmethod
        def nvmlDeviceGetHandleByIndex(i):
            return i

        @staticmethod
        def nvmlDeviceGetUtilizationRates(h):
            return type("U", (), {"gpu": 37, "memory": 12})

        @staticmethod
        def nvmlDeviceGetComputeRunningProcesses(h):
            return [type("P", (), {"pid": 42, "usedGpuMemory": 2**21})]

    monkeypatch.setitem(sys.modules, "pynvml", Nvml)
    assert ember.cuda.utilization(1) == 37 and ember.cuda.memory_usage() == 12
    assert ember.cuda.list_gpu_processes() == "GPU:0\nprocess         42 uses        2.000 MB GPU memory"


def test_ipc_collect_is_harmless(fake_cuda):
    assert ember.cuda.ipc_collect() is None
