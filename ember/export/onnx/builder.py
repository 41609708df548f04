"""Turns a captured graph (ember/export/README.md) into an ONNX model, one emitter per op.

An emitter is ``fn(b, node)`` registered for one or more registry op names with ``@emits``; it
reads the node's inputs through ``b.value`` and its literal kwargs, adds ONNX nodes with
``b.op`` and returns the ONNX name of its result (a list for an op with several outputs).
The protobuf is built with the ``onnx`` package, never by hand."""
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ember.export.graph import Node, Out
from ember.export.symbolic import SymInt

EMITTERS = {}

_ONNX_DTYPES = {
    "float32": TensorProto.FLOAT, "float64": TensorProto.DOUBLE, "float16": TensorProto.FLOAT16,
    "bfloat16": TensorProto.BFLOAT16, "int64": TensorProto.INT64, "int32": TensorProto.INT32,
    "int16": TensorProto.INT16, "int8": TensorProto.INT8, "uint8": TensorProto.UINT8, "bool": TensorProto.BOOL,
}


class UnsupportedOperatorError(RuntimeError):
    """An op of the graph has no ONNX emitter (or not for these arguments)."""


def emits(*targets):
    def register(fn):
        for t in targets:
            EMITTERS[t] = fn
        return fn
    return register


def onnx_dtype(name):
    try:
        return _ONNX_DTYPES[name]
    except KeyError:
        raise UnsupportedOperatorError(f"dtype {name} has no ONNX equivalent") from None


class Builder:
    """The ONNX graph under construction: names of values, initializers, nodes."""

    def __init__(self, graph, state, dynamic, opset, input_names, export_params):
        self.graph, self.state, self.opset = graph, state, opset
        self.nodes, self.initializers, self.inputs = [], [], []
        self._names, self._used = {}, set()
        self._export_params = export_params
        self._symbols = {}  # symbol -> (onnx input name, dim)
        self.node = None
        self._dim_names = {k: v["name"] for k, v in (dynamic or {}).get("symbols", {}).items()}
        dims = (dynamic or {}).get("inputs", [])
        for i, ph in enumerate(graph.placeholders):
            name = input_names[i] if i < len(input_names) else ph.name
            self._names[ph] = self._unique(name)
            for d, sym in enumerate(dims[i] if i < len(dims) else []):
                if sym is not None:
                    self._symbols.setdefault(sym, (self._names[ph], d))
            self.inputs.append(helper.make_tensor_value_info(
                self._names[ph], onnx_dtype(ph.meta["dtype"]), self._shape_info(ph.meta["shape"], dims, i)))

    def _shape_info(self, shape, dims, i):
        syms = dims[i] if i < len(dims) else []
        return [self._dim_names[syms[d]] if d < len(syms) and syms[d] is not None else s for d, s in enumerate(shape)]

    def dim_param(self, size):
        """A static size, or the name of a symbolic one (its Dim's name, or its expression)."""
        if not isinstance(size, SymInt):
            return size
        if size.const == 0 and len(size.terms) == 1:
            (names, coef), = size.terms.items()
            if coef == 1 and len(names) == 1:
                return self._dim_names.get(names[0], names[0])
        return repr(size)

    def _unique(self, hint):
        name, k = hint, 0
        while name in self._used:
            k += 1
            name = f"{hint}_{k}"
        self._used.add(name)
        return name

    # values -------------------------------------------------------------------------------
    def value(self, ref):
        """The ONNX name of a node reference (a ``Node`` or ``Out``)."""
        key = ref if isinstance(ref, Node) else (ref.node, ref.index)
        if key not in self._names:
            node = ref if isinstance(ref, Node) else ref.node
            if node.op == "get_attr":
                self._names[node] = self.const(self.state[node.target], node.target.replace(".", "_"),
                                               is_param=True)
            else:
                raise UnsupportedOperatorError(f"output {getattr(ref, 'index', 0)} of {node.name} ({node.target}) "
                                               "has no ONNX value")
        return self._names[key]

    def meta(self, ref):
        """(shape, dtype name) of a node reference."""
        node, i = (ref, None) if isinstance(ref, Node) else (ref.node, ref.index)
        shape, dtype = node.meta["shape"], node.meta["dtype"]
        return (shape[i], dtype[i]) if i is not None else (shape, dtype)

    def const(self, array, hint="const", is_param=False):
        data = array._data if hasattr(array, "_data") else np.asarray(array)
        name = self._unique(hint)
        if is_param and not self._export_params:
            self.inputs.append(helper.make_tensor_value_info(name, onnx_dtype(str(data.dtype)), list(data.shape)))
        else:
            self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(data), name))
        return name

    def scalar(self, value, dtype):
        """A 0-d constant of the given ember dtype name (for a Python scalar operand)."""
        return self.const(np.asarray(value, dtype=np.dtype(dtype) if dtype != "bfloat16" else np.float32), "scalar")

    def ints(self, values):
        """A 1-d int64 tensor of ``values``, where SymInts are computed from the inputs' shapes."""
        if not any(isinstance(v, SymInt) for v in values):
            return self.const(np.asarray(values, dtype=np.int64), "shape")
        return self.op("Concat", [self._sym(v) if isinstance(v, SymInt) else self.const(np.asarray([v], np.int64))
                                  for v in values], axis=0)

    def _sym(self, s):
        total = None
        for names, coef in sorted(s.terms.items()):
            term = self.const(np.asarray([coef], np.int64)) if coef != 1 else None
            for sym in names:
                if sym not in self._symbols:
                    raise UnsupportedOperatorError(f"size {s!r} uses {sym}, which is no input's dim")
                src, d = self._symbols[sym]
                dim = self.op("Shape", [src], start=d, end=d + 1)
                term = dim if term is None else self.op("Mul", [term, dim])
            total = term if total is None else self.op("Add", [total, term])
        if s.const:
            total = self.op("Add", [total, self.const(np.asarray([s.const], np.int64))])
        return total

    # nodes --------------------------------------------------------------------------------
    def op(self, op_type, inputs, outputs=1, **attrs):
        """Add one ONNX node; returns its output name (a list when ``outputs`` > 1)."""
        hint = self.node.name if self.node is not None else op_type.lower()
        names = [self._unique(hint) for _ in range(outputs)]
        self.nodes.append(helper.make_node(op_type, inputs, names, name=self._unique(f"n_{hint}"),
                                           **{k: v for k, v in attrs.items() if v is not None}))
        return names if outputs > 1 else names[0]

    def unsupported(self, node, why="no ONNX emitter"):
        where = f" in {node.meta['module']}" if node.meta.get("module") else ""
        return UnsupportedOperatorError(f"ONNX export (opset {self.opset}): op '{node.target}'{where} "
                                        f"at {node.meta.get('stack', '?')}: {why}")

    def emit(self, node):
        fn = EMITTERS.get(node.target)
        if fn is None:
            raise self.unsupported(node)
        self.node = node
        out = fn(self, node)
        self.node = None
        if isinstance(out, (list, tuple)):
            for i, name in enumerate(out):
                if name is not None:
                    self._names[(node, i)] = name
        else:
            self._names[node] = out


