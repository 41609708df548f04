"""Elementwise ops as scalar expressions, the pieces a fused kernel is written from.

``EXPRESSIONS[name](args, params)`` gives the Python/numba expression of one element of the
op's result from its operands' expressions (``args``: variable names, or literals already
typed). The code generator wraps every result in its dtype's constructor (``float32(...)``),
so each step rounds as NumPy's does and an int literal never widens a float32 chain. exp, tanh and
sigmoid are ``ember.ops.row_math``'s inline forms (a libm call per element kept a fused loop from
vectorising: four such kernels over 256k floats took 6-7 ms each).
"""
import math

import numpy as np

from ember.backend.compiled import KERNEL_DTYPES


def _alpha(op):
    return lambda a, p: f"({a[0]} {op} {a[1]})" if p.get("alpha", 1) == 1 else f"({a[0]} {op} {p['alpha']!r} * {a[1]})"


def _call(fn):
    return lambda a, p: f"{fn}({a[0]})"


def _binary(op):
    return lambda a, p: f"({a[0]} {op} {a[1]})"


EXPRESSIONS = {
    "add": _alpha("+"), "sub": _alpha("-"), "mul": _binary("*"), "div": _binary("/"),
    "gt": _binary(">"), "lt": _binary("<"), "ge": _binary(">="), "le": _binary("<="),
    "eq": _binary("=="), "ne": _binary("!="),
    "maximum": lambda a, p: f"({a[0]} if {a[0]} > {a[1]} or {a[0]} != {a[0]} else {a[1]})",  # NaN wins, as in NumPy
    "minimum": lambda a, p: f"({a[0]} if {a[0]} < {a[1]} or {a[0]} != {a[0]} else {a[1]})",
    "neg": lambda a, p: f"(-{a[0]})",
    "exp": _call("row_exp"), "log": _call("np.log"), "log1p": _call("np.log1p"), "expm1": _call("np.expm1"),
    "tanh": _call("row_tanh"), "sqrt": _call("np.sqrt"), "sin": _call("np.sin"), "cos": _call("np.cos"),
    "abs": _call("abs"), "erf": _call("math.erf"),
    "rsqrt": lambda a, p: f"(1 / np.sqrt({a[0]}))", "reciprocal": lambda a, p: f"(1 / {a[0]})",
    "sigmoid": _call("row_sigmoid"),
    "sigmoid_backward": lambda a, p: f"({a[0]} * {a[1]} * (1 - {a[1]}))",
    "relu_backward": lambda a, p: f"(0 if {a[1]} <= 0 else {a[0]})",
    "relu": lambda a, p: f"({a[0]} if {a[0]} > 0 or {a[0]} != {a[0]} else 0)",
    "pow_scalar": lambda a, p: f"({a[0]} ** {a[1]})",
    "where": lambda a, p: f"({a[1]} if {a[0]} else {a[2]})",
    "logical_not": lambda a, p: f"(not {a[0]})",
    "to_copy": lambda a, p: a[0], "clone": lambda a, p: a[0], "detach": lambda a, p: a[0],
}

REDUCTIONS = ("sum", "mean", "amax")
"""Reductions a kernel can end with, over the last dim (``amax`` only where no gradient flows)."""


def is_pointwise(node):
    """Whether a call node is one elementwise op of the table on arrays numba handles."""
    if node.target not in EXPRESSIONS or "generator" in node.kwargs:
        return False
    if node.target == "to_copy" and node.kwargs.get("device") is not node.kwargs.get("src_device"):
        return False
    if node.target == "pow_scalar" and not (isinstance(node.args[1], (int, float))
                                            and str(node.meta.get("dtype")).startswith("float")):
        return False  # an integer base's errors (negative powers) stay the op's own
    return _kernel_dtype(node.meta.get("dtype")) and all(
        _kernel_dtype(a.meta.get("dtype")) for a in node.all_input_nodes)


def _kernel_dtype(name):
    return isinstance(name, str) and np.dtype(name) in KERNEL_DTYPES


def literal(value, dtype):
    """A Python scalar operand as source text typed like the tensor it meets (NumPy's rule: the scalar
    takes the array's dtype)."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float) and not math.isfinite(value):
        text = "np.nan" if value != value else ("np.inf" if value > 0 else "-np.inf")
    else:
        text = repr(value)
    return f"np.{dtype}({text})" if dtype != "bool" else text
