"""Elementwise binary ops: arithmetic, comparison, logic, and Tensor's operators.

Each public function promotes its operands (``dispatch.binary``) and runs one
primitive; a gradient flowing into a broadcast operand is summed back to its
shape by the node, so the derivatives below are written for equal shapes.
"""
from ember._tensor import Tensor
from ember.backend.dtype import torch_name
from ember.ops.dispatch import PRIMITIVES, Primitive, binary, primitive, result_type
from ember.ops.dual import linear, product
from ember.ops.registry import public


@primitive("AddBackward0")
def _add(ctx, xp, a, b, alpha=1):
    ctx.alpha = alpha
    return a + b if alpha == 1 else a + alpha * b


@_add.derivative
def _(ctx, g):
    return g, (g if ctx.alpha == 1 else g * ctx.alpha)


@primitive("SubBackward0")
def _sub(ctx, xp, a, b, alpha=1):
    ctx.alpha = alpha
    return a - b if alpha == 1 else a - alpha * b


@_sub.derivative
def _(ctx, g):
    return g, (-g if ctx.alpha == 1 else g * -ctx.alpha)


def _conj_saved(ctx):
    """The saved operands, conjugated when complex: PyTorch's gradients are conjugate Wirtinger derivatives."""
    a, b = ctx.saved_tensors
    if _is_complex(a) or _is_complex(b):
        a, b = _conj(a), _conj(b)
    return a, b


def _is_complex(x):
    return x._dtype.category == 3 if isinstance(x, Tensor) else isinstance(x, complex)


def _conj(x):
    return x.conj() if isinstance(x, Tensor) else x.conjugate()


@primitive("MulBackward0", save=(0, 1))
def _mul(ctx, xp, a, b):
    return a * b


@_mul.derivative
def _(ctx, g):
    a, b = _conj_saved(ctx)
    need_a, need_b = ctx.needs_input_grad
    return (g * b if need_a else None), (g * a if need_b else None)


@primitive("DivBackward0", save=(0, 1))
def _div(ctx, xp, a, b):
    return a / b


@_div.derivative
def _(ctx, g):
    a, b = _conj_saved(ctx)
    need_a, need_b = ctx.needs_input_grad
    return (g / b if need_a else None), (-g * a / (b * b) if need_b else None)


def _check_int_divisor(xp, a, b):
    """Integer division by zero raises, as in PyTorch (NumPy would warn and return 0)."""
    if xp.result_type(a, b).kind in "iub" and bool((b == 0).any() if hasattr(b, "any") else b == 0):
        raise RuntimeError("ZeroDivisionError")


@primitive("DivBackward2")
def _div_rounded(ctx, xp, a, b, rounding_mode):
    if xp.result_type(a, b).kind == "f":
        q = a / b
        return xp.floor(q) if rounding_mode == "floor" else xp.trunc(q)
    _check_int_divisor(xp, a, b)
    q = xp.floor_divide(a, b)
    if rounding_mode == "trunc":  # floor rounds towards -inf: step back up where the exact quotient is negative
        q = q + ((xp.remainder(a, b) != 0) & ((a < 0) != (b < 0)))
    return q


_div_rounded.derivative(lambda ctx, g: (g * 0, g * 0))


def _check_alpha(input, other, alpha):
    if isinstance(alpha, float) and not _operands_dtype(input, other).is_floating_point:
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating point number.")


def _operands_dtype(a, b):
    return result_type(a, b) if isinstance(a, Tensor) else result_type(b, a)


@public(inplace=True)
def add(input, other, *, alpha=1):
    """``input + alpha * other`` with broadcasting: ``ember.add(x, y, alpha=2)``."""
    if alpha == 1:
        return binary(_add, input, other)
    _check_alpha(input, other, alpha)
    return binary(_add, input, other, alpha=alpha)


def _is_bool(x):
    return isinstance(x, bool) or isinstance(x, Tensor) and x._dtype.name == "bool"


def _check_sub(input, other):
    if _is_bool(input) and _is_bool(other):
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. "
                           "Use the `^` or `logical_xor()` operator instead.")
    if _is_bool(input) or _is_bool(other):
        raise RuntimeError(
            "Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to invert "
            "a mask, use the `~` or `logical_not()` operator instead."
        )


