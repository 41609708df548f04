"""CPU capability: the widest vector instruction set NumPy's kernels dispatch to on this machine."""

try:
    from numpy._core._multiarray_umath import __cpu_features__ as _features
except ImportError:  # NumPy < 2 keeps it under numpy.core
    from numpy.core._multiarray_umath import __cpu_features__ as _features


def get_cpu_capability():
    """``"AVX512"``, ``"AVX2"``, ``"SVE"`` or ``"DEFAULT"``, named as PyTorch names its CPU kernel levels."""
    if _features.get("AVX512F") and _features.get("AVX512BW") and _features.get("AVX512VL"):
        return "AVX512"
    if _features.get("AVX2"):
        return "AVX2"
    if _features.get("SVE"):
        return "SVE"
    return "DEFAULT"
