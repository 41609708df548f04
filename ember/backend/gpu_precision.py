"""float32 matmul precision on CuPy: ``ember.set_float32_matmul_precision`` and
``ember.backends.cuda.matmul.allow_tf32`` become the cuBLAS compute type CuPy uses for float32
(and complex64) products.

CuPy keeps one process-wide compute type per float dtype (``cupy._core._routines_linalg``, read on
each matmul; ``CUPY_TF32=1`` only sets its first value). As in PyTorch on CUDA, "high" and "medium"
both allow TF32 tensor cores and "highest" keeps full float32. TF32 needs compute capability 8.0
(Ampere) or newer; on older GPUs the setting is recorded and products stay in float32, as torch's do.
"""
import numpy as np

_COMPUTE_TYPE = {"highest": "COMPUTE_TYPE_DEFAULT", "high": "COMPUTE_TYPE_TF32", "medium": "COMPUTE_TYPE_TF32"}


def apply(gpu, precision):
    """Give CuPy's float32 matmuls the compute type of ``precision`` ('highest', 'high', 'medium')."""
    linalg = gpu._core._routines_linalg
    name = _COMPUTE_TYPE[precision]
    if name != "COMPUTE_TYPE_DEFAULT" and not _has_tensor_float32(gpu):
        name = "COMPUTE_TYPE_DEFAULT"
    linalg.set_compute_type(np.float32, getattr(linalg, name))


def compute_type(gpu):
    """The name of the compute type CuPy's float32 matmuls use now (for tests and diagnostics)."""
    linalg = gpu._core._routines_linalg
    return linalg.compute_type_to_str(linalg.get_compute_type(np.float32))


def _has_tensor_float32(gpu):
    runtime = gpu.cuda.runtime
    return runtime.getDeviceProperties(runtime.getDevice())["major"] >= 8
