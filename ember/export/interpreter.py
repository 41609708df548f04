"""Run a graph: each call node calls its op through the normal dispatcher, so the run records
autograd history like eager code does and gradients flow back to inputs and parameters."""
from ember.export.graph import Out, map_args
from ember.export.op_names import lookup
from ember.ops.dispatch import apply


class GraphRunError(RuntimeError):
    """An op failed while a graph ran; the message names the node, its op and its source line."""


def run_graph(graph, state, inputs, bind=None):
    """The output structure of ``graph`` for the flat tensor ``inputs`` (one per placeholder).

    ``state`` maps get_attr targets to tensors; ``bind(value)`` resolves symbolic params."""
    env = {}

    def value(ref):
        if isinstance(ref, Out):
            return env[ref.node.name][ref.index]
        return env[ref.name]

    placeholders = iter(inputs)
    for node in graph.nodes:
        op = node.op
        if op == "call_function":
            prim = node.meta.get("_prim") or lookup(node.target)
            args = map_args(node.args, value)
            params = node.kwargs
            if bind is not None:
                args, params = bind(args), bind(params)
            try:
                env[node.name] = apply(prim, args, params)
            except Exception as e:
                raise GraphRunError(f"{node.name} = ops.{node.target}(...) failed ({_origin(node)}): "
                                    f"{type(e).__name__}: {e}") from e
        elif op == "placeholder":
            env[node.name] = next(placeholders)
        elif op == "get_attr":
            env[node.name] = state[node.target]
        else:
            return map_args(node.args[0], value)
    return None


def _origin(node):
    where = [node.meta[k] for k in ("module", "stack") if node.meta.get(k)]
    return ", ".join(where) or "no source recorded"
