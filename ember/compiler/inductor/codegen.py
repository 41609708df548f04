"""Source text of a group's kernels: one loop over rows and the last dim, every op a scalar expression.

A group's loop shape ``S`` is viewed as ``(rows, n_cols)`` (``n_cols`` = the last dim). Each input
is read by how it broadcasts against ``S`` (its ``kind``): ``full`` (``x[i, j]``), ``row`` (one
value per column, ``x[j]``: a bias), ``col`` (one value per row, ``x[i]``: a mean kept with
``keepdim``), ``scalar`` (``x[0]``); any other broadcast is materialised as ``full``.
The forward kernel writes the group's outputs; the backward kernel recomputes the group's values
from its inputs (nothing inside a group is saved) and runs each op's traced derivative in reverse.
"""
import math

from ember.compiler.inductor import derivatives
from ember.compiler.inductor.pointwise import EXPRESSIONS, literal
from ember.export.graph import Node, Out

HEADER = ("import math\n\nimport numpy as np\n\n"
          "from ember.ops.row_math import exp as row_exp, row_sum, sigmoid as row_sigmoid, tanh as row_tanh\n\n\n")


def dtype_of(ref):
    dt = ref.node.meta["dtype"] if isinstance(ref, Out) else ref.meta["dtype"]
    return dt[ref.index] if isinstance(ref, Out) else dt


def shape_of(ref):
    shape = ref.node.meta["shape"] if isinstance(ref, Out) else ref.meta["shape"]
    return tuple(shape[ref.index] if isinstance(ref, Out) else shape)


def rows_cols(shape):
    cols = shape[-1] if shape else 1
    return math.prod(shape[:-1]) if shape else 1, cols


def kind_of(shape, loop):
    """How an input of ``shape`` broadcasts against the loop shape ``loop``."""
    if tuple(shape) == tuple(loop):
        return "full"
    if math.prod(shape) == 1:
        return "scalar"
    padded = (1,) * (len(loop) - len(shape)) + tuple(shape)
    if padded[-1] == (loop[-1] if loop else 1) and all(d == 1 for d in padded[:-1]):
        return "row"
    if padded[-1] == 1 and padded[:-1] == tuple(loop[:-1]):
        return "col"
    return "bcast"


def _load(name, kind):
    return {"full": f"{name}[i, j]", "bcast": f"{name}[i, j]", "row": f"{name}[j]", "col": f"{name}[i]",
            "scalar": f"{name}[0]"}[kind]


def _wrap(expr, dtype):
    return f"bool({expr})" if dtype == "bool" else f"np.{dtype}({expr})"


def _operands(node, var):
    """The op's operands as source text: tensor refs through ``var``, scalars as typed literals."""
    tensor_dtypes = [dtype_of(a) for a in node.args if isinstance(a, (Node, Out))]
    lit_dtype = dtype_of(node) if node.target == "where" else (tensor_dtypes[0] if tensor_dtypes else "float64")
    return [var(a) if isinstance(a, (Node, Out)) else literal(a, lit_dtype) for a in node.args]


def _expression(node, var):
    return _wrap(EXPRESSIONS[node.target](_operands(node, var), node.kwargs), dtype_of(node))


class _Body:
    """The per-element lines of a group's forward, shared by its two kernels."""

    def __init__(self, group):
        self.group = group
        self.kinds = [kind_of(shape_of(r), group.shape) for r in group.inputs]
        self.names = {r: f"x{k}" for k, r in enumerate(group.inputs)}
        self.names.update({n: f"t{k}" for k, n in enumerate(group.nodes)})

    def var(self, ref):
        return self.names[ref]

    def row_loads(self):
        return [f"x{k} = {_load(f'in{k}', kind)}" for k, kind in enumerate(self.kinds) if kind in ("col", "scalar")]

    def element_lines(self):
        lines = [f"x{k} = {_load(f'in{k}', kind)}" for k, kind in enumerate(self.kinds) if kind not in ("col", "scalar")]
        for n in self.group.nodes:
            if n is not self.group.reduction:
                lines.append(f"{self.names[n]} = {_expression(n, self.var)}")
        return lines


