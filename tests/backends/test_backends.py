"""ember.backends: flags recorded and restored like torch.backends', availability answered truthfully."""
import importlib.util

import pytest
import torch
import torch.backends

import ember
import ember.backends
import ember.backends.cudnn as cudnn
from ember.backends import cpu, cuda, mkldnn, mps, nnpack, openmp, opt_einsum, quantized


def test_every_torch_backends_namespace_exists():
    for name in ["cpu", "cuda", "cudnn", "cusparselt", "kleidiai", "mha", "miopen", "mkl", "mkldnn", "mps", "nnpack",
                 "openmp", "opt_einsum", "python_native", "quantized"]:
        assert hasattr(torch.backends, name) and hasattr(ember.backends, name)


def test_absent_libraries_say_so():
    assert cudnn.is_available() is False and cudnn.version() is None
    assert mkldnn.is_available() is False and openmp.is_available() is False
    assert mps.is_available() is False and mps.is_built() is False and nnpack.is_available() is False
    assert cuda.is_built() is (importlib.util.find_spec("cupy") is not None)
    assert opt_einsum.is_available() is (importlib.util.find_spec("opt_einsum") is not None)


def test_cpu_capability_matches_torch_on_this_machine():
    assert cpu.get_cpu_capability() == torch.backends.cpu.get_cpu_capability()


def _cudnn_flags(lib):
    c = lib.backends.cudnn
    return c.enabled, c.benchmark, c.deterministic, c.allow_tf32, c.benchmark_limit


def test_cudnn_defaults_and_flags_context_restore_like_torch():
    assert _cudnn_flags(ember) == _cudnn_flags(torch)
    seen = []
    for lib in (ember, torch):
        with lib.backends.cudnn.flags(enabled=False, benchmark=True, deterministic=True):
            seen.append(_cudnn_flags(lib))
        seen.append(_cudnn_flags(lib))
    assert seen[0] == seen[2] and seen[1] == seen[3]
    assert seen[0][:3] == (False, True, True) and seen[1][0] is True


def test_cudnn_deterministic_is_its_own_switch_as_in_torch():
    for lib in (ember, torch):
        old = lib.backends.cudnn.deterministic
        try:
            lib.backends.cudnn.deterministic = True
            assert lib.backends.cudnn.deterministic is True
            assert lib.are_deterministic_algorithms_enabled() is False
        finally:
            lib.backends.cudnn.deterministic = old


def test_set_flags_returns_previous_values():
    old = cudnn.set_flags(_benchmark=True)
    try:
        assert cudnn.benchmark is True and old[1] is False
    finally:
        cudnn.set_flags(*old)
    assert cudnn.benchmark is False


@pytest.mark.parametrize("steps", [
    [("tf32", True)], [("tf32", True), ("precision", "highest")], [("precision", "medium")],
])
def test_matmul_allow_tf32_is_a_face_of_float32_matmul_precision_like_torch(steps):
    readings = []
    for lib in (ember, torch):
        try:
            got = []
            for kind, value in steps:
                if kind == "tf32":
                    lib.backends.cuda.matmul.allow_tf32 = value
                else:
                    lib.set_float32_matmul_precision(value)
                got.append((lib.backends.cuda.matmul.allow_tf32, lib.get_float32_matmul_precision()))
            readings.append(got)
        finally:
            lib.set_float32_matmul_precision("highest")
    assert readings[0] == readings[1]


def test_matmul_reduced_precision_flags_recorded_and_unknown_attribute_raises():
    assert cuda.matmul.allow_bf16_reduced_precision_reduction is True
    cuda.matmul.allow_fp16_reduced_precision_reduction = False
    try:
        assert cuda.matmul.allow_fp16_reduced_precision_reduction is False
    finally:
        cuda.matmul.allow_fp16_reduced_precision_reduction = True
    with pytest.raises(AttributeError, match="Unknown attribute foo"):
        cuda.matmul.foo  # noqa: B018


def test_opt_einsum_strategy_needs_the_package():
    if opt_einsum.is_available():
        pytest.skip("opt_einsum is installed here; the check is for its absence")
    assert opt_einsum.enabled is False and opt_einsum.strategy is None
    with pytest.raises(ValueError, match="opt_einsum is not available"):
        opt_einsum.strategy = "greedy"


def test_mkldnn_and_nnpack_flags_restore():
    with mkldnn.flags(enabled=False):
        assert mkldnn.enabled is False
    assert mkldnn.enabled is True
    with nnpack.flags(enabled=False):
        assert nnpack.enabled is False
    assert nnpack.enabled is True


def test_quantized_engine_has_only_none():
    assert quantized.engine == "none" and quantized.supported_engines == ["none"]
    quantized.engine = "none"
    with pytest.raises(RuntimeError, match="quantized engine fbgemm is not supported"):
        quantized.engine = "fbgemm"


def test_mha_fastpath_and_python_native_switches():
    from ember.backends import mha, python_native
    mha.set_fastpath_enabled(False)
    try:
        assert mha.get_fastpath_enabled() is False
    finally:
        mha.set_fastpath_enabled(True)
    with python_native.operations_disabled("scaled_mm"):
        assert python_native.is_operation_disabled("scaled_mm")
    assert not python_native.is_operation_disabled("scaled_mm")
    assert python_native.available_dsls == []
