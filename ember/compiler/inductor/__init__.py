"""The optimising backend of ``ember.compile``: a captured graph becomes generated code.

``compile_graph(graph, state, example_inputs)`` copies the graph, runs the passes (dead code,
common subexpressions, constant folding of values that depend on constants only), cuts it into
steps (``fusion.py``: runs of elementwise ops, with a trailing reduction over the last dim,
become one numba kernel generated from the ops, ``codegen.py``; other ops run as their
array-level forward), and generates a straight-line forward and, for training, one autograd
node whose backward runs each op's derivative and fused backward kernels (``runtime.py``).
Parameters are read from ``state`` at every call, so in-place optimiser updates are seen.
What the backend does not handle (devices other than the CPU, float16, ops that hand tensors
to their backward through their parameters, symbolic sizes, inputs unlike the examples) runs
through the dispatcher, as ``ember.export.interpreter.run_graph`` would run it.

    >>> from ember.export.program import capture
    >>> graph, state, _, _ = capture(lambda x: (x * 2 + 1).relu(), (ember.ones(3),))
    >>> compile_graph(graph, state, [ember.ones(3)])(ember.ones(3))
    tensor([3., 3., 3.])
"""
from ember.compiler.inductor.program import CompiledGraph
from ember.export.passes import eliminate_common_subexpressions, eliminate_dead_code, fold_constants

_CAPTURED_CONSTANT = ("_tensor_constant", "_folded_")


def optimize(graph, state):
    """A copy of ``graph`` (and of the ``state`` mapping, sharing its tensors) after the passes."""
    graph, state = graph.copy(), dict(state)
    eliminate_dead_code(graph)
    eliminate_common_subexpressions(graph)
    keep = {key for key in state if not key.startswith(_CAPTURED_CONSTANT)}
    fold_constants(graph, state, keep=keep)
    eliminate_dead_code(graph)
    return graph, state


def compile_graph(graph, state, example_inputs):
    """A callable taking the flat input tensors (one per placeholder) and returning what
    ``run_graph(graph, state, inputs)`` returns, differentiable like it."""
    del example_inputs  # the graph's metadata records their shapes and dtypes
    graph, state = optimize(graph, state)
    return CompiledGraph(graph, state, graph)


__all__ = ["compile_graph", "optimize"]
