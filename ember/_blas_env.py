"""Make OpenBLAS's idle threads sleep soon after a GEMM (before NumPy loads it).

After each multi-threaded GEMM, OpenBLAS keeps its worker threads spinning for 2**28
cycles (about 0.1 s) by default, so a NumPy kernel that ember splits over the cores
(``ember.backend.threads``) would share each core with a spinning thread: a split
``ndtr`` right after a GEMM ran in 26 ms instead of 14. 2**18 cycles (about 0.1 ms)
still covers the gaps between the back-to-back small GEMMs of an LSTM step, where a
shorter wait measurably slowed the step (29 -> 31 ms at 2**12).

OpenBLAS reads the variable once, when it is loaded, so this only takes effect when
ember is imported before NumPy, and never overrides a value the user set.
"""
import os
import sys

THREAD_TIMEOUT_EXPONENT = "18"


def shorten_openblas_spin():
    """Set OPENBLAS_THREAD_TIMEOUT if NumPy has not loaded OpenBLAS yet; returns whether it was set."""
    if "numpy" in sys.modules or "OPENBLAS_THREAD_TIMEOUT" in os.environ:
        return False
    os.environ["OPENBLAS_THREAD_TIMEOUT"] = THREAD_TIMEOUT_EXPONENT
    return True
