"""Anomaly detection: remember where each node was created, and name the forward
op whose backward failed or produced NaN."""
import threading
import traceback
import warnings


class _State(threading.local):
    enabled = False
    check_nan = True


state = _State()


def is_anomaly_enabled():
    return state.enabled


def is_anomaly_check_nan_enabled():
    return state.check_nan


def set_detect_anomaly(mode, check_nan=True):
    """Turn anomaly detection on or off for this thread: ``ember.autograd.set_detect_anomaly(True)``."""
    state.enabled, state.check_nan = bool(mode), bool(check_nan)


def set_anomaly_enabled(enabled, check_nan=True):
    """``torch.set_anomaly_enabled``: :func:`set_detect_anomaly` under its top-level name."""
    set_detect_anomaly(enabled, check_nan)


class detect_anomaly:  # noqa: N801 - PyTorch's name
    """Context manager (or decorator): record forward stack traces and check backward for NaN::

        with ember.autograd.detect_anomaly():
            loss.backward()   # RuntimeError naming the op that produced NaN
    """

    def __init__(self, check_nan=True):
        self.check_nan = check_nan
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime and should only be "
                      "enabled for debugging.", stacklevel=2)

    def __enter__(self):
        self.prev = state.enabled, state.check_nan
        state.enabled, state.check_nan = True, self.check_nan

    def __exit__(self, *exc):
        state.enabled, state.check_nan = self.prev

    def __call__(self, fn):
        def wrapper(*args, **kwargs):
            with self:
                return fn(*args, **kwargs)
        return wrapper


def record(node):
    node._trace = "".join(traceback.format_stack()[:-3])


def _where(node):
    return f"Traceback of forward call that caused the error:\n{node._trace}" if node._trace else (
        "No forward pass information available. Enable detect anomaly during forward pass for more information.")


def run_checked(node, backward, grads):
    """Run ``backward(*grads)`` for ``node``; on an error, warn with the forward trace."""
    try:
        return backward(*grads)
    except Exception:
        warnings.warn(f"Error detected in {node.name()}. {_where(node)}", stacklevel=2)
        raise


def check_nan(node, grads):
    if not state.check_nan:
        return
    for i, g in enumerate(grads):
        if g is not None and g.is_floating_point() and bool((g._data != g._data).any()):  # NaN != NaN
            raise RuntimeError(f"Function '{node.name()}' returned nan values in its {i}th output.\n{_where(node)}")
