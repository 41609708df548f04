"""What the profiler records while it runs: one event per op (from a dispatcher interceptor), per
``record_function`` range and per module call, with times from ``perf_counter_ns``.

Ops are named after the node PyTorch records for them, in snake case (``mm``, ``addmm``,
``convolution``, ``native_layer_norm``, ``to_copy``), or the primitive's name where PyTorch records
none; there is no ``aten::`` prefix. Nothing here costs anything while no profiler runs:
the interceptor is only installed by a running profiler, and ``record_function`` and
``Module.__call__`` check ``active`` once.
"""
import functools
import re
import threading
import traceback
from time import perf_counter_ns

from ember._tensor import Tensor
from ember.ops import dispatch

active = False  # a profiler is recording: record_function and Module.__call__ read this
_recorder = None
_names = {}
_CAMEL = re.compile(r"(?<=[a-zA-Z0-9])(?=[A-Z][a-z])|(?<=[a-z])(?=[A-Z])")
_BACKWARD = re.compile(r"Backward\d*$")


class Event:
    """One recorded range: ``name``, ``kind`` (``cpu_op``, ``user_annotation``, ``python_function``),
    start and end in ns, thread, input shapes, bytes its outputs allocated, and its Python stack."""

    __slots__ = ("name", "kind", "start_ns", "end_ns", "thread", "input_shapes", "memory", "stack", "flops")

    def __init__(self, name, kind, start_ns, end_ns, thread, input_shapes=(), memory=0, stack=(), flops=0):
        self.name, self.kind, self.start_ns, self.end_ns, self.thread = name, kind, start_ns, end_ns, thread
        self.input_shapes, self.memory, self.stack, self.flops = input_shapes, memory, stack, flops


def op_name(prim):
    """PyTorch's name for what ``prim`` (a record or a variant) computes: its node's name in snake case."""
    name = _names.get(prim.node_name if prim.node_name else prim.name)
    if name is None:
        node = prim.node_name
        name = _CAMEL.sub("_", _BACKWARD.sub("", node)).lower() if node else prim.name
        _names[prim.node_name if prim.node_name else prim.name] = name
    return name


class Recorder:
    def __init__(self, record_shapes, profile_memory, with_stack, with_flops):
        self.record_shapes, self.profile_memory = record_shapes, profile_memory
        self.with_stack, self.with_flops = with_stack, with_flops
        self.events = []

    def wrap(self, next_run):
        def run(prim, inputs, arrays, dev, params):
            start = perf_counter_ns()
            out = next_run(prim, inputs, arrays, dev, params)
            end = perf_counter_ns()
            self.op(prim, inputs, out, start, end)
            return out
        return run

    def op(self, prim, inputs, out, start, end):
        shapes = [list(x._data.shape) if isinstance(x, Tensor) else [] for x in inputs] if self.record_shapes else ()
        memory = 0
        if self.profile_memory:
            for o in out if type(out) is tuple else (out,):
                if isinstance(o, Tensor) and o._base is None:
                    memory += o._data.nbytes
        flops = _flops(prim, inputs) if self.with_flops else 0
        self.events.append(Event(op_name(prim), "cpu_op", start, end, threading.get_ident(), shapes, memory,
                                 _stack() if self.with_stack else (), flops))

    def span(self, name, kind, start, end):
        self.events.append(Event(name, kind, start, end, threading.get_ident(),
                                 stack=_stack() if self.with_stack else ()))


def _stack():
    """The caller's Python frames outside ember, innermost first, as ``file(line): function``."""
    frames = traceback.extract_stack()[:-3]
    return tuple(f"{f.filename}({f.lineno}): {f.name}" for f in reversed(frames) if "/ember/" not in f.filename)


def _flops(prim, inputs):
    """Multiply-adds x 2 of the matrix products (what PyTorch counts: mm, bmm, addmm, linear)."""
    if prim.name not in ("matmul", "linear", "addmm", "addbmm"):
        return 0
    shapes = [x._data.shape for x in inputs if isinstance(x, Tensor)]
    if prim.name == "linear":
        a, w = shapes[0], shapes[1]
        return 2 * _prod(a) * w[0]
    a, b = shapes[-2], shapes[-1]
    if len(a) < 2 or len(b) < 1:
        return 2 * _prod(a)
    return 2 * _prod(a) * b[-1]


def _prod(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def start(recorder):
    global active, _recorder
    if _recorder is not None:
        raise RuntimeError("Profiler is already enabled on this thread: one profiler records at a time")
    _recorder, active = recorder, True
    dispatch.intercept("profiler", recorder.wrap)


def stop():
    global active, _recorder
    dispatch.intercept("profiler", None)
    _recorder, active = None, False


def current():
    return _recorder


class record_function:
    """Mark a range of code with a name in the profile; a context manager and a decorator.

    >>> with record_function("loss"):            # doctest: +SKIP
    ...     loss = criterion(model(x), y)
    """

    def __init__(self, name, args=None):
        self.name, self.args = name, args
        self._start = None

    def __enter__(self):
        if active:
            self._start = perf_counter_ns()
        return self

    def __exit__(self, *exc):
        if self._start is not None and _recorder is not None:
            _recorder.span(self.name, "user_annotation", self._start, perf_counter_ns())
        self._start = None
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with record_function(self.name, self.args):
                return fn(*args, **kwargs)
        return wrapper


def module_span(module, call, args, kwargs):
    """Run ``call(*args, **kwargs)`` as the range ``nn.Module: <ClassName>`` (Module.__call__ while profiling)."""
    start_ns = perf_counter_ns()
    try:
        return call(*args, **kwargs)
    finally:
        if _recorder is not None:
            _recorder.span(f"nn.Module: {type(module).__name__}", "python_function", start_ns, perf_counter_ns())
