"""Elementwise unary math."""
from opdb.core import OpEntry, xfail
from opdb.samples import unary

POSITIVE, UNIT, ABOVE_ONE, PROB = (dict(low=0.1, high=3.0), dict(low=-0.9, high=0.9), dict(low=1.1, high=3.0),
                                   dict(low=0.05, high=0.95))
NON_DIFF = dict(differentiable=False)  # piecewise-constant or boolean results
HALF = ("float16", "bfloat16")
UPCASTS = xfail("values", "ember bug: scipy.special computes half inputs in float64 and the result keeps that "
                "dtype (torch keeps float16/bfloat16): ember.erf(ember.ones(2, dtype=ember.float16)).dtype", HALF)
BOOL_ROUNDING = xfail("values", "ember returns a copy where torch raises NotImplementedError for bool input: "
                      "ember.floor(ember.tensor([True]))", ("bool",))
FRAC_INTS = xfail("values", "ember returns a result where torch raises NotImplementedError ('frac_cpu' not "
                  "implemented for integer and bool inputs)", ("int64", "int32", "bool"))
ERFINV_HALF = xfail("values", "ember bug: erfinv of float16/bfloat16 returns float32", HALF)


def _u(name, domain=None, **kw):
    return OpEntry(name, unary(**(domain or {})), **kw)


def _rounding(name):
    return _u(name, skips=(BOOL_ROUNDING,), **NON_DIFF)


ENTRIES = [
    _u("abs"), _u("neg"), _u("sign", **NON_DIFF), _u("sgn"), _u("signbit", **NON_DIFF),
    _u("sqrt", POSITIVE), _u("rsqrt", POSITIVE), _u("reciprocal", POSITIVE), _u("square"),
    _u("exp"), _u("exp2"), _u("expm1"),
    _u("log", POSITIVE), _u("log2", POSITIVE), _u("log10", POSITIVE), _u("log1p", POSITIVE),
    _u("sin"), _u("cos"), _u("tan", UNIT), _u("asin", UNIT), _u("acos", UNIT), _u("atan"),
    _u("sinh"), _u("cosh"), _u("tanh"), _u("asinh"), _u("acosh", ABOVE_ONE), _u("atanh", UNIT),
    _u("sigmoid"), _u("logit", PROB), _u("relu"),
    _u("erf", skips=(UPCASTS,)), _u("erfc", skips=(UPCASTS,)), _u("erfinv", UNIT, skips=(ERFINV_HALF,)),
    _u("lgamma", POSITIVE, skips=(UPCASTS,)), _u("digamma", POSITIVE, skips=(UPCASTS,)),
    _u("deg2rad"), _u("rad2deg"),
    _rounding("ceil"), _rounding("floor"), _rounding("round"), _rounding("trunc"), _rounding("fix"),
    _u("frac", skips=(FRAC_INTS,)),
    _u("isfinite", **NON_DIFF), _u("isinf", **NON_DIFF), _u("isnan", **NON_DIFF),
    _u("logical_not", **NON_DIFF), _u("bitwise_not", dtypes=("int64", "int32", "bool"), **NON_DIFF),
    _u("nan_to_num"),
]