@public(inplace=True, aliases=("subtract",))
def sub(input, other, *, alpha=1):
    """``input - alpha * other`` with broadcasting: ``ember.sub(x, y, alpha=2)``."""
    _check_sub(input, other)
    if alpha == 1:
        return binary(_sub, input, other)
    _check_alpha(input, other, alpha)
    return binary(_sub, input, other, alpha=alpha)


_rsub = _sub.variant("RsubBackward1")


@public
def rsub(input, other, *, alpha=1):
    """``other - alpha * input`` (reversed subtraction, what ``2 - x`` runs)."""
    _check_sub(input, other)
    if alpha == 1:
        return binary(_rsub, other, input)
    _check_alpha(input, other, alpha)
    return binary(_rsub, other, input, alpha=alpha)


@public(inplace=True, aliases=("multiply",))
def mul(input, other):
    """Elementwise product with broadcasting: ``ember.mul(x, 2)``."""
    return binary(_mul, input, other)


@public(inplace=True, aliases=("divide", "true_divide"))
def div(input, other, *, rounding_mode=None):
    """True division; ``rounding_mode="floor"`` or ``"trunc"`` rounds the quotient."""
    if rounding_mode is None:
        return binary(_div, input, other, float_result=True)
    if rounding_mode not in ("floor", "trunc"):
        raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '{rounding_mode}'")
    return binary(_div_rounded, input, other, rounding_mode=rounding_mode)


@public(inplace=True)
def floor_divide(input, other):
    """``div(input, other, rounding_mode="floor")``, what ``x // y`` runs."""
    return div(input, other, rounding_mode="floor")


@primitive("PowBackward0", save=(0, 1))
def _pow_scalar(ctx, xp, a, exponent):
    if xp.issubdtype(a.dtype, xp.integer) and isinstance(exponent, int) and exponent < 0:
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    return a ** exponent


@_pow_scalar.derivative
def _(ctx, g):
    a, e = ctx.saved_tensors
    if e == 0:
        return g * 0, None
    return g * e * a ** (e - 1), None


def _pow_forward(ctx, xp, a, b):
    if xp.result_type(a, b).kind not in "iu" or not bool((b < 0).any()):
        return a ** b
    # integer powers with negative exponents, as PyTorch: 1 stays 1, -1 alternates, anything else gives 0
    neg = b < 0
    out = a ** xp.where(neg, 0, b)
    minus_one = xp.where(b % 2 == 0, 1, -1)
    return xp.where(neg, xp.where(a == 1, 1, xp.where(a == -1, minus_one, 0)), out).astype(out.dtype)


_pow_tensor = Primitive(_pow_forward, "PowBackward1", save=(0, 1), save_output=True)


def _pow_backward(ctx, g):
    a, b, out = ctx.saved_tensors
    need_a, need_b = ctx.needs_input_grad
    grad_a = (g * b * a ** (b - 1)).where(b != 0, 0.0) if need_a else None
    grad_b = None
    if need_b:
        base = a if isinstance(a, Tensor) else b.new_tensor(a)
        grad_b = g * out * base.log()
        grad_b = grad_b.where(~((base == 0) & (b >= 0)), 0.0)
    return grad_a, grad_b


_pow_tensor.derivative(_pow_backward)
_pow_scalar_base = _pow_tensor.variant("PowBackward2")


@public(inplace=True)
def pow(input, exponent):
    """``input ** exponent``; either may be a tensor."""
    if not isinstance(input, Tensor):
        return binary(_pow_scalar_base, input, exponent)
    if isinstance(exponent, Tensor):
        return binary(_pow_tensor, input, exponent)
    return binary(_pow_scalar, input, exponent)


@primitive("Atan2Backward0", save=(0, 1))
def _atan2(ctx, xp, a, b):
    return xp.arctan2(a, b)


@_atan2.derivative
def _(ctx, g):
    a, b = ctx.saved_tensors
    denom = a * a + b * b
    return g * b / denom, -g * a / denom


@public(inplace=True, aliases=("arctan2",))
def atan2(input, other):
    return binary(_atan2, input, other, float_result=True)


def _select_grad(ctx, g):
    """Gradient of max/min-like selection: the winner takes g, ties share it."""
    a, b, out = ctx.saved_tensors
    a_wins = (a == out).to(g.dtype)
    b_wins = (b == out).to(g.dtype)
    share = a_wins + b_wins
    return g * a_wins / share, g * b_wins / share


