"""An elementwise op's derivative as a small graph, traced once from the op's own record.

The derivative of every primitive is written in ember ops (``ember/ops/...``). For an
elementwise op those ops are elementwise too, so running ``prim.backward`` once under a
capture, on stand-in tensors of two elements, records it as a graph of ops the kernel
generator can write as scalar expressions: the fused backward kernel reuses the op's own
derivative instead of a second definition. A derivative that reads an array stashed by
the forward, draws a constant, or runs an op with no scalar form gives None: that op is not
fused where a gradient flows.
"""
import warnings

import numpy as np

from ember._tensor import Tensor
from ember.autograd.graph import OpNode
from ember.backend import CPU
from ember.backend.dtype import _from_np
from ember.compiler.inductor.pointwise import EXPRESSIONS, is_pointwise
from ember.export.graph import Node, Out
from ember.export.program import capture

_templates = {}


class Template:
    """``graph``: the traced derivative (placeholders: the op's tensor inputs, its output, the
    output's gradient); ``results[k]``: the graph value (Node or literal 0/None) giving input k's gradient."""

    def __init__(self, graph, results):
        self.graph, self.results = graph, results


def template(node):
    """The traced derivative of a call node's op (cached per op, parameters, dtypes and scalar operands)."""
    prim = node.meta["_prim"]
    key = (node.target, prim.node_name, repr(node.kwargs),
           tuple(_dtype_of(a) if isinstance(a, (Node, Out)) else ("lit", repr(a)) for a in node.args))
    if key not in _templates:
        try:
            _templates[key] = _trace(prim, node)
        except Exception:  # noqa: BLE001 - any failure only means "not fused where a gradient flows"
            _templates[key] = None
    return _templates[key]


def _dtype_of(ref):
    dt = ref.node.meta["dtype"] if isinstance(ref, Out) else ref.meta["dtype"]
    return dt[ref.index] if isinstance(ref, Out) else dt


def _stand_in(dtype):
    np_dtype = np.dtype(dtype)
    values = [True, False] if np_dtype == np.bool_ else ([1, 2] if np_dtype.kind in "iu" else [0.5, 0.75])
    return Tensor._make(np.array(values, dtype=np_dtype), _from_np[np_dtype], CPU)


def _trace(prim, node):
    if prim.backward is None:
        return None
    args = [_stand_in(_dtype_of(a)) if isinstance(a, (Node, Out)) else a for a in node.args]
    tensors = [a for a in args if isinstance(a, Tensor)]
    ctx = OpNode()
    out = prim.forward(ctx, np, *[a._data if isinstance(a, Tensor) else a for a in args], **node.kwargs)
    if type(out) is tuple or any(isinstance(v, np.ndarray) for v in vars(ctx).values()):
        return None
    out = Tensor._make(np.asarray(out), _from_np[np.asarray(out).dtype], CPU)
    grad = Tensor._make(np.array([0.25, -1.5], dtype=out._data.dtype), out._dtype, CPU)
    ctx._prim = prim
    ctx._meta = [(a._data.shape, a._dtype) if isinstance(a, Tensor) and a._dtype.is_floating_point else None
                 for a in args]
    ctx.next_functions = tuple((None, 0) for _ in args)

    def derivative(*given):
        stand = iter(given[:len(tensors)])
        inputs = [next(stand) if isinstance(a, Tensor) else a for a in args]
        saved = list(inputs) if prim.save is True else [inputs[i] for i in prim.save]
        outs = (given[-2],) if prim.save_output else ()
        ctx._save(saved + list(outs), outs)
        return prim.backward(ctx, given[-1])

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        graph, _, _, result = capture(derivative, (*tensors, out, grad), report="error", differentiable=False)
    if any(n.op == "get_attr" for n in graph.nodes):
        return None
    if any(n.op == "call_function" and (n.target not in EXPRESSIONS or not is_pointwise(n)) for n in graph.nodes):
        return None
    spec = graph.output_node.args[0]
    spec = spec if isinstance(spec, tuple) else (spec,)
    if len(spec) != len(args) or any(isinstance(r, Out) for r in spec):
        return None
    for r in spec:
        if isinstance(r, Node) and r.meta.get("shape") != [2]:
            return None  # a derivative that changes the shape is no scalar expression
    return Template(graph, spec)
