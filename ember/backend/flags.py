"""Process-wide switches PyTorch programs set: deterministic algorithms, float32 matmul precision,
warn-always, inter-op threads. ember's kernels are deterministic and its float32 matmuls on the CPU
are plain float32, so the switches record what was asked and answer truthfully; the matmul precision
also sets CuPy's compute type once a GPU is in use."""
_STATE = {"deterministic": False, "warn_only": False, "matmul_precision": "highest", "warn_always": False,
          "interop_threads": 1}
_DEBUG_MODES = {"default": 0, "warn": 1, "error": 2}


def use_deterministic_algorithms(mode, *, warn_only=False):
    """Ask for deterministic algorithms (every ember kernel already is)."""
    if not isinstance(mode, bool):
        raise TypeError(f"use_deterministic_algorithms expects a bool, but got {type(mode).__name__}")
    _STATE["deterministic"], _STATE["warn_only"] = mode, bool(warn_only)


def are_deterministic_algorithms_enabled():
    return _STATE["deterministic"]


def is_deterministic_algorithms_warn_only_enabled():
    return _STATE["warn_only"]


def set_deterministic_debug_mode(debug_mode):
    """0/'default' (off), 1/'warn', 2/'error': the same switch as ``use_deterministic_algorithms``."""
    if isinstance(debug_mode, str):
        if debug_mode not in _DEBUG_MODES:
            raise RuntimeError(f"invalid value of debug_mode, expected one of `default`, `warn`, `error`, but got "
                               f"{debug_mode}")
        debug_mode = _DEBUG_MODES[debug_mode]
    if debug_mode not in (0, 1, 2):
        raise RuntimeError(f"invalid value of debug_mode, expected 0, 1, or 2, but got {debug_mode}")
    use_deterministic_algorithms(debug_mode != 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode():
    if not _STATE["deterministic"]:
        return 0
    return 1 if _STATE["warn_only"] else 2


def set_float32_matmul_precision(precision):
    """'highest', 'high' or 'medium'. On CPUs ember's float32 matmuls stay in full float32; on GPUs
    'high' and 'medium' allow TF32 (``ember.backend.gpu_precision``)."""
    if precision not in ("highest", "high", "medium"):
        raise RuntimeError(f"Invalid precision: {precision}; expected 'highest', 'high' or 'medium'")
    _STATE["matmul_precision"] = precision
    for hook in _PRECISION_HOOKS.values():
        hook(precision)


_PRECISION_HOOKS = {}  # name -> hook(precision): the GPU module's, once it is loaded


def on_matmul_precision(name, hook):
    """Call ``hook(precision)`` now and whenever the float32 matmul precision changes (replacing the
    hook registered under ``name`` before)."""
    _PRECISION_HOOKS[name] = hook
    hook(_STATE["matmul_precision"])


def get_float32_matmul_precision():
    return _STATE["matmul_precision"]


def set_warn_always(b):
    """Recorded: ember's warnings follow Python's ``warnings`` filters."""
    _STATE["warn_always"] = bool(b)


def is_warn_always_enabled():
    return _STATE["warn_always"]


def set_num_interop_threads(n):
    if n < 1:
        raise RuntimeError("Expected positive number of threads")
    _STATE["interop_threads"] = int(n)


def get_num_interop_threads():
    return _STATE["interop_threads"]