def _selection(name, node, kernel):
    """max/min-like elementwise selection: ``kernel`` names the array function."""
    prim = Primitive(lambda ctx, xp, a, b: getattr(xp, kernel)(a, b), node, save=(0, 1), save_output=True, name=name)
    prim.derivative(_select_grad)

    def op(input, other):
        return binary(prim, input, other)
    op.__name__ = name
    op.__doc__ = f"Elementwise ``{kernel}`` with broadcasting; ties share the gradient."
    return public(op)


maximum = _selection("maximum", "MaximumBackward0", "maximum")
minimum = _selection("minimum", "MinimumBackward0", "minimum")
fmax = _selection("fmax", "FmaxBackward0", "fmax")
fmin = _selection("fmin", "FminBackward0", "fmin")


def _modulus(name, kernel, rounding):
    def forward(ctx, xp, a, b):
        _check_int_divisor(xp, a, b)
        return getattr(xp, kernel)(a, b)

    def derivative(ctx, g):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (g if need_a else None), (-g * getattr(a / b, rounding)() if need_b else None)

    by_tensor = Primitive(forward, f"{name}Backward1", save=(0, 1), name=kernel)
    by_tensor.derivative(derivative)
    by_scalar = by_tensor.variant(f"{name}Backward0")
    return lambda a, b: binary(by_tensor if isinstance(b, Tensor) else by_scalar, a, b)


_remainder = _modulus("Remainder", "remainder", "floor")
_fmod = _modulus("Fmod", "fmod", "trunc")


@public(inplace=True)
def remainder(input, other):
    """Python-style modulus: the result has the sign of ``other`` (``x % 3``)."""
    return _remainder(input, other)


@public(inplace=True)
def fmod(input, other):
    """C-style modulus: the result has the sign of ``input``: ``ember.fmod(x, 3)``."""
    return _fmod(input, other)


# comparison and logic: no gradient ------------------------------------------------------

def _comparison(name, fn, aliases=()):
    prim = primitive(None, name=name)(fn)

    def compare(input, other):
        return binary(prim, input, other)
    compare.__name__ = name
    compare.__doc__ = f"Elementwise ``{name}`` with broadcasting; returns a bool tensor."
    return public(compare, inplace=True, aliases=aliases)


eq = _comparison("eq", lambda ctx, xp, a, b: xp.equal(a, b))
ne = _comparison("ne", lambda ctx, xp, a, b: xp.not_equal(a, b), ("not_equal",))
lt = _comparison("lt", lambda ctx, xp, a, b: xp.less(a, b), ("less",))
le = _comparison("le", lambda ctx, xp, a, b: xp.less_equal(a, b), ("less_equal",))
gt = _comparison("gt", lambda ctx, xp, a, b: xp.greater(a, b), ("greater",))
ge = _comparison("ge", lambda ctx, xp, a, b: xp.greater_equal(a, b), ("greater_equal",))
logical_and = _comparison("logical_and", lambda ctx, xp, a, b: xp.logical_and(a, b))
logical_or = _comparison("logical_or", lambda ctx, xp, a, b: xp.logical_or(a, b))
logical_xor = _comparison("logical_xor", lambda ctx, xp, a, b: xp.logical_xor(a, b))


def _bitwise(name, fn):
    prim = primitive(None, name=name)(fn)

    def op(input, other):
        dtype = _operands_dtype(input, other)
        if dtype.is_floating_point:
            raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{torch_name(dtype)}' "
                                      "(bitwise ops need integer or bool tensors)")
        return binary(prim, input, other)
    op.__name__ = name
    op.__doc__ = f"Elementwise ``{name}`` of integer or bool tensors: ``ember.{name}(a, b)``."
    return public(op, inplace=True)


bitwise_and = _bitwise("bitwise_and", lambda ctx, xp, a, b: xp.bitwise_and(a, b))
bitwise_or = _bitwise("bitwise_or", lambda ctx, xp, a, b: xp.bitwise_or(a, b))
bitwise_xor = _bitwise("bitwise_xor", lambda ctx, xp, a, b: xp.bitwise_xor(a, b))
bitwise_left_shift = _bitwise("bitwise_left_shift", lambda ctx, xp, a, b: xp.left_shift(a, b))
bitwise_right_shift = _bitwise("bitwise_right_shift", lambda ctx, xp, a, b: xp.right_shift(a, b))