def forward_source(group):
    """The forward kernel: ``kernel(lo, hi, n_cols, in0.., out0.., [red])``."""
    body = _Body(group)
    outs = [n for n in group.outputs if n is not group.reduction]
    params = ["lo", "hi", "n_cols"] + [f"in{k}" for k in range(len(group.inputs))] + [f"out{k}" for k in range(len(outs))]
    red = group.reduction
    lines = ["for i in range(lo, hi):"]
    inner = body.row_loads()
    element = body.element_lines() + [f"out{k}[i, j] = {body.names[n]}" for k, n in enumerate(outs)]
    chunked = red is not None and red.target != "amax" and dtype_of(red).startswith("float")
    if chunked:  # a float sum: elements into a chunk buffer (a loop that vectorises), each chunk summed apart
        params.append("red")
        lines.insert(0, f"buf = np.empty({SUM_CHUNK}, np.float64)")
        inner += ["acc = 0.0", f"for j0 in range(0, n_cols, {SUM_CHUNK}):",
                  f"    m = min({SUM_CHUNK}, n_cols - j0)", "    for jj in range(m):", "        j = j0 + jj"]
        inner += ["        " + line for line in element + [f"buf[jj] = {body.var(red.args[0])}"]]
        inner.append("    acc += row_sum(buf[:m])")
    else:
        if red is not None:
            params.append("red")
            float_acc = dtype_of(red).startswith("float")
            inner.append("acc = -np.inf" if red.target == "amax" else ("acc = 0.0" if float_acc else "acc = 0"))
            x = body.var(red.args[0])
            element += [f"if {x} > acc or {x} != {x}:", f"    acc = {x}"] if red.target == "amax" else [f"acc += {x}"]
        inner.append("for j in range(n_cols):")
        inner += ["    " + line for line in element]
    if red is not None:
        value = "acc / n_cols" if red.target == "mean" else "acc"
        inner.append(f"red[i] = {_wrap(value, dtype_of(red))}")
    lines += ["    " + line for line in inner]
    return _module(params, lines)


# A float sum in one running total is a chain of dependent adds that keeps the whole loop (the fused ops
# before it too) from vectorising: a 40-op chain summed over 1M floats took 6.2 ms against 0.5 without the
# sum. So elements go to a buffer and each chunk is summed by ``row_math.row_sum`` (reassociation allowed:
# SIMD lanes of partial sums, in float64): the order is fixed by the chunk size, not by threads or data.
SUM_CHUNK = 256


def _module(params, lines):
    text = f"def kernel({', '.join(params)}):\n" + "".join(f"    {line}\n" for line in lines)
    return HEADER + text


def backward_source(group, grad_nodes, grad_inputs):
    """The backward kernel: ``kernel(lo, hi, n_cols, in0.., gout0.., gin0..)``.

    ``grad_nodes``: the group's nodes a gradient flows through; ``grad_inputs``: the positions of the
    inputs that get one. ``gout`` follows the group's outputs in ``grad_nodes`` (the reduction's gradient
    is per row)."""
    body = _Body(group)
    red = group.reduction
    params = ["lo", "hi", "n_cols"] + [f"in{k}" for k in range(len(group.inputs))]
    grad_outputs = [n for n in group.outputs if n in grad_nodes]
    params += [f"gout{k}" for k in range(len(grad_outputs))] + [f"gin{k}" for k in grad_inputs]
    inner = body.row_loads()
    if red is not None and red in grad_nodes:
        k = grad_outputs.index(red)
        scale = " / n_cols" if red.target == "mean" else ""
        inner.append(f"gred = gout{k}[i]{scale}")
    element = body.element_lines()
    grads = {}
    for n in group.nodes:
        if n in grad_nodes and n is not red:
            grads[n] = f"g{body.names[n]}"
            element.append(f"{grads[n]} = {_zero(dtype_of(n))}")
    for k, r in enumerate(group.inputs):
        if k in grad_inputs:
            grads[r] = f"g{body.names[r]}"
            element.append(f"{grads[r]} = {_zero(dtype_of(r))}")
    for k, n in enumerate(grad_outputs):
        if n is not red:
            element.append(f"{grads[n]} += gout{k}[i, j]")
    counter = [0]
    for n in reversed(group.nodes):
        if n is red:
            x = red.args[0]
            if x in grads and red in grad_nodes:
                element.append(f"{grads[x]} += {_wrap('gred', dtype_of(x))}")
            continue
        if n not in grads:
            continue
        element += _derivative_lines(n, body, grads, counter)
    for k in grad_inputs:
        element.append(f"gin{k}[i, j] = {grads[group.inputs[k]]}")
    inner.append("for j in range(n_cols):")
    inner += ["    " + line for line in element]
    return _module(params, ["for i in range(lo, hi):"] + ["    " + line for line in inner])


def _zero(dtype):
    return f"np.{dtype}(0)"


def _derivative_lines(node, body, grads, counter):
    """The lines adding ``node``'s contribution to its inputs' gradients, from its traced derivative."""
    tmpl = derivatives.template(node)
    tensors = [a for a in node.args if isinstance(a, (Node, Out))]
    ph = [n for n in tmpl.graph.nodes if n.op == "placeholder"]
    names = {p: body.var(a) for p, a in zip(ph, tensors)}
    names[ph[-2]], names[ph[-1]] = body.var(node), grads[node]
    lines = []
    for n in tmpl.graph.nodes:
        if n.op == "call_function":
            counter[0] += 1
            names[n] = f"d{counter[0]}"
            lines.append(f"{names[n]} = {_expression(n, lambda r: names[r])}")
    for arg, result in zip(node.args, tmpl.results):
        if isinstance(arg, (Node, Out)) and arg in grads and isinstance(result, Node):
            lines.append(f"{grads[arg]} += {_wrap(names[result], dtype_of(arg))}")
    return lines
