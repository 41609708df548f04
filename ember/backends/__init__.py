"""``ember.backends``: PyTorch's switches for the libraries behind its kernels (cuDNN, cuBLAS, oneDNN,
MKL, OpenMP, opt_einsum, ...). ember's CPU kernels are NumPy/BLAS and numba, its GPU path is CuPy,
so most of these libraries are absent: each ``is_available()`` answers truthfully, and every flag
is accepted and recorded (``ember.backends.cudnn.benchmark = True`` changes nothing ember computes),
so PyTorch programs that set them run unchanged. ``flags(...)`` context managers restore the
previous values on exit, as PyTorch's do.

    >>> import ember.backends.cudnn
    >>> ember.backends.cudnn.is_available()
    False
"""
from ember.backends import (
    cpu, cuda, cudnn, cusparselt, kleidiai, mha, miopen, mkl, mkldnn, mps, nnpack, openmp, opt_einsum, python_native,
    quantized,
)

__all__ = ["cpu", "cuda", "cudnn", "cusparselt", "kleidiai", "mha", "miopen", "mkl", "mkldnn", "mps", "nnpack",
           "openmp", "opt_einsum", "python_native", "quantized"]
