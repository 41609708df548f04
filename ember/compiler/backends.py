"""Compiler backends: a name (or a callable) -> a function that turns a captured graph into a callable.

The contract (``compile_graph(graph, state, example_inputs) -> callable``): ``graph`` and
``state`` are what ``ember.export.program.capture`` returns (``state`` maps get_attr targets to
the live tensors, so parameters are read at call time); the callable takes the flat input
tensors (one per placeholder, in order) and returns what ``run_graph(graph, state, inputs)``
returns, differentiable when grad mode is on.

A user callable follows torch's convention instead: ``backend(gm, example_inputs)`` with
``gm`` a :class:`GraphModuleLike` (``gm.graph``, ``gm.code``, ``gm(*inputs)``), returning a callable.
"""
from ember.export.interpreter import run_graph

_REGISTRY = {}


class GraphModuleLike:
    """What a user backend receives: the graph, its live state, and ``gm(*inputs)`` to replay it."""

    def __init__(self, graph, state):
        self.graph, self.state = graph, state

    @property
    def code(self):
        return self.graph.code

    def print_readable(self, print_output=True):
        return self.graph.print_readable(print_output)

    def forward(self, *inputs):
        return run_graph(self.graph, self.state, inputs)

    __call__ = forward


def register_backend(compiler_fn=None, name=None):
    """Register ``compiler_fn(gm, example_inputs) -> callable`` under ``name`` (its ``__name__`` by default);
    usable as a decorator: ``@ember.compiler.register_backend``."""
    def register(fn):
        key = name or fn.__name__
        if key in _REGISTRY:
            raise RuntimeError(f"a compiler backend named {key!r} is already registered")
        _REGISTRY[key] = _user_backend(fn)
        return fn
    return register if compiler_fn is None else register(compiler_fn)


def _eager(graph, state, example_inputs):
    """Replay through the dispatcher: one op call per node (differentiable like eager code)."""
    return lambda *inputs: run_graph(graph, state, inputs)


def _inductor(graph, state, example_inputs):
    from ember.compiler.inductor import compile_graph  # optional dependency: numba, loaded on first use
    return compile_graph(graph, state, example_inputs)


def _user_backend(fn):
    def compile_graph(graph, state, example_inputs):
        compiled = fn(GraphModuleLike(graph, state), list(example_inputs))
        if not callable(compiled):
            raise TypeError(f"the compiler backend {getattr(fn, '__name__', fn)!r} returned {type(compiled).__name__}, "
                            "not a callable")
        return compiled
    return compile_graph


_REGISTRY.update(eager=_eager, inductor=_inductor)


def lookup_backend(backend):
    """The graph compiler for ``backend``: a registered name or a user callable."""
    if callable(backend):
        return _user_backend(backend)
    if backend not in _REGISTRY:
        raise ValueError(f"unknown compiler backend {backend!r}; the backends are {list_backends()} "
                         "(or pass a callable backend(gm, example_inputs))")
    return _REGISTRY[backend]


def list_backends(exclude_tags=()):
    """The names ``ember.compile(backend=...)`` accepts."""
    return sorted(_REGISTRY)
