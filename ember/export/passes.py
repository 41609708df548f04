"""Graph passes: dead-code elimination, common-subexpression elimination and constant folding."""
from ember._tensor import Tensor
from ember.autograd import grad_mode
from ember.export.graph import LateList, Node, Out, map_args
from ember.export.op_names import draws_random
from ember.export.symbolic import has_symbols
from ember.ops.dispatch import apply


def eliminate_dead_code(graph):
    """Remove call nodes and get_attrs whose values nothing reads; returns how many went."""
    live = set()
    for node in reversed(graph.nodes):
        if node.op in ("output", "placeholder") or node in live:
            live.update(node.all_input_nodes)
            live.add(node)
    dead = [n for n in graph.nodes if n not in live]
    graph.erase(dead)
    return len(dead)


def eliminate_common_subexpressions(graph):
    """Merge call nodes that run the same op on the same values with the same parameters, and
    get_attrs of the same state key, into their first occurrence; returns how many went.

    Random ops never merge (each draws anew), nor ops that pass values to their backward
    through a late list."""
    seen, replace = {}, {}

    def swap(r):
        if isinstance(r, Out):
            return Out(replace.get(r.node, r.node), r.index)
        return replace.get(r, r)

    for n in graph.nodes:
        if n.op in ("placeholder", "output"):
            continue
        n.args, n.kwargs = map_args(n.args, swap), map_args(n.kwargs, swap)
        if n.op == "call_function" and (draws_random(n) or any(isinstance(v, LateList) for v in n.kwargs.values())):
            continue
        key = (n.op, n.target, n.meta.get("node_name"), _key(n.args), _key(n.kwargs))
        first = seen.setdefault(key, n)
        if first is not n:
            replace[n] = first
    out = graph.output_node
    if out is not None:
        out.args = map_args(out.args, swap)
    graph.erase(replace)
    return len(replace)


def _key(value):
    """A hashable text of a node's arguments with each node reference by name."""
    def name(r):
        return ("$ref", r.node.name, r.index) if isinstance(r, Out) else ("$ref", r.name)
    return repr(map_args(value, name)) if not isinstance(value, Node) else repr(name(value))


def fold_constants(graph, state, keep=()):
    """Evaluate call nodes whose inputs are all constants (get_attrs not in ``keep``, the
    parameters that must stay trainable) and read the results as new constants.

    Random ops are never folded. Returns how many nodes were folded."""
    const = {}
    for n in graph.nodes:
        if n.op == "get_attr" and n.target not in keep:
            const[n] = state[n.target]
    folded = 0
    replace = {}
    for n in graph.nodes:
        if n.op != "call_function" or draws_random(n) or has_symbols(n.kwargs):  # sizes known only at call time
            continue
        inputs = n.all_input_nodes
        if not all(m in const for m in inputs):
            continue
        args = map_args(n.args, lambda r: const[r.node][r.index] if isinstance(r, Out) else const[r])
        with grad_mode.no_grad():
            value = apply(n.meta["_prim"], args, n.kwargs)
        const[n] = value
        replace[n] = value
        folded += 1
    if not folded:
        return 0
    users = graph.users()
    new_nodes = []
    made = {}
    for n in graph.nodes:
        if n in replace and any(u not in replace for u in users[n]):
            values = replace[n] if isinstance(replace[n], tuple) else (replace[n],)
            nodes = []
            for i, v in enumerate(values):
                key = _fresh_key(state, f"_folded_{n.name}" + (f"_{i}" if len(values) > 1 else ""))
                state[key] = Tensor._make(v._data, v._dtype, v._device)
                node = graph.create_node("get_attr", key, meta={"shape": list(v.shape), "dtype": v._dtype.name,
                                                                "stack": n.meta.get("stack")}, name=key)
                graph.nodes.pop()
                new_nodes.append(node)
                nodes.append(node)
            made[n] = nodes
        elif n not in replace:
            new_nodes.append(n)

    def swap(r):
        if isinstance(r, Out) and r.node in made:
            return made[r.node][r.index]
        return made[r][0] if r in made else r

    for n in new_nodes:
        n.args = map_args(n.args, swap)
    graph.nodes = new_nodes
    eliminate_dead_code(graph)
    for key in [k for k in state if k not in {n.target for n in graph.nodes if n.op == "get_attr"}]:
        del state[key]
    return folded


def _fresh_key(state, key):
    n, out = 0, key
    while out in state:
        n += 1
        out = f"{key}_{n}"
    return out
