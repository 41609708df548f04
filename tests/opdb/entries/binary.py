"""Elementwise ops of two operands, with their operator forms."""
from opdb.core import INTS, OpEntry, xfail
from opdb.samples import binary

NON_DIFF = dict(differentiable=False)
NONZERO = dict(rlow=0.5, rhigh=2.0)  # divisors away from zero
BITS = ("int64", "int32", "bool")
BOOL_DIVISION = xfail("values", "ember raises RuntimeError (ZeroDivisionError) for bool operands where torch raises "
                      "NotImplementedError: ember.remainder(ember.tensor([True]), ember.tensor([True]))", ("bool",))
BOOL_POW = xfail("values", "ember computes pow of two bool tensors where torch raises NotImplementedError: "
                 "ember.pow(ember.tensor([True]), ember.tensor([True]))", ("bool",))


def _ops(name, *, rop=True, iop=True):
    return tuple(f"__{p}{name}__" for p, on in (("", True), ("r", rop), ("i", iop)) if on)


def _b(name, samples=None, **kw):
    return OpEntry(name, samples or binary(), **kw)


ENTRIES = [
    _b("add", operators=_ops("add")),
    _b("sub", operators=_ops("sub")),
    _b("rsub"),
    _b("mul", operators=_ops("mul")),
    _b("div", binary(**NONZERO), operators=_ops("truediv")),
    _b("floor_divide", binary(**NONZERO), operators=_ops("floordiv"), skips=(BOOL_DIVISION,), **NON_DIFF),
    _b("remainder", binary(**NONZERO), operators=_ops("mod"), skips=(BOOL_DIVISION,)),
    _b("fmod", binary(**NONZERO), skips=(BOOL_DIVISION,)),
    _b("pow", binary(low=0.5, high=2.0), operators=_ops("pow"), skips=(BOOL_POW,)),
    _b("atan2", binary(scalar=False)), _b("hypot", binary(scalar=False)), _b("copysign"),
    _b("xlogy", binary(rlow=0.1, rhigh=3.0)),
    _b("maximum", binary(scalar=False)), _b("minimum", binary(scalar=False)),
    _b("fmax", binary(scalar=False)), _b("fmin", binary(scalar=False)),
    _b("heaviside", binary(scalar=False), **NON_DIFF),
    _b("bitwise_and", dtypes=BITS, operators=_ops("and"), **NON_DIFF),
    _b("bitwise_or", dtypes=BITS, operators=_ops("or"), **NON_DIFF),
    _b("bitwise_xor", dtypes=BITS, operators=_ops("xor"), **NON_DIFF),
    _b("bitwise_left_shift", binary(low=-8, high=8, rlow=0, rhigh=3), dtypes=INTS, operators=_ops("lshift"),
       **NON_DIFF),
    _b("bitwise_right_shift", binary(low=-8, high=8, rlow=0, rhigh=3), dtypes=INTS, operators=_ops("rshift"),
       **NON_DIFF),
    _b("logical_and", binary(scalar=False), **NON_DIFF), _b("logical_or", binary(scalar=False), **NON_DIFF),
    _b("logical_xor", binary(scalar=False), **NON_DIFF),
    _b("eq", operators=("__eq__",), **NON_DIFF), _b("ne", operators=("__ne__",), **NON_DIFF),
    _b("lt", operators=("__lt__",), **NON_DIFF), _b("le", operators=("__le__",), **NON_DIFF),
    _b("gt", operators=("__gt__",), **NON_DIFF), _b("ge", operators=("__ge__",), **NON_DIFF),
]
