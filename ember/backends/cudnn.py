"""cuDNN switches: ember has no cuDNN (its GPU path is CuPy's cuBLAS and its own kernels), so
``is_available()`` is False and ``version()`` None; the flags are recorded. As in PyTorch,
``deterministic`` is this library's own switch, independent of ``ember.use_deterministic_algorithms``
(every ember kernel is deterministic anyway)."""
import sys

from ember.backends._flags import temporarily

enabled = True
benchmark = False
benchmark_limit = None  # PyTorch reads it from cuDNN: None without one
deterministic = False
allow_tf32 = True


def is_available():
    return False


def version():
    return None


def is_acceptable(tensor):
    """Whether cuDNN would run on ``tensor``: never, there is no cuDNN."""
    return False


def flags(enabled=False, benchmark=False, benchmark_limit=10, deterministic=False, allow_tf32=True):
    """Set the flags for a ``with`` block (PyTorch's defaults: every flag not given is reset too;
    ``benchmark_limit`` stays None, as PyTorch's does without cuDNN)."""
    return temporarily(sys.modules[__name__], dict(enabled=enabled, benchmark=benchmark, deterministic=deterministic,
                                                   allow_tf32=allow_tf32))


def set_flags(_enabled=None, _benchmark=None, _benchmark_limit=None, _deterministic=None, _allow_tf32=None):
    """Set the flags given; returns the previous ``(enabled, benchmark, benchmark_limit, deterministic, allow_tf32)``."""
    module = sys.modules[__name__]
    names = ("enabled", "benchmark", "benchmark_limit", "deterministic", "allow_tf32")
    old = tuple(getattr(module, n) for n in names)
    for n, v in zip(names, (_enabled, _benchmark, _benchmark_limit, _deterministic, _allow_tf32)):
        if v is not None:
            setattr(module, n, v)
    return old
