"""CUDA library switches. ember's CUDA backend is CuPy: ``is_built()`` says whether CuPy is installed.
``matmul.allow_tf32`` is another face of ``ember.set_float32_matmul_precision`` (True exactly when the
precision is not "highest"), as in PyTorch; the reduced-precision-reduction flags are recorded."""
from ember.backend import flags as _global_flags
from ember.backends._flags import package_found


def is_built():
    return package_found("cupy")


class _Matmul:
    """``ember.backends.cuda.matmul``: cuBLAS switches."""

    __slots__ = ("allow_bf16_reduced_precision_reduction", "allow_fp16_reduced_precision_reduction",
                 "allow_fp16_accumulation")

    def __init__(self):
        self.allow_bf16_reduced_precision_reduction = True
        self.allow_fp16_reduced_precision_reduction = True
        self.allow_fp16_accumulation = False

    @property
    def allow_tf32(self):
        return _global_flags.get_float32_matmul_precision() != "highest"

    @allow_tf32.setter
    def allow_tf32(self, value):
        _global_flags.set_float32_matmul_precision("high" if value else "highest")

    def __getattr__(self, name):
        raise AttributeError(f"Unknown attribute {name}")


matmul = _Matmul()

_SDP = {"flash": True, "mem_efficient": True, "math": True, "cudnn": True}


def flash_sdp_enabled():
    return _SDP["flash"]


def enable_flash_sdp(enabled):
    _SDP["flash"] = bool(enabled)


def mem_efficient_sdp_enabled():
    return _SDP["mem_efficient"]


def enable_mem_efficient_sdp(enabled):
    _SDP["mem_efficient"] = bool(enabled)


def math_sdp_enabled():
    return _SDP["math"]


def enable_math_sdp(enabled):
    _SDP["math"] = bool(enabled)


def cudnn_sdp_enabled():
    return _SDP["cudnn"]


def enable_cudnn_sdp(enabled):
    _SDP["cudnn"] = bool(enabled)


def is_flash_attention_available():
    return False
