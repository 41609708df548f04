"""Thread-local grad modes: no_grad, enable_grad, set_grad_enabled, inference_mode."""
import functools
import threading


class _State(threading.local):
    enabled = True
    inference = False


state = _State()


def is_grad_enabled():
    return state.enabled


def is_inference_mode_enabled():
    return state.inference


class _Mode:
    """A context manager that is also a decorator."""

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__(*self._args()):
                return fn(*args, **kwargs)
        return wrapper

    def _args(self):
        return ()

    def __exit__(self, *exc):
        state.enabled, state.inference = self._prev


class no_grad(_Mode):  # noqa: N801 - PyTorch\'s name
    """Disable gradient recording inside the block::

        with ember.no_grad():
            y = x * 2          # y.requires_grad is False
    """

    def __enter__(self):
        self._prev = (state.enabled, state.inference)
        state.enabled = False


class enable_grad(_Mode):  # noqa: N801 - PyTorch\'s name
    def __enter__(self):
        self._prev = (state.enabled, state.inference)
        state.enabled = True


class set_grad_enabled(_Mode):  # noqa: N801 - PyTorch\'s name
    """Set grad mode; takes effect at once, so it also works as a plain function call."""

    def __init__(self, mode):
        self.mode = bool(mode)
        self._prev = (state.enabled, state.inference)
        state.enabled = self.mode

    def _args(self):
        return (self.mode,)

    def __call__(self, fn):
        state.enabled, state.inference = self._prev
        return super().__call__(fn)

    def __enter__(self):
        pass


class inference_mode(_Mode):  # noqa: N801 - PyTorch\'s name
    """Like no_grad; tensors made inside are marked as inference tensors."""

    def __init__(self, mode=True):
        self.mode = mode

    def _args(self):
        return (self.mode,)

    def __enter__(self):
        self._prev = (state.enabled, state.inference)
        if self.mode:
            state.enabled, state.inference = False, True