def build_model(graph, state, dynamic, *, opset, input_names, output_names, export_params, producer):
    """The ``onnx.ModelProto`` of a captured graph."""
    b = Builder(graph, state, dynamic, opset, list(input_names or ()), export_params)
    for node in graph.nodes:
        if node.op == "call_function":
            b.emit(node)
    outs = _flat_outputs(graph.output_node.args[0])
    names = list(output_names or ())
    outputs = []
    for i, ref in enumerate(outs):
        src = b.value(ref)
        name = names[i] if i < len(names) else f"output_{i}" if len(outs) > 1 or not names else names[0]
        name = b._unique(name)
        b.nodes.append(helper.make_node("Identity", [src], [name], name=b._unique(f"n_{name}")))
        shape, dtype = b.meta(ref)
        dims = [b.dim_param(s) for s in shape]
        outputs.append(helper.make_tensor_value_info(name, onnx_dtype(dtype), dims))
    g = helper.make_graph(b.nodes, "ember_graph", b.inputs, outputs, b.initializers)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="ember",
                              producer_version=producer)
    model.ir_version = min(model.ir_version, 10)
    return model


def _flat_outputs(value):
    if isinstance(value, (Node, Out)):
        return [value]
    if isinstance(value, (list, tuple)):
        return [r for v in value for r in _flat_outputs(v)]
    if isinstance(value, dict):
        return [r for v in value.values() for r in _flat_outputs(v)]
    raise UnsupportedOperatorError(f"ONNX outputs must be tensors, got a literal {value!r:.40}")


def check(model):
    onnx.checker.check_model(model, full_check=True)
