"""A captured program: graph + state + the structure of its inputs, callable like the original."""
import inspect

import numpy as np

from ember._tensor import Tensor
from ember.autograd import grad_mode
from ember.export.capture import Capture
from ember.ops.convert import input_alias
from ember.export.graph import map_args
from ember.export.interpreter import run_graph
from ember.export.op_names import draws_random
from ember.random import get_rng_state


def flatten_inputs(args, kwargs):
    """The tensors in ``(args, kwargs)`` in order, and the structure with each tensor as ``{"$t": i}``."""
    leaves = []

    def spec(v):
        if isinstance(v, Tensor):
            leaves.append(v)
            return {"$t": len(leaves) - 1}
        if isinstance(v, (list, tuple)):
            return type(v)(spec(x) for x in v)
        if isinstance(v, dict):
            return {k: spec(x) for k, x in v.items()}
        return v

    return leaves, spec((tuple(args), dict(kwargs or {})))


def rebuild_inputs(spec, leaves):
    """``(args, kwargs)`` from a spec of ``flatten_inputs`` and its tensors."""
    def build(v):
        if isinstance(v, dict) and set(v) == {"$t"}:
            return leaves[v["$t"]]
        if isinstance(v, (list, tuple)):
            return type(v)(build(x) for x in v)
        if isinstance(v, dict):
            return {k: build(x) for k, x in v.items()}
        return v
    return build(spec)


def _input_names(fn, args, kwargs, count):
    """Placeholder names from the forward's parameter names (``x``, ``x_1`` for nested)."""
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        params = []
    names = []

    def visit(v, name):
        if isinstance(v, Tensor):
            names.append(name)
        elif isinstance(v, (list, tuple)):
            for i, x in enumerate(v):
                visit(x, f"{name}_{i}")
        elif isinstance(v, dict):
            for k, x in v.items():
                visit(x, f"{name}_{k}")

    for i, a in enumerate(args):
        visit(a, params[i] if i < len(params) and not params[i].startswith("*") else f"arg{i}")
    for k, a in (kwargs or {}).items():
        visit(a, k)
    return names if len(names) == count else [f"arg{i}" for i in range(count)]


def capture(fn, args, kwargs=None, report="warn", module=None, differentiable=True, mirror_inputs=False):
    """Run ``fn(*args, **kwargs)`` once and record it. Returns (graph, state, in_spec, outputs);
    an output that is one of the inputs (an in-place op's result) is that input.

    ``differentiable=False`` records what the program runs without autograd (its inference
    form: ops may then take forms that have no derivative). ``mirror_inputs`` keeps each input's
    own ``requires_grad`` instead of making every float input need a gradient."""
    kwargs = dict(kwargs or {})
    state = {}
    if module is not None:
        state.update(module.named_parameters())
        state.update(module.named_buffers())
    leaves, in_spec = flatten_inputs(args, kwargs)
    originals = leaves
    # ops pick their differentiable form only for inputs that need a gradient (max pooling,
    # say): capture with float inputs that need one, so the replayed graph is differentiable
    if differentiable:
        with grad_mode.enable_grad():
            leaves = [input_alias(t.detach().requires_grad_()) if t._dtype.is_floating_point
                      and (t._requires_grad or not mirror_inputs) else t for t in leaves]
        args, kwargs = rebuild_inputs(in_spec, leaves)
    names = _input_names(getattr(module, "forward", fn), args, kwargs, len(leaves))
    cap = Capture(report, state)
    handles = cap.track_modules(module) if module is not None else []
    # capturing runs the program once more than the caller asked: its buffers (running
    # statistics) are put back afterwards, so a capture leaves the module as it was
    saved = [(b, b._data.copy()) for _, b in module.named_buffers()] if module is not None else []
    saved += [(t, t._data.copy()) for t in leaves]  # and so are the inputs, should the program write into them
    rng = get_rng_state().numpy()
    try:
        with cap, grad_mode.set_grad_enabled(differentiable):
            for t, name in zip(leaves, names):
                cap.placeholder(t, name)
            out = fn(*args, **kwargs)
            out_spec = _output_spec(cap, out)
            cap.resolve_late()
            if not np.array_equal(rng, get_rng_state().numpy()) and not any(
                    n.op == "call_function" and draws_random(n) for n in cap.graph.nodes):
                cap.report("the program drew random numbers outside its ops (ember.rand, randn, randint, ...): "
                           "the graph holds the values drawn while capturing as constants (use rand_like & co. "
                           "on a tensor of the graph to draw anew on every run)")
    finally:
        for h in handles:
            h.remove()
        for t, data in saved:
            if t._data.shape == data.shape and t._data.flags.writeable:
                t._data[...] = data
    cap.graph.output(out_spec)
    aliases = {id(a): t for a, t in zip(leaves, originals)}
    return cap.graph, cap.state, in_spec, _map_tensors(out, lambda t: aliases.get(id(t), t))


