"""OpenMP: ember is not built with OpenMP (its parallel CPU kernels are numba ``prange`` loops, which
use whichever threading layer numba picks), so ``is_available()`` is False."""


def is_available():
    return False
