"""``ember.compiler`` and ``ember.compile``: run a function or module as a captured, compiled graph.

``ember.compile(model)`` (or ``@ember.compile``, ``model.compile()``) captures the ops a call
runs with ``ember.export``'s capture, keyed by guards (``guards.py``), and compiles the graph
with a backend (``backends.py``: "inductor", "eager", or a callable). Python that reads a
tensor's value is a graph break (``tracer.py``): that call runs eagerly, or raises with
``fullgraph=True``. ``explain(fn)(*args)`` reports the graphs and breaks.
"""
import functools

from ember.compiler import config
from ember.compiler.backends import GraphModuleLike, list_backends, lookup_backend, register_backend
from ember.compiler.compiled import (
    STANCES, CompiledFunction, OptimizedModule, RecompileLimitWarning, Unsupported, _stance, is_compiling, reset_all,
)
from ember.compiler.explain import ExplainOutput, explain
from ember.compiler.segments import SegmentedCall
from ember.compiler.tracer import GraphBreak, allowing_reads, break_here
from ember.nn.modules import module as _module
from ember.nn.modules.module import Module
from ember.ops import dispatch

__all__ = ["CompiledFunction", "ExplainOutput", "GraphBreak", "GraphModuleLike", "OptimizedModule",
           "RecompileLimitWarning", "Unsupported", "allow_in_graph", "assume_constant_result", "compile", "config",
           "disable", "explain", "is_compiling", "is_dynamo_compiling", "list_backends", "lookup_backend",
           "register_backend", "reset", "set_stance"]


def compile(model=None, *, fullgraph=False, dynamic=None, backend="inductor", mode=None, options=None,  # noqa: A001
            disable=False):
    """Compile a function or module; usable as ``ember.compile(fn)``, ``@ember.compile`` and
    ``@ember.compile(fullgraph=True)``.

    - ``fullgraph``: a graph break raises :class:`Unsupported` naming its ``file:line`` instead of running eagerly.
    - ``dynamic``: graphs are specialised to the input shapes (the backend contract has no symbolic sizes).
      ``False`` counts every new shape as a recompile (against ``config.recompile_limit``); ``True``, and
      ``None`` once a shape has changed (torch's automatic dynamic), keep one graph per shape outside that limit.
    - ``backend``: "inductor" (generated kernels), "eager" (replay through the dispatcher), a name given to
      :func:`register_backend`, or a callable ``backend(gm, example_inputs) -> callable``.
    - ``mode``: "default", "reduce-overhead" (torch: CUDA graphs), "max-autotune" (torch: tune kernels);
      checked and kept on the compiled function (``.mode``) for the backend; the graph is the same for all.
    - ``options``: a dict for the backend (``.options``); not together with ``mode``.
    - ``disable``: return ``model`` itself (a no-op compile).

    >>> f = compile(lambda x: (x * 2).relu(), backend="eager")
    """
    options_ = dict(fullgraph=fullgraph, dynamic=dynamic, backend=backend, mode=mode, options=options)
    if model is None:
        return lambda m: compile(m, disable=disable, **options_)
    if disable:
        return model
    if isinstance(model, Module):
        return OptimizedModule(model, **options_)
    if not callable(model):
        raise RuntimeError(f"ember.compile expects a callable or a Module, got {type(model).__name__}")
    return CompiledFunction(model, getattr(model, "__self__", None) if isinstance(
        getattr(model, "__self__", None), Module) else None, **options_)


def _compile_forward(forward, module, **kwargs):
    return CompiledFunction(forward, module, **kwargs)


_module.compile_hook[0] = _compile_forward


def reset():
    """Forget every compiled graph of every compiled function (they capture again on their next call)."""
    reset_all()


def disable(fn=None, recursive=True):
    """``fn`` never runs inside a graph: called while a function is being compiled, it is a graph break,
    and the function then runs as compiled segments with ``fn`` run eagerly between them. As a decorator:
    ``@ember.compiler.disable``."""
    if fn is None:
        return lambda f: disable(f, recursive)
    @functools.wraps(fn)
    def eager_only(*args, **kwargs):
        if is_compiling():
            break_here(f"{getattr(fn, '__qualname__', fn)} is wrapped in ember.compiler.disable")
        if isinstance(dispatch.observer, SegmentedCall):
            return dispatch.observer.outside(fn, args, kwargs)
        return fn(*args, **kwargs)
    return eager_only


def allow_in_graph(fn):
    """Accepted for torch's API: capture records the ember ops any Python function runs, so ``fn`` is in the
    graph already (as long as it reads no tensor's value)."""
    return fn


def assume_constant_result(fn):
    """``fn``'s result is taken as a constant while compiling: the tensor values it reads in Python are not
    graph breaks (its result is baked into the graph; a change of what it reads is not seen)."""
    @functools.wraps(fn)
    def constant(*args, **kwargs):
        with allowing_reads():
            return fn(*args, **kwargs)
    return constant


def set_stance(stance="default", *, skip_guard_eval_unsafe=False, force_backend=None):
    """How compiled functions behave from now on, or within ``with set_stance(...):``: "default";
    "force_eager" (every compiled function runs eagerly); "eager_on_recompile" (run eagerly instead of
    recompiling); "fail_on_recompile" (raise :class:`Unsupported` instead of recompiling)."""
    if stance not in STANCES:
        raise RuntimeError(f"invalid stance {stance!r}; the stances are {list(STANCES)}")
    return _Stance(stance)


class _Stance:
    """Set at once; as a context manager, the previous stance comes back on exit."""

    def __init__(self, stance):
        self.previous, _stance[0] = _stance[0], stance

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _stance[0] = self.previous
        return False


is_dynamo_compiling = is_compiling
