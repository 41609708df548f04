"""Run a graph: each call node calls its op through the normal dispatcher, so the run records
autograd history like eager code does and gradients flow back to inputs and parameters.

A graph is first turned into a plan (one step per node, values in numbered slots, literal
arguments prepared once), so a replay costs little more than the dispatcher calls."""
from ember.export.graph import LateList, Node, Out, map_args
from ember.export.op_names import lookup
from ember.export.symbolic import has_symbols
from ember.ops.dispatch import apply

_CALL, _INPUT, _ATTR, _OUTPUT = range(4)


class GraphRunError(RuntimeError):
    """An op failed while a graph ran; the message names the node, its op and its source line."""


class Plan:
    """The steps of a graph: ``(kind, slot, payload)``; ``late_after[slot]`` lists the LateList
    parameters ``(step slot, key)`` that the value in ``slot`` is appended to."""

    def __init__(self, graph):
        self.graph, self.key = graph, _key(graph)
        slot = {n.name: i for i, n in enumerate(graph.nodes)}

        def ref(r):
            return _Ref(slot[r.node.name], r.index) if isinstance(r, Out) else _Ref(slot[r.name], None)

        steps, late_after = [], {}
        for i, node in enumerate(graph.nodes):
            if node.op == "call_function":
                prim = node.meta.get("_prim") or lookup(node.target, node.meta.get("node_name"))
                simple = all(isinstance(a, Node) for a in node.args)
                args = tuple(slot[a.name] for a in node.args) if simple else map_args(node.args, ref)
                late = tuple(k for k, v in node.kwargs.items() if isinstance(v, LateList))
                for k in late:
                    for r in node.kwargs[k]:
                        late_after.setdefault(slot[r.name], []).append((i, k))
                params = {k: v for k, v in node.kwargs.items() if k not in late}
                has_refs = bool(Node("_", "output", "output", (params,)).all_input_nodes)
                params = map_args(params, ref) if has_refs else params
                symbolic = has_symbols(node.args) or has_symbols(node.kwargs)
                steps.append((_CALL, i, (prim, simple, args, params, has_refs, late, symbolic, node)))
            elif node.op == "placeholder":
                steps.append((_INPUT, i, None))
            elif node.op == "get_attr":
                steps.append((_ATTR, i, node.target))
            else:
                steps.append((_OUTPUT, i, map_args(node.args[0], ref)))
        self.steps, self.size, self.late_after = steps, len(slot), late_after


class _Ref:
    __slots__ = ("slot", "index")

    def __init__(self, slot, index):
        self.slot, self.index = slot, index


def _key(graph):
    return id(graph.nodes), len(graph.nodes)


def _resolve(value, env):
    if isinstance(value, _Ref):
        v = env[value.slot]
        return v if value.index is None else v[value.index]
    if isinstance(value, tuple):
        return tuple(_resolve(v, env) for v in value)
    if isinstance(value, list):
        return [_resolve(v, env) for v in value]
    if isinstance(value, dict):
        return {k: _resolve(v, env) for k, v in value.items()}
    return value


def plan_of(graph):
    plan = getattr(graph, "_plan", None)
    if plan is None or plan.key != _key(graph):
        plan = graph._plan = Plan(graph)
    return plan


def run_graph(graph, state, inputs, bind=None):
    """The output structure of ``graph`` for the flat tensor ``inputs`` (one per placeholder).

    ``state`` maps get_attr targets to tensors; ``bind(value)`` evaluates symbolic sizes."""
    plan = plan_of(graph)
    env = [None] * plan.size
    placeholders = iter(inputs)
    late_after, lates = plan.late_after, {}
    for kind, i, payload in plan.steps:
        if kind == _CALL:
            prim, simple, args, params, has_refs, late, symbolic, node = payload
            args = [env[j] for j in args] if simple else _resolve(args, env)
            if has_refs:
                params = _resolve(params, env)
            if late:
                params = dict(params)
                for k in late:
                    params[k] = lates[i, k] = []
            if symbolic and bind is not None:
                args, params = bind(args), bind(params)
            try:
                env[i] = apply(prim, args, params)
            except Exception as e:
                raise GraphRunError(f"{node.name} = ops.{node.target}(...) failed ({_origin(node)}): "
                                    f"{type(e).__name__}: {e}") from e
            if late_after and i in late_after:
                for step, k in late_after[i]:
                    lates[step, k].append(env[i])
        elif kind == _ATTR:
            env[i] = state[payload]
        elif kind == _INPUT:
            env[i] = next(placeholders)
        else:
            return _resolve(payload, env)
    return None


def _origin(node):
    where = [node.meta[k] for k in ("module", "stack") if node.meta.get(k)]
    return ", ".join(where) or "no source recorded"
