"""Anomaly detection: remember where each node was created, and name the forward
op whose backward produced NaN."""
import threading
import traceback


class _State(threading.local):
    enabled = False


state = _State()


def is_anomaly_enabled():
    return state.enabled


def set_detect_anomaly(mode):
    state.enabled = bool(mode)


class detect_anomaly:  # noqa: N801 - PyTorch\'s name
    """Context manager: record forward stack traces and check backward for NaN::

        with ember.autograd.detect_anomaly():
            loss.backward()   # RuntimeError naming the op that produced NaN
    """

    def __init__(self, check_nan=True):
        self.mode = check_nan

    def __enter__(self):
        self.prev = state.enabled
        state.enabled = self.mode

    def __exit__(self, *exc):
        state.enabled = self.prev

    def __call__(self, fn):
        def wrapper(*args, **kwargs):
            with self.__class__(self.mode):
                return fn(*args, **kwargs)
        return wrapper


def record(node):
    node._trace = "".join(traceback.format_stack()[:-3])


def check_nan(node, grads):
    for i, g in enumerate(grads):
        if g is not None and g.is_floating_point() and bool(g.isnan().any()):
            raise RuntimeError(
                f"Function '{node.name()}' returned nan values in its {i}th output.\n"
                f"The forward call that created it was:\n{node._trace}"
            )
