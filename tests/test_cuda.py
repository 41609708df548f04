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
