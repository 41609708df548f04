"""Thread-local grad modes: no_grad, enable_grad, set_grad_enabled, inference_mode.

Each is a context manager and a decorator (also of generator functions, whose
every step then runs in the mode); the mode of one thread never leaks to another.
"""
import functools
import inspect
import threading


class _State(threading.local):
    enabled = True
    inference = False


state = _State()


def is_grad_enabled():
    """Whether ops record the graph in this thread: ``ember.is_grad_enabled()``."""
    return state.enabled


def is_inference_mode_enabled():
    return state.inference


class _Mode:
    """A context manager that is also a decorator; subclasses set ``_target``."""

    def __new__(cls, *args):
        if len(args) == 1 and callable(args[0]):  # used bare: @ember.no_grad
            return cls()(args[0])
        return super().__new__(cls)

    def _args(self):
        return ()

    def _target(self):
        raise NotImplementedError

    def __enter__(self):
        self._prev = (state.enabled, state.inference)
        state.enabled, state.inference = self._target()

    def __exit__(self, *exc):
        state.enabled, state.inference = self._prev

    def __call__(self, fn):
        make = functools.partial(type(self), *self._args())
        if inspect.isgeneratorfunction(fn):
            return _wrap_generator(fn, make)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with make():
                return fn(*args, **kwargs)
        return wrapper

    def clone(self):
        return type(self)(*self._args())


def _wrap_generator(fn, make):
    """Run each step of the generator ``fn`` makes inside a fresh mode ``make()``."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        gen = fn(*args, **kwargs)
        try:
            with make():
                value = next(gen)
            while True:
                try:
                    sent = yield value
                except GeneratorExit:
                    with make():
                        gen.close()
                    raise
                except BaseException as e:
                    with make():
                        value = gen.throw(e)
                else:
                    with make():
                        value = gen.send(sent)
        except StopIteration as stop:
            return stop.value
    return wrapper


class no_grad(_Mode):  # noqa: N801 - PyTorch's name
    """Disable gradient recording inside the block (or the decorated function)::

        with ember.no_grad():
            y = x * 2          # y.requires_grad is False
    """

    def _target(self):
        return False, state.inference


class enable_grad(_Mode):  # noqa: N801 - PyTorch's name
    """Turn recording back on inside a ``no_grad`` block: ``with ember.enable_grad(): ...``."""

    def _target(self):
        return True, state.inference


class set_grad_enabled(_Mode):  # noqa: N801 - PyTorch's name
    """Set grad mode; takes effect at once, so it also works as a plain call::

        ember.set_grad_enabled(False)    # or: with ember.set_grad_enabled(is_train): ...
    """

    def __new__(cls, mode):
        return object.__new__(cls)

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


class inference_mode(_Mode):  # noqa: N801 - PyTorch's name
    """Like no_grad (``inference_mode(False)`` turns recording on): ``with ember.inference_mode(): ...``."""

    def __new__(cls, mode=True):
        if callable(mode) and not isinstance(mode, bool):
            return cls()(mode)
        return object.__new__(cls)

    def __init__(self, mode=True):
        self.mode = bool(mode)

    def _args(self):
        return (self.mode,)

    def _target(self):
        return (False, True) if self.mode else (True, False)
