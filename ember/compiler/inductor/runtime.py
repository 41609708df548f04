"""The compiled program: a generated straight-line forward, and for training one autograd node
whose backward is a generated straight-line function too.

Each call node runs as its op's array-level forward (``prim.forward(ctx, np, ...)``) or inside a
fused kernel; nothing goes through the dispatcher, so no per-op wrapping, promotion or recording.
When a gradient is needed the forward keeps what the backward reads (each op's saved values on
its ctx, each kernel's inputs) and the result tensors share one ``CompiledBackward`` node.
"""
import ast

import numpy as np

from ember import autograd
from ember._tensor import Tensor
from ember.autograd import grad_mode
from ember.autograd.graph import Node as AutogradNode
from ember.autograd.graph import OpNode, accumulator
from ember.backend import CPU
from ember.backend.compiled import parallel
from ember.backend.dtype import _from_np
from ember.compiler.inductor import codegen
from ember.compiler.inductor.fusion import ELEMENTS_PER_THREAD, SPLIT_AT, Group, one_long_row, partition, \
    work_per_element
from ember.compiler.inductor.kernel_cache import kernel_from_source
from ember.export.graph import Node, Out

_FRESH_RESULT = frozenset({"linear", "matmul", "conv"})  # ops whose result is always a new array of its own


class _Scratch:
    """The ctx of an op no gradient flows through (its stashed values are dropped with it)."""


def _tensor(a):
    return Tensor._make(a, _from_np[a.dtype], CPU)


def _acc(total, g):
    return g if total is None else total + g


