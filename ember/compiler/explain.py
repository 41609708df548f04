"""``ember.compiler.explain(fn)(*args)``: the graphs and graph breaks of one call, as torch._dynamo.explain's.

The call is captured once with breaks recorded instead of raised, so every break of the run is
listed; the ops between two breaks form one graph (what would run compiled if the capture resumed
after each break)."""
from ember.autograd import grad_mode
from ember.compiler.tracer import Session, capture_for_compile
from ember.export.graph import Graph
from ember.nn.modules.module import Module


class BreakReason:
    """One graph break: ``reason`` and ``user_stack`` (``["file:line"]``)."""

    def __init__(self, reason, where):
        self.reason, self.user_stack = reason, [where]

    def __repr__(self):
        return f"BreakReason(reason={self.reason!r}, user_stack={self.user_stack})"


class ExplainOutput:
    """``graphs``, ``graph_count``, ``graph_break_count``, ``break_reasons``, ``ops_per_graph``; ``str()`` prints it."""

    def __init__(self, graphs, break_reasons):
        self.graphs, self.break_reasons = graphs, break_reasons
        self.graph_count, self.graph_break_count = len(graphs), len(break_reasons)
        self.ops_per_graph = [[n.target for n in g.nodes if n.op == "call_function"] for g in graphs]
        self.op_count = sum(len(ops) for ops in self.ops_per_graph)
        self.out_guards, self.compile_times = [], ""

    def __str__(self):
        lines = [f"Graph Count: {self.graph_count}", f"Graph Break Count: {self.graph_break_count}",
                 f"Op Count: {self.op_count}", "Break Reasons:"]
        for i, b in enumerate(self.break_reasons, 1):
            lines += [f"  Break Reason {i}:", f"    Reason: {b.reason}", "    User Stack:"]
            lines += [f"      {where}" for where in b.user_stack]
        lines.append("Ops per Graph:")
        for i, ops in enumerate(self.ops_per_graph, 1):
            lines.append(f"  Ops {i}:")
            lines += [f"    {op}" for op in ops]
        return "\n".join(lines) + "\n"

    printable = property(__str__)

    def __repr__(self):
        return f"ExplainOutput(graph_count={self.graph_count}, graph_break_count={self.graph_break_count})"


def explain(fn, *extra_args, **extra_kwargs):
    """``explain(fn)(*args, **kwargs)`` -> :class:`ExplainOutput` (``explain(fn, *args)`` also works)."""
    module = fn if isinstance(fn, Module) else getattr(fn, "__self__", None)
    module = module if isinstance(module, Module) else None
    target = fn.forward if isinstance(fn, Module) else getattr(fn, "_fn", fn)  # a compiled function: its Python

    def inner(*args, **kwargs):
        session = Session(grad_mode.is_grad_enabled(), explain=True)
        graph, _, _ = capture_for_compile(target, args, kwargs, module, session)
        return ExplainOutput(_split(graph, [n for _, _, n in session.breaks]),
                             [BreakReason(reason, where) for reason, where, _ in session.breaks])

    if extra_args or extra_kwargs:
        return inner(*extra_args, **extra_kwargs)
    return inner


def _split(graph, cuts):
    """The graph's nodes cut before each break point into graphs (those with no op are dropped,
    as a break right after another makes no graph)."""
    pieces, start = [], 0
    for end in cuts + [len(graph.nodes)]:
        part = Graph()
        part.nodes = graph.nodes[start:end]
        if any(n.op == "call_function" for n in part.nodes):
            pieces.append(part)
        start = end
    return pieces
