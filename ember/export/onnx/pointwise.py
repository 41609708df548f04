"""ONNX emitters of elementwise ops, activations, softmax and reductions."""
import math

import numpy as np

from ember.export.graph import Node, Out
from ember.export.onnx.builder import emits, onnx_dtype

_UNARY = {
    "relu": "Relu", "neg": "Neg", "exp": "Exp", "log": "Log", "sqrt": "Sqrt", "tanh": "Tanh", "sigmoid": "Sigmoid",
    "abs": "Abs", "sin": "Sin", "cos": "Cos", "tan": "Tan", "erf": "Erf", "floor": "Floor", "ceil": "Ceil",
    "reciprocal": "Reciprocal", "sign": "Sign", "asin": "Asin", "acos": "Acos", "atan": "Atan", "sinh": "Sinh",
    "cosh": "Cosh", "asinh": "Asinh", "acosh": "Acosh", "atanh": "Atanh", "isnan": "IsNaN", "logical_not": "Not",
    "round": "Round", "clone": "Identity", "detach": "Identity",
}
_BINARY = {
    "add": "Add", "sub": "Sub", "mul": "Mul", "div": "Div", "pow": "Pow", "maximum": "Max", "minimum": "Min",
    "eq": "Equal", "lt": "Less", "gt": "Greater", "le": "LessOrEqual", "ge": "GreaterOrEqual",
    "logical_and": "And", "logical_or": "Or", "logical_xor": "Xor",
}


def operand(b, x, dtype):
    """The ONNX name of an op input: a node reference, or a Python scalar as a constant of ``dtype``."""
    return b.value(x) if isinstance(x, (Node, Out)) else b.scalar(x, dtype)


def param(node, i, name, default=None):
    """An op parameter passed either as positional input ``i`` or as keyword ``name``."""
    if name in node.kwargs:
        return node.kwargs[name]
    return node.args[i] if len(node.args) > i else default


def _out_dtype(node, i=None):
    dtype = node.meta["dtype"]
    return dtype[i] if isinstance(dtype, list) else dtype


def _in_dtype(b, node):
    """The dtype the operands share (the first tensor operand's; the dispatcher promoted them already)."""
    for a in node.args:
        if isinstance(a, (Node, Out)):
            return b.meta(a)[1]
    return _out_dtype(node)


@emits(*_UNARY)
def unary(b, node):
    return b.op(_UNARY[node.target], [b.value(node.args[0])])


@emits("rsqrt")
def rsqrt(b, node):
    return b.op("Reciprocal", [b.op("Sqrt", [b.value(node.args[0])])])


@emits(*_BINARY)
def binary(b, node):
    dtype = _in_dtype(b, node)
    x, y = (operand(b, a, dtype) for a in node.args[:2])
    alpha = node.kwargs.get("alpha", 1)
    if alpha != 1:
        y = b.op("Mul", [y, b.scalar(alpha, dtype)])
    return b.op(_BINARY[node.target], [x, y])


@emits("ne")
def not_equal(b, node):
    dtype = _in_dtype(b, node)
    return b.op("Not", [b.op("Equal", [operand(b, a, dtype) for a in node.args[:2]])])


@emits("pow_scalar")
def pow_scalar(b, node):
    x = b.value(node.args[0])
    return b.op("Pow", [x, b.scalar(param(node, 1, "exponent"), _out_dtype(node))])


@emits("gelu")
def gelu(b, node):
    """Exact GELU, x * Phi(x), from Erf (ONNX's own Gelu op needs opset 20)."""
    x, dtype = b.value(node.args[0]), _out_dtype(node, 0)
    phi = b.op("Add", [b.scalar(1.0, dtype), b.op("Erf", [b.op("Mul", [x, b.scalar(1 / math.sqrt(2), dtype)])])])
    return [b.op("Mul", [b.op("Mul", [x, phi]), b.scalar(0.5, dtype)]), None]


@emits("gelu_tanh")
def gelu_tanh(b, node):
    """tanh GELU: ONNX's Gelu(approximate="tanh") from opset 20, else x (1 + tanh(k (x + 0.044715 x^3))) / 2."""
    x, dtype = b.value(node.args[0]), _out_dtype(node, 0)
    if b.opset >= 20:
        return [b.op("Gelu", [x], approximate="tanh"), None]
    cubic = b.op("Mul", [b.op("Mul", [b.op("Mul", [x, x]), x]), b.scalar(0.044715, dtype)])
    inner = b.op("Mul", [b.op("Add", [x, cubic]), b.scalar(math.sqrt(2 / math.pi), dtype)])
    half = b.op("Mul", [x, b.scalar(0.5, dtype)])
    return [b.op("Mul", [half, b.op("Add", [b.scalar(1.0, dtype), b.op("Tanh", [inner])])]), None]


@emits("silu")
def silu(b, node):
    """x * Sigmoid(x) (ONNX has no SiLU op in the opsets ember exports)."""
    x = b.value(node.args[0])
    return [b.op("Mul", [x, b.op("Sigmoid", [x])]), None]


@emits("mish")
def mish(b, node):
    """ONNX's Mish (opset 18)."""
    return b.op("Mish", [b.value(node.args[0])])


@emits("softmax", "log_softmax")
def softmax(b, node):
    return b.op("Softmax" if node.target == "softmax" else "LogSoftmax", [b.value(node.args[0])],
                axis=node.kwargs["dim"])


@emits("clamp_scalar")
def clamp(b, node):
    dtype = _out_dtype(node)
    lo, hi = param(node, 1, "lo"), param(node, 2, "hi")
    return b.op("Clip", [b.value(node.args[0]), b.scalar(lo, dtype) if lo is not None else "",
                         b.scalar(hi, dtype) if hi is not None else ""])


@emits("where")
def where(b, node):
    dtype = _out_dtype(node)
    cond, x, y = node.args[:3]
    return b.op("Where", [b.value(cond), operand(b, x, dtype), operand(b, y, dtype)])


@emits("masked_fill")
def masked_fill(b, node):
    x, mask = node.args[:2]
    dtype = _out_dtype(node)
    value = param(node, 2, "value")
    return b.op("Where", [b.value(mask), operand(b, value, dtype), b.value(x)])


@emits("to_copy")
def to_copy(b, node):
    return b.op("Cast", [b.value(node.args[0])], to=onnx_dtype(_out_dtype(node)))


_REDUCE = {"sum": "ReduceSum", "mean": "ReduceMean", "amax": "ReduceMax", "amin": "ReduceMin"}


@emits(*_REDUCE)
def reduce(b, node):
    x = b.value(node.args[0])
    dims = node.kwargs.get("dims")
    keepdim = int(bool(node.kwargs.get("keepdim", False)))
    if node.kwargs.get("dtype") is not None:
        x = b.op("Cast", [x], to=onnx_dtype(_out_dtype(node)))
    axes = [b.ints(list(dims))] if dims else []
    return b.op(_REDUCE[node.target], [x, *axes], keepdims=keepdim)


@emits("triu", "tril")
def trilu(b, node):
    k = b.const(np.asarray(node.kwargs.get("diagonal", 0), np.int64), "k")
    return b.op("Trilu", [b.value(node.args[0]), k], upper=int(node.target == "triu"))