def _sum_to(g, shape):
    """A gradient over the broadcast shape summed back to an input's ``shape``."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    dims = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and g.shape[i + lead] != 1)
    return g.sum(axis=dims, keepdims=True).reshape(shape) if dims else g.reshape(shape)


def _is_float(dt):
    return isinstance(dt, str) and dt.startswith(("float", "complex", "bfloat"))


class Plan:
    """The generated forward (and backward, when ``grad`` holds the nodes a gradient flows through)."""

    def __init__(self, graph, state, grad_leaves):
        self.graph, self.state = graph, state
        self.index = {n: i for i, n in enumerate(graph.nodes)}
        self.needs_grad = self._flow(grad_leaves)
        self.training = bool(grad_leaves)
        self.steps = partition(graph, self.needs_grad)
        self.kernels = 0
        self.g = {"np": np, "OpNode": OpNode, "_Scratch": _Scratch, "_parallel": parallel, "_acc": _acc,
                  "_sum_to": _sum_to, "_tensor": _tensor}
        self.saved = []  # names the forward hands to the backward, in order
        self.forward = self._build_forward()
        self.backward = self._build_backward() if self.training else None

    # which values a gradient flows through -------------------------------------------------
    def _flow(self, leaves):
        flow = set(leaves)
        for n in self.graph.nodes:
            if n.op == "call_function" and n.meta["_prim"].backward is not None \
                    and any(m in flow for m in n.all_input_nodes):
                dt = n.meta.get("dtype")
                if any(_is_float(d) for d in (dt if isinstance(dt, list) else [dt])):
                    flow.add(n)
        return flow

    def var(self, ref):
        if isinstance(ref, Out):
            return f"v{self.index[ref.node]}[{ref.index}]"
        return f"v{self.index[ref]}"

    def const(self, value, hint):
        name = f"{hint}{len(self.g)}"
        self.g[name] = value
        return name

    # forward -----------------------------------------------------------------------------------
    def _build_forward(self):
        lines, out = [], self.graph.output_node
        for k, n in enumerate(self.graph.placeholders):
            lines.append(f"{self.var(n)} = inputs[{k}]._data")
        for n in self.graph.nodes:
            if n.op == "get_attr":
                lines.append(f"{self.var(n)} = {self.const(self.state[n.target], 'S')}._data")
        self.reusable = self._reusable_buffers()
        for step in self.steps:
            lines += self._group_forward(step) if isinstance(step, Group) else self._op_forward(step)
        results = [self.var(r) for r in self._output_refs(out.args[0])]
        lines.append(f"return ({', '.join(results + self.saved)},)")
        return self._function("forward", ["inputs"], lines)

    def _output_refs(self, spec):
        self.outputs = list(dict.fromkeys(_collect(spec)))
        return self.outputs

    def _op_forward(self, node):
        prim, i = node.meta["_prim"], self.index[node]
        args = [self.var(a) if isinstance(a, (Node, Out)) else self.const(a, "L") for a in node.args]
        fn = self.const(prim.forward, "F")
        params = f", **{self.const(node.kwargs, 'K')}" if node.kwargs else ""
        lines = []
        if node in self.needs_grad:
            meta = [(tuple(codegen.shape_of(a)), _from_np[np.dtype(codegen.dtype_of(a))])
                    if isinstance(a, (Node, Out)) and a_needs(self, a) else None for a in node.args]
            lines += [f"c{i} = OpNode()", f"c{i}._prim = {self.const(prim, 'P')}", f"c{i}._meta = {self.const(meta, 'M')}"]
            ctx = f"c{i}"
        else:
            ctx = "_Scratch()"
        lines.append(f"v{i} = {fn}({ctx}, np, {', '.join(args)}{params})")
        if node.meta.get("shape") == []:
            lines.append(f"v{i} = np.asarray(v{i})")
        if node in self.needs_grad:
            saved = self._saved_of(node, prim, args, i)
            if saved:
                lines.append(f"c{i}._saved = ({''.join(s + ', ' for s in saved)})")
            self.saved.append(f"c{i}")
        return lines

    def _saved_of(self, node, prim, args, i):
        picks = list(range(len(args))) if prim.save is True else list(prim.save)
        saved = [f"(_tensor({args[p]}), None, None)" if isinstance(node.args[p], (Node, Out))
                 else f"({args[p]}, None, None)" for p in picks]
        if prim.save_output:
            n_out = len(node.meta["dtype"]) if isinstance(node.meta["dtype"], list) else 0
            if n_out:
                which = range(n_out) if prim.save_output is True else prim.save_output
                saved += [f"(_tensor(v{i}[{k}]), None, None)" for k in which]
            else:
                saved.append(f"(_tensor(v{i}), None, None)")
        return saved

    def _reusable_buffers(self):
        """Values in arrays of their own (kernel outputs, GEMM results) whose only readers are later
        kernels, never saved nor returned: the last reader writes its output into that buffer."""
        readers = {}
        for step in self.steps:
            nodes = step.nodes if isinstance(step, Group) else [step]
            for n in nodes:
                for m in n.all_input_nodes:
                    readers.setdefault(m, set()).add(step)
        out_nodes = {r.node if isinstance(r, Out) else r for r in _collect(self.graph.output_node.args[0])}
        fresh = set()
        if not self.training:
            for step in self.steps:
                made = ([n for n in step.outputs if n is not step.reduction] if isinstance(step, Group) else
                        [step] if step.target in _FRESH_RESULT and isinstance(step.meta["dtype"], str) else [])
                fresh.update(n for n in made if n not in out_nodes
                             and all(isinstance(s, Group) for s in readers.get(n, ())))
        last_reader = {}
        for pos, step in enumerate(self.steps):
            for n in (step.nodes if isinstance(step, Group) else [step]):
                for m in n.all_input_nodes:
                    if m in fresh:
                        last_reader[m] = pos
        return {n: self.steps[pos] for n, pos in last_reader.items()}

    def _group_forward(self, group):
        shape = group.shape
        rows, cols = _blocks(group)
        kernel = self.const(kernel_from_source(codegen.forward_source(group)), "KF")
        self.kernels += 1
        lines, ins, free = [], [], []
        for k, r in enumerate(group.inputs):
            kind = codegen.kind_of(codegen.shape_of(r), shape)
            name = f"p{self.index[group.nodes[0]]}_{k}"
            lines.append(f"{name} = {self._prep(self.var(r), kind, rows, cols, shape)}")
            ins.append(name)
            if kind == "full" and isinstance(r, Node) and self.reusable.get(r) is group:
                free.append((name, codegen.dtype_of(r)))
        outs = []
        for n in group.outputs:
            i = self.index[n]
            if n is group.reduction:
                lines.append(f"r{i} = np.empty({rows}, np.{codegen.dtype_of(n)})")
                continue
            reuse = next((f for f in free if f[1] == codegen.dtype_of(n)), None)
            if reuse is not None:
                free.remove(reuse)
                lines.append(f"o{i} = {reuse[0]}")
            else:
                lines.append(f"o{i} = np.empty(({rows}, {cols}), np.{codegen.dtype_of(n)})")
            outs.append(f"o{i}")
        call_args = ", ".join([str(cols)] + ins + outs + ([f"r{self.index[group.reduction]}"] if group.reduction else []))
        lines.append(self._launch(kernel, rows, cols, call_args, work_per_element(group.nodes)))
        for n in group.outputs:
            i = self.index[n]
            src = f"r{i}" if n is group.reduction else f"o{i}"
            lines.append(f"v{i} = {src}.reshape({tuple(n.meta['shape'])})")
        if self.training and any(n in self.needs_grad for n in group.nodes):
            self.saved += ins
        return lines

    @staticmethod
    def _launch(kernel, rows, cols, args, work):
        """The kernel over all rows: on this thread, or cut into blocks of at least ``ELEMENTS_PER_THREAD``
        elements' worth of work (an element of a group with transcendental ops weighs more)."""
        if rows * cols * work < SPLIT_AT or rows == 1:
            return f"{kernel}(0, {rows}, {args})"
        per_thread = max(1, ELEMENTS_PER_THREAD // max(cols * work, 1))
        return f"_parallel({kernel}, {rows}, {args}, min_rows_per_thread={per_thread})"

    @staticmethod
    def _prep(value, kind, rows, cols, shape):
        if kind == "full":
            return f"{value}.reshape({rows}, {cols})"
        if kind == "bcast":
            return f"np.ascontiguousarray(np.broadcast_to({value}, {tuple(shape)})).reshape({rows}, {cols})"
        return f"{value}.reshape({ {'row': cols, 'col': rows, 'scalar': 1}[kind]})"

    # backward ----------------------------------------------------------------------------------
    def _build_backward(self):
        self.grad_leaves = [n for n in self.graph.nodes if n.op in ("placeholder", "get_attr") and n in self.needs_grad]
        self.diff_outputs = [r for r in self.outputs if _ref_node(r) in self.needs_grad
                             and _is_float(codegen.dtype_of(r)) and _ref_node(r).op == "call_function"]
        grads = [f"go{k}" for k in range(len(self.diff_outputs))]
        lines = [f"{self._g(r)} = None" for r in self._all_grad_refs()]
        for k, r in enumerate(self.diff_outputs):
            lines.append(f"{self._g(r)} = _acc({self._g(r)}, go{k})")
        saved = iter(self.saved)
        plan = []
        for step in self.steps:
            if isinstance(step, Group):
                if any(n in self.needs_grad for n in step.nodes):
                    plan.append((step, [next(saved) for _ in step.inputs]))
            elif step in self.needs_grad:
                plan.append((step, next(saved)))
        for step, names in reversed(plan):
            lines += self._group_backward(step, names) if isinstance(step, Group) else self._op_backward(step, names)
        lines.append(f"return ({''.join(self._g(n) + ', ' for n in self.grad_leaves)})")
        return self._function("backward", self.saved + grads, lines)

    def _all_grad_refs(self):
        refs = []
        for n in self.graph.nodes:
            if n in self.needs_grad:
                dt = n.meta.get("dtype")
                refs += [Out(n, k) for k in range(len(dt))] if isinstance(dt, list) else [n]
        return refs

    def _g(self, ref):
        return f"g{self.index[ref.node]}_{ref.index}" if isinstance(ref, Out) else f"g{self.index[ref]}"

    def _op_backward(self, node, ctx):
        dt = node.meta["dtype"]
        outs = [Out(node, k) for k in range(len(dt))] if isinstance(dt, list) else [node]
        gs = [self._g(r) for r in outs]
        wrapped = ", ".join(f"(None if {g} is None else _tensor({g}))" for g in gs)
        lines = [f"if {' or '.join(f'{g} is not None' for g in gs)}:",
                 f"    r = {ctx}._apply(({wrapped},))"]
        for p, a in enumerate(node.args):
            if isinstance(a, (Node, Out)) and a_needs(self, a):
                lines.append(f"    if r[{p}] is not None: {self._g(a)} = _acc({self._g(a)}, r[{p}]._data)")
        return lines

    def _group_backward(self, group, names):
        rows, cols = _blocks(group)
        grad_nodes = {n for n in group.nodes if n in self.needs_grad}
        grad_inputs = [k for k, r in enumerate(group.inputs) if a_needs(self, r)]
        if not grad_inputs or not any(n in grad_nodes for n in group.outputs):
            return []
        kernel = self.const(kernel_from_source(codegen.backward_source(group, grad_nodes, grad_inputs)), "KB")
        self.kernels += 1
        outputs = [n for n in group.outputs if n in grad_nodes]
        gs = [self._g(n) for n in outputs]
        lines = [f"if {' or '.join(f'{g} is not None' for g in gs)}:"]
        gouts = []
        for n, g in zip(outputs, gs):
            shape = (rows,) if n is group.reduction else (rows, cols)
            dt = codegen.dtype_of(n)
            # a gradient may arrive expanded (a sum's backward): strided loads kept the kernel from vectorising
            # (a 40-op chain's backward over 1M floats: 7.3 ms against 0.7 with the copy)
            lines.append(f"    q_{g} = np.zeros({shape}, np.{dt}) if {g} is None else "
                         f"np.ascontiguousarray({g}.reshape({shape}))")
            gouts.append(f"q_{g}")
        gins = []
        for k in grad_inputs:
            lines.append(f"    h{k} = np.empty(({rows}, {cols}), np.{codegen.dtype_of(group.inputs[k])})")
            gins.append(f"h{k}")
        lines.append("    " + self._launch(kernel, rows, cols, ", ".join([str(cols)] + names + gouts + gins),
                                              work_per_element(group.nodes)))
        for k in grad_inputs:
            r = group.inputs[k]
            lines.append(f"    {self._g(r)} = _acc({self._g(r)}, "
                         f"_sum_to(h{k}.reshape({tuple(group.shape)}), {codegen.shape_of(r)}))")
        return lines

    def _function(self, name, params, lines):
        source = _release_dead_locals(f"def {name}({', '.join(params)}):\n" + "".join(f"    {line}\n" for line in lines))
        code = compile(source, f"<ember.compile {name}>", "exec")
        exec(code, self.g)  # noqa: S102 - source generated above from the graph, no user text
        fn = self.g[name]
        fn.source = source
        return fn


def _blocks(group):
    """The (rows, cols) a group's kernels loop over: its shape's, except that a long single row of a group
    with no reduction, whose inputs are whole or scalars, is cut into rows of a power-of-two width, so the
    rows split over the threads (a 1-D chain over 256k floats ran on one thread)."""
    rows, cols = codegen.rows_cols(group.shape)
    if group.reduction is not None or not one_long_row(group):
        return rows, cols
    if any(codegen.kind_of(codegen.shape_of(r), group.shape) not in ("full", "scalar") for r in group.inputs):
        return rows, cols
    width = min(cols & -cols, 1 << 14)  # the largest power of two dividing cols, at most 16k
    return (cols // width, width) if width >= 1024 else (rows, cols)


def _release_dead_locals(source):
    """``source`` with each local dropped (set to None) right after the last top-level statement that reads it.

    A generated function is one long straight line: without this, every activation of a forward and every
    gradient of a backward would stay alive until it returns, doubling a training step's peak memory
    against eager mode, where each array goes as soon as nothing refers to it. (None rather than ``del``:
    a name set only inside an ``if`` may be unbound.)"""
    fn = ast.parse(source).body[0]
    last_use = {}
    for pos, stmt in enumerate(fn.body):
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name):
                last_use[node.id] = pos
    local = {a.arg for a in fn.args.args} | {node.id for stmt in fn.body for node in ast.walk(stmt)
                                              if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
    dead_after = {}
    for name, pos in last_use.items():
        if name in local and pos < len(fn.body) - 1:
            dead_after.setdefault(pos, []).append(name)
    body = []
    for pos, stmt in enumerate(fn.body):
        body.append(stmt)
        if pos in dead_after:
            names = sorted(dead_after[pos])
            body.append(ast.Assign(targets=[ast.Name(n, ast.Store()) for n in names], value=ast.Constant(None)))
    fn.body = body
    return ast.unparse(ast.fix_missing_locations(fn)) + "\n"


def a_needs(plan, ref):
    return _ref_node(ref) in plan.needs_grad


def _ref_node(ref):
    return ref.node if isinstance(ref, Out) else ref


def _refs(spec, found):
    if isinstance(spec, (Node, Out)):
        found.append(spec)
    elif isinstance(spec, (list, tuple)):
        for v in spec:
            _refs(v, found)
    elif isinstance(spec, dict):
        for v in spec.values():
            _refs(v, found)


def _collect(spec):
    found = []
    _refs(spec, found)
    return found


class CompiledBackward(AutogradNode):
    """The one node a compiled forward records: its backward is the plan's generated backward.

    A second derivative (grad mode on inside backward: ``create_graph=True``) cannot come from arrays;
    ``recompute()`` then replays the graph through the dispatcher on the call's inputs (and random state)
    and gives ``(outputs, leaves)`` to differentiate with a graph: the differentiable outputs in this
    node's order and aliases of ``leaves`` that they depend on."""

    def __init__(self, backward, values, leaves, metas, recompute):
        self._run, self._values, self._recompute = backward, values, recompute
        self.next_functions = tuple((t.grad_fn, t._output_nr) if t.grad_fn is not None else (accumulator(t), 0)
                                    for t in leaves)
        self._meta = metas
        self._versions = [t._version[0] for t in leaves]
        self._leaves = leaves

    def name(self):
        return "CompiledFunctionBackward"

    def _backward(self, *grads):
        if self._values is None:
            self._freed = True
            return self.saved_tensors  # raises the "backward through the graph a second time" error
        if grad_mode.state.enabled:
            return self._differentiate_replay(grads)
        result = self._run(*self._values, *[None if g is None else g._data for g in grads])
        return tuple(None if r is None else _tensor(r) for r in result)

    def _differentiate_replay(self, grads):
        for t, version in zip(self._leaves, self._versions):
            if t._version[0] != version:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by an inplace "
                    f"operation: [{t.type()} {list(t.shape)}] is at version {t._version[0]}; expected version "
                    f"{version} instead (an input or parameter of a compiled call changed before its double backward)")
        outputs, aliases = self._recompute()
        pairs = [(o, g) for o, g in zip(outputs, grads) if g is not None]
        return tuple(autograd.grad([o for o, _ in pairs], aliases, [g for _, g in pairs], create_graph=True,
                                   allow_unused=True, materialize_grads=True))

    def _free(self):
        self._values = self._recompute = self._leaves = None
