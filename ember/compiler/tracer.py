"""Capturing a function for ``ember.compile``: ``ember.export``'s capture, with graph breaks.

``ember.export.program.capture`` records the ops a run of the function dispatches. For
compiling, a few of its rules change (the function's first statement turns the capture's
observer into a :class:`CompileCapture`):

- anything the graph can't follow (a tensor's value read in Python, a tensor printed, an
  in-place write into an input, random numbers drawn outside ops, grad mode turned on inside
  a no-grad call) is a **graph break**: :class:`GraphBreak`, naming the source line;
- a tensor the graph didn't compute (a global, a closure's tensor, a module's weight) is read
  **live** at call time, never snapshotted, so an update between calls is seen;
- an in-place write into such a tensor (BatchNorm's running statistics) is kept: the new value
  is an extra output of the graph, copied into the tensor after each run;
- ops run inside ``no_grad`` within a grad-mode call have their results detached.
"""
import contextlib
import os
import sys

from ember import _tensor
from ember._tensor import Tensor
from ember.autograd import grad_mode
from ember.export.capture import _CORE, Capture, _in_argument_check, describe_read, source_line
from ember.export.op_names import VALUE_DEPENDENT_SHAPES
from ember.export.program import capture
from ember.ops import dispatch
from ember.random import get_rng_state, set_rng_state


_HERE = os.path.dirname(os.path.abspath(__file__))


def user_frame(depth):
    """The first frame outside ember's core layers and this package (the user's line)."""
    f = sys._getframe(depth)
    while f is not None and os.path.abspath(f.f_code.co_filename).startswith(_CORE + (_HERE,)):
        f = f.f_back
    return f


class GraphBreak(Exception):  # noqa: N818 - a signal, not an error
    """The function did something a graph can't hold; ``where`` is its ``file:line``. ``resumable``: the
    graph can stop there and go on after it (a value read in Python, a function run eagerly), so the
    function can run as compiled segments (``segments.py``)."""

    def __init__(self, reason, where, resumable=False):
        super().__init__(f"{where}: {reason}")
        self.reason, self.where, self.resumable = reason, where, resumable


class Session:
    """One capture's findings: breaks (kept, rather than raised, when ``explain``), live tensors, writes."""

    def __init__(self, grad_enabled, explain=False):
        self.grad_enabled, self.explain = grad_enabled, explain
        self.breaks = []        # (reason, file:line, number of graph nodes before the break)
        self.written = {}       # live state key -> the tensor the program writes in place
        self.reads_allowed = 0  # inside assume_constant_result

    def graph_break(self, cap, reason, frame, resumable=False):
        where = source_line(frame)
        if not self.explain:
            raise GraphBreak(reason, where, resumable)
        if not self.breaks or self.breaks[-1][:2] != (reason, where):
            self.breaks.append((reason, where, len(cap.graph.nodes)))


class CompileCapture(Capture):
    """The capture observer with ``ember.compile``'s rules (module docstring)."""

    session = None
    _writing_live = False

    def run(self, prim, inputs, arrays, dev, params):
        enabled = grad_mode.is_grad_enabled()
        if enabled and not self.session.grad_enabled:
            self.session.graph_break(self, "grad mode is turned on inside a function called without it",
                                     user_frame(2))
        out = super().run(prim, inputs, arrays, dev, params)
        if prim.name in VALUE_DEPENDENT_SHAPES:
            self.session.graph_break(self, f"data-dependent output shape: ops.{prim.name}", user_frame(2), True)
        if self.session.grad_enabled and not enabled:  # an op under no_grad inside the function
            for o in out if type(out) is tuple else (out,):
                self._record_detach(o, self._bound[id(o)][0])
        return out

    def ref(self, t):
        if id(t) not in self._bound and id(t) not in self._named and self._alias(t) is None:
            self._named[id(t)] = f"_live{len(self._named)}"
        return super().ref(t)

    def wrote(self, dst, src):
        target = dst if dst._base is None else dst._base
        key = self._named.get(id(target))
        live = key is not None and id(target) not in self._inputs and not target._requires_grad
        self._writing_live = live
        try:
            super().wrote(dst, src)
        finally:
            self._writing_live = False
        if live:
            self.session.written[key] = target

    def report(self, message):
        if not self._writing_live:
            self.session.graph_break(self, message, user_frame(2))

    def value_read(self, t):
        if self.session.reads_allowed or (id(t) not in self._bound and id(t) not in self._named
                                          and self._alias(t) is None):
            return  # a tensor the program never used in an op (the random state, read by capture itself)
        what, f = describe_read(sys._getframe(1), "a tensor's value was read in Python")
        if not _in_argument_check(f):
            self.session.graph_break(self, f"data-dependent: {what}", user_frame(2), True)


def _printing_observer(repr_fn):
    def observed(self, *args):
        if _tensor.value_observer is not None:
            _tensor.value_observer(self)
        return repr_fn(self, *args)
    return observed


def capture_for_compile(fn, args, kwargs, module, session):
    """Capture ``fn(*args, **kwargs)`` under ``session``'s rules. Returns ``(graph, state, written)``:
    the graph's output is ``(outputs, [new values of written])``, ``written`` the live tensors to update.
    Raises :class:`GraphBreak` (unless the session explains). The random state is left as it was."""
    def traced(*a, **k):
        cap = dispatch.observer
        cap.__class__, cap.session = CompileCapture, session
        _tensor.value_observer = cap.value_read
        out = fn(*a, **k)
        return out, list(session.written.values())

    rng = get_rng_state()
    saved_repr = Tensor.__repr__, Tensor.__format__
    Tensor.__repr__, Tensor.__format__ = _printing_observer(saved_repr[0]), _printing_observer(saved_repr[1])
    try:
        graph, state, _, _ = capture(traced, args, kwargs, "warn", module, differentiable=session.grad_enabled,
                                     mirror_inputs=True)
    finally:
        Tensor.__repr__, Tensor.__format__ = saved_repr
        set_rng_state(rng)
    return graph, state, list(session.written.values())


def _session():
    cap = dispatch.observer
    return cap.session if isinstance(cap, CompileCapture) else None


def break_here(reason):
    """A graph break at the caller's caller's line (for ``ember.compiler.disable``)."""
    session = _session()
    if session is not None:
        session.graph_break(dispatch.observer, reason, user_frame(3), True)


@contextlib.contextmanager
def allowing_reads():
    """Tensor values read in Python within are taken as constants (``assume_constant_result``)."""
    session = _session()
    if session is not None:
        session.reads_allowed += 1
    try:
        yield
    finally:
        if session is not None:
            session.reads_allowed -= 1
