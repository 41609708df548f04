"""``compile_graph``'s callable: picks (and builds once) the plan for the call's gradient needs,
runs it and wraps the results; anything the plans do not cover runs the graph through the dispatcher."""
from ember._tensor import Tensor
from ember.autograd import grad_mode
from ember.backend import CPU, compiled
from ember.backend.dtype import _from_np
from ember.compiler.inductor.runtime import CompiledBackward, Plan
from ember.export.graph import LateList, Node, Out, map_args
from ember.export.interpreter import run_graph
from ember.export.op_names import draws_random
from ember.export.symbolic import has_symbols
from ember.ops.registry import PRIMITIVES
from ember.random import get_rng_state, set_rng_state


def _by_ref(spec, value, found):
    """Fill ``found`` with each node reference of the output ``spec`` and its value in ``value``, the output
    structure ``run_graph`` built from that spec."""
    if isinstance(spec, (Node, Out)):
        found[spec] = value
    elif isinstance(spec, (tuple, list)):
        for s, v in zip(spec, value):
            _by_ref(s, v, found)
    elif isinstance(spec, dict):
        for k, s in spec.items():
            _by_ref(s, value[k], found)
    return found


def unsupported(graph, state):
    """Why the graph must run through the dispatcher (None when the backend handles it all)."""
    for n in graph.nodes:
        if n.op == "get_attr" and state[n.target]._device is not CPU:
            return f"{n.target} is on {state[n.target]._device}"
        if n.op != "call_function":
            continue
        prim = n.meta.get("_prim")
        if prim is None or PRIMITIVES.get(n.target) is not getattr(prim, "base", prim):
            return f"{n.target} is not a registry primitive"
        if any(isinstance(v, LateList) for v in n.kwargs.values()) or Node("_", "output", "output",
                                                                            (n.kwargs,)).all_input_nodes:
            return f"{n.name} passes tensors to its backward through its parameters"
        if has_symbols(n.args) or has_symbols(n.kwargs):
            return f"{n.name} has symbolic sizes"
        dt = n.meta.get("dtype")
        if any(d is None for d in (dt if isinstance(dt, list) else [dt])):
            return f"{n.name} records no dtype"
    return None


class CompiledGraph:
    """Calls the graph's plan for the flat input tensors; returns ``run_graph``'s output structure.

    Where the kernels are off (``EMBER_KERNELS=0``, ``compiled.disabled()``, no numba), the graph runs
    through the dispatcher instead: the reference the kernels are tested against."""

    def __init__(self, graph, state, fallback_graph):
        self.graph, self.state, self.fallback_graph = graph, state, fallback_graph
        self.placeholders = graph.placeholders
        self.signature = [(tuple(n.meta["shape"]), n.meta["dtype"]) for n in self.placeholders]
        self.params = [n for n in graph.nodes if n.op == "get_attr"]
        self.reason = unsupported(graph, state)
        self.draws_random = any(n.op == "call_function" and draws_random(n) for n in graph.nodes)
        self.plans = {}

    def plan(self, grad_leaves):
        key = frozenset(grad_leaves)
        plan = self.plans.get(key)
        if plan is None:
            plan = self.plans[key] = Plan(self.graph, self.state, grad_leaves)
        return plan

    def __call__(self, *inputs):
        if self.reason is not None or not compiled.usable() or not self._matches(inputs):
            return run_graph(self.fallback_graph, self.state, list(inputs))
        leaves = []
        if grad_mode.state.enabled:
            leaves = [n for n, t in zip(self.placeholders, inputs) if t._requires_grad]
            leaves += [n for n in self.params if self.state[n.target]._requires_grad]
        plan = self.plan(leaves)
        rng = get_rng_state() if self.draws_random and plan.training else None
        values = plan.forward(inputs)
        n_out = len(plan.outputs)
        arrays = dict(zip(plan.outputs, values[:n_out]))
        node = None
        if plan.training and plan.diff_outputs:
            sources = {n: t for n, t in zip(self.placeholders, inputs)}
            sources.update({n: self.state[n.target] for n in self.params})
            tensors = [sources[n] for n in plan.grad_leaves]
            node = CompiledBackward(plan.backward, values[n_out:], tensors, [(t._data.shape, t._dtype) for t in tensors],
                                    self._replay(inputs, plan, rng))
            node.num_outputs = len(plan.diff_outputs)
        made = {}
        diff = {r: k for k, r in enumerate(plan.diff_outputs)} if node is not None else {}
        by_input = dict(zip(self.placeholders, inputs))

        def wrap(ref):
            if ref in made:
                return made[ref]
            target = ref.node if isinstance(ref, Out) else ref
            if target.op == "placeholder":
                t = by_input[target]
            elif target.op == "get_attr":
                t = self.state[target.target]
            else:
                a = arrays[ref]
                k = diff.get(ref)
                t = Tensor._make(a, _from_np[a.dtype], CPU, k is not None, node if k is not None else None, k or 0)
            made[ref] = t
            return t

        return map_args(self.graph.output_node.args[0], wrap)

    def _replay(self, inputs, plan, rng):
        """``CompiledBackward``'s recompute for this call: the graph through the dispatcher on aliases of the
        call's gradient leaves (so that the inner gradient stops at them), with the call's random numbers."""
        def recompute():
            leaves = set(plan.grad_leaves)
            aliases = {n: t.view_as(t) for n, t in zip(self.placeholders, inputs) if n in leaves}
            aliases.update({n: self.state[n.target].view_as(self.state[n.target]) for n in self.params if n in leaves})
            state = dict(self.state)
            state.update({n.target: a for n, a in aliases.items() if n.op == "get_attr"})
            args = [aliases.get(n, t) for n, t in zip(self.placeholders, inputs)]
            before = get_rng_state() if rng is not None else None
            if rng is not None:
                set_rng_state(rng)
            try:
                result = run_graph(self.graph, state, args)
            finally:
                if before is not None:
                    set_rng_state(before)
            by_ref = _by_ref(self.graph.output_node.args[0], result, {})
            return [by_ref[r] for r in plan.diff_outputs], [aliases[n] for n in plan.grad_leaves]
        return recompute

    def _matches(self, inputs):
        if len(inputs) != len(self.signature):
            return False
        for t, (shape, dt) in zip(inputs, self.signature):
            if t._device is not CPU or t._data.shape != shape or t._dtype.name != dt:
                return False
        return True

