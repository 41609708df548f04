import pytest

import ember


def test_cuda_queries_agree():
    assert ember.cuda.is_available() == (ember.cuda.device_count() > 0)


@pytest.mark.skipif(ember.cuda.is_available(), reason="this machine has a GPU: the no-GPU error cannot happen")
def test_cuda_without_gpu_is_a_clear_runtime_error():
    with pytest.raises(RuntimeError, match="CuPy and a visible NVIDIA GPU"):
        ember.ones(2).cuda()
    with pytest.raises(RuntimeError, match="cuda"):
        ember.zeros(2, device="cuda")


@pytest.mark.skipif(ember.cuda.is_available(), reason="these are the no-GPU behaviours")
def test_cpu_programs_may_call_the_cuda_helpers():
    import torch
    for name, args in [("manual_seed", (0,)), ("manual_seed_all", (0,)), ("seed", ()), ("seed_all", ()),
                       ("empty_cache", ()), ("memory_allocated", ())]:
        assert getattr(ember.cuda, name)(*args) == getattr(torch.cuda, name)(*args)
    assert ember.cuda.synchronize() is None and ember.cuda.is_initialized() is False


def test_cuda_seed_does_not_disturb_cpu_stream():
    ember.manual_seed(3)
    a = ember.rand(4).tolist()
    ember.manual_seed(3)
    ember.cuda.manual_seed_all(99)
    ember.cuda.manual_seed(5)
    assert ember.rand(4).tolist() == a
