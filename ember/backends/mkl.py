"""Intel MKL: available when NumPy's BLAS (the library ember's matmuls run on) is MKL."""
import numpy as np

VERBOSE_OFF = 0
VERBOSE_ON = 1


def is_available():
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]["name"]
    except (TypeError, KeyError):  # older NumPy prints its config instead of returning it
        return False
    return "mkl" in str(blas).lower()


class verbose:
    """``with ember.backends.mkl.verbose(level):``: MKL's verbose log (a no-op without MKL, as in PyTorch)."""

    def __init__(self, enable):
        self.enable = enable

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
