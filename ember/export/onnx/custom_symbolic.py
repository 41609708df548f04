"""ONNX for custom ops: ``register_custom_op_symbolic("mylib::swish", fn, opset)`` gives a custom op
(ember.library) an emitter. ``fn(g, *inputs, **params)`` receives the ONNX names of the op's tensor
inputs and its other arguments, adds nodes with ``g.op("Mul", a, b, attr_f=1.0)`` (PyTorch's
suffixes ``_f``/``_i``/``_s``/``_t``/``_fs``/``_is`` on attribute names are accepted and dropped;
constants: ``g.op("Constant", value_t=tensor)``) and returns the output name(s). Importing this
module does not import ``onnx``."""
import re

import numpy as np

SYMBOLICS = {}  # graph target ("mylib.swish") -> (fn, opset it was registered for)
_SUFFIX = re.compile(r"_(f|i|s|t|fs|is|ss)$")


def register_custom_op_symbolic(symbolic_name, symbolic_fn, opset_version):
    namespace, sep, name = symbolic_name.partition("::")
    if not sep or not namespace.isidentifier() or not name.isidentifier():
        raise ValueError(f"Failed to register operator {symbolic_name}: expected 'namespace::name'")
    SYMBOLICS[f"{namespace}.{name}"] = (symbolic_fn, int(opset_version))


def unregister_custom_op_symbolic(symbolic_name, opset_version):
    SYMBOLICS.pop(symbolic_name.replace("::", "."), None)


class SymbolicGraph:
    """The ``g`` a symbolic function adds nodes to."""

    def __init__(self, builder):
        self._b = builder

    def op(self, op_type, *inputs, outputs=1, **attrs):
        if op_type == "Constant" and "value_t" in attrs:  # g.op("Constant", value_t=ember.tensor(2.0))
            value = attrs["value_t"]
            return self._b.const(np.asarray(value.numpy() if hasattr(value, "numpy") else value), "const")
        return self._b.op(op_type, list(inputs), outputs, **{_SUFFIX.sub("", k): v for k, v in attrs.items()})


def emitter(fn):
    """The builder emitter that runs a registered symbolic function on a call node."""
    def emit(b, node):
        inputs = [b.value(a) for a in node.args]
        params = {k: v for k, v in node.kwargs.items() if k != "_tensor_slots"}
        return fn(SymbolicGraph(b), *inputs, **params)
    return emit