# operators ----------------------------------------------------------------------------------

_OPERANDS = (Tensor, int, float)


def _reflected(fn):
    return lambda self, other: fn(other, self)


def _inplace_op(name):
    def op(self, other):
        return getattr(self, name)(other)
    return op


Tensor.__add__ = Tensor.__radd__ = lambda self, other: binary(_add, self, other)
Tensor.__sub__ = sub
Tensor.__rsub__ = rsub
Tensor.__mul__ = Tensor.__rmul__ = lambda self, other: binary(_mul, self, other)
Tensor.__truediv__ = div
Tensor.__rtruediv__ = _reflected(div)
Tensor.__floordiv__ = floor_divide
Tensor.__rfloordiv__ = _reflected(floor_divide)
Tensor.__pow__ = pow
Tensor.__rpow__ = _reflected(pow)
Tensor.__mod__ = remainder
Tensor.__rmod__ = _reflected(remainder)
Tensor.__eq__ = lambda self, other: eq(self, other) if isinstance(other, _OPERANDS) else NotImplemented
Tensor.__ne__ = lambda self, other: ne(self, other) if isinstance(other, _OPERANDS) else NotImplemented
Tensor.__lt__ = lt
Tensor.__le__ = le
Tensor.__gt__ = gt
Tensor.__ge__ = ge
Tensor.__and__ = Tensor.__rand__ = bitwise_and
Tensor.__or__ = Tensor.__ror__ = bitwise_or
Tensor.__xor__ = Tensor.__rxor__ = bitwise_xor
Tensor.__lshift__ = bitwise_left_shift
Tensor.__rshift__ = bitwise_right_shift
Tensor.__rlshift__ = _reflected(bitwise_left_shift)
Tensor.__rrshift__ = _reflected(bitwise_right_shift)
for _name, _method in [("__iadd__", "add_"), ("__isub__", "sub_"), ("__imul__", "mul_"), ("__itruediv__", "div_"),
                       ("__ifloordiv__", "floor_divide_"), ("__ipow__", "pow_"), ("__imod__", "remainder_"),
                       ("__iand__", "bitwise_and_"), ("__ior__", "bitwise_or_"), ("__ixor__", "bitwise_xor_"),
                       ("__ilshift__", "bitwise_left_shift_"), ("__irshift__", "bitwise_right_shift_")]:
    setattr(Tensor, _name, _inplace_op(_method))


# forward-mode rules (run by ember.ops.dual) --------------------------------------------------

_add.jvp(linear())
_sub.jvp(linear())
_mul.jvp(product(0, 1))
_div_rounded.jvp(lambda j: j.out * 0)


@_div.jvp
def _(j):
    tb = j.tangents[1]
    return (j.tangent(0) - (j.out * tb if tb is not None else 0)) / j.inputs[1]


@_pow_scalar.jvp
def _(j):
    a, e = j.inputs
    return j.tangents[0] * 0 if e == 0 else j.tangents[0] * e * a ** (e - 1)


@_pow_tensor.jvp
def _(j):
    (a, b), (ta, tb) = j.inputs, j.tangents
    total = 0
    if ta is not None:
        total = (ta * b * a ** (b - 1)).where(b != 0, 0.0)
    if tb is not None:
        base = a if isinstance(a, Tensor) else b.new_tensor(a)
        total = total + (tb * j.out * base.log()).where(~((base == 0) & (b >= 0)), 0.0)
    return total


@_atan2.jvp
def _(j):
    a, b = j.inputs
    return (j.tangent(0) * b - a * j.tangent(1)) / (a * a + b * b)


def _select_jvp(j):
    (a, b), out = j.inputs, j.out
    a_wins, b_wins = (a == out).to(out.dtype), (b == out).to(out.dtype)
    return (j.tangent(0) * a_wins + j.tangent(1) * b_wins) / (a_wins + b_wins)


def _modulus_jvp(rounding):
    def rule(j):
        a, b = j.inputs
        return j.tangent(0) - (j.tangents[1] * getattr(a / b, rounding)() if j.tangents[1] is not None else 0)
    return rule


for _name in ("maximum", "minimum", "fmax", "fmin"):
    PRIMITIVES[_name].jvp(_select_jvp)
PRIMITIVES["remainder"].jvp(_modulus_jvp("floor"))
PRIMITIVES["fmod"].jvp(_modulus_jvp("trunc"))