def _map_tensors(value, fn):
    if isinstance(value, Tensor):
        return fn(value)
    if isinstance(value, (list, tuple)):
        items = [_map_tensors(v, fn) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
    if isinstance(value, dict):
        return {k: _map_tensors(v, fn) for k, v in value.items()}
    return value


def _output_spec(cap, value):
    if isinstance(value, Tensor):
        return cap.ref(value)
    if isinstance(value, (list, tuple)):
        items = [_output_spec(cap, v) for v in value]
        return tuple(items) if isinstance(value, tuple) else items
    if isinstance(value, dict):
        return {k: _output_spec(cap, v) for k, v in value.items()}
    return value


def _same_structure(spec, given):
    if isinstance(spec, dict) and "$t" in spec and len(spec) == 1:
        return isinstance(given, Tensor)
    if isinstance(spec, (list, tuple)):
        return (isinstance(given, (list, tuple)) and len(spec) == len(given)
                and all(_same_structure(a, b) for a, b in zip(spec, given)))
    if isinstance(spec, dict):
        return (isinstance(given, dict) and spec.keys() == given.keys()
                and all(_same_structure(spec[k], given[k]) for k in spec))
    return spec == given


class Program:
    """A graph with its state, called with inputs structured like the example inputs.

    ``guards(inputs)`` (optional) checks the flat input tensors and returns the symbol
    bindings that ``bind`` uses for symbolic op parameters."""

    def __init__(self, graph, state, in_spec, guards=None, bind=None):
        self.graph, self.state, self.in_spec = graph, state, in_spec
        self.guards, self.bind = guards, bind

    def flat_inputs(self, args, kwargs):
        leaves, spec = flatten_inputs(args, kwargs)
        if not _same_structure(self.in_spec, (tuple(args), dict(kwargs or {}))):
            raise TypeError(f"the program was captured with inputs structured as {_describe(self.in_spec)}, "
                            f"but got {_describe(spec)}")
        return leaves

    def __call__(self, *args, **kwargs):
        leaves = self.flat_inputs(args, kwargs)
        symbols = self.check(leaves)
        bind = None if not symbols or self.bind is None else (lambda params: self.bind(params, symbols))
        return run_graph(self.graph, self.state, leaves, bind)

    def check(self, leaves):
        """Refuse inputs whose dtype, rank or (static) sizes differ from the captured ones."""
        if self.guards is not None:
            return self.guards(leaves)
        for node, t in zip(self.graph.placeholders, leaves):
            shape, dt = node.meta.get("shape"), node.meta.get("dtype")
            if t._dtype.name != dt or list(t._data.shape) != shape:
                raise RuntimeError(
                    f"input '{node.name}' has dtype {t._dtype.name} and shape {list(t._data.shape)}, but the graph "
                    f"was captured for dtype {dt} and shape {shape}: its op parameters are specialised to those "
                    "sizes (use ember.export.export with dynamic_shapes=... for sizes that vary)")
        return None


def _describe(spec):
    return repr(map_args(spec, lambda r: r)).replace("{'$t': ", "<tensor ").replace("}", ">")[:200]
