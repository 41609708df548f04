"""Elementwise ops with extra operands or parameters: clamps, interpolation, fused
multiply-adds, selection and closeness tests."""
from opdb.core import FLOATS, OpEntry, Sample, xfail
from opdb.samples import binary, ternary, unary

NON_DIFF = dict(differentiable=False)
BOOL_CLOSE = xfail("values", "ember bug: isclose of bool tensors ignores atol/rtol: ember.isclose(ember.tensor([False]), "
                   "ember.tensor([True]), rtol=0.5, atol=0.5) is False (torch: True)", ("bool",), sample="rtol=0.5")


def _no_bool(name):
    return xfail("values", f"ember computes {name} of bool tensors where torch raises NotImplementedError", ("bool",))


def _clamp(make):
    lo, hi = (-0.5, 0.7) if make.floating else (-1, 1)
    return [Sample(make(3, 4), lo, hi), Sample(make(3, 4), min=lo), Sample(make(3, 4, layout="transposed"), max=hi),
            Sample(make(3, 4), make(4), make(3, 1)), Sample(make(), lo, hi), Sample(make(0, 3), lo, hi),
            Sample(make(48, 65, layout="sliced"), lo, hi)]


def _where(make):
    return [Sample(make.mask(3, 4), make(3, 4), make(3, 4)), Sample(make.mask(4), make(3, 4, layout="transposed"), make(3, 1)),
            Sample(make.mask(3, 4), make(3, 4), 0.5 if make.floating else 1), Sample(make.mask(), make(), make()),
            Sample(make.mask(0, 4), make(4), make(4))]


def _polygamma(make):
    return [Sample(n, make(3, 4, low=0.5, high=3.0)) for n in (0, 1, 2)] + [Sample(1, make(low=0.5, high=3.0))]


def _close(make):
    return binary(scalar=False)(make) + [Sample(make(3, 4), make(3, 4), rtol=0.5, atol=0.5)]


ENTRIES = [
    OpEntry("clamp", _clamp, skips=(xfail("values", "ember clamps bool tensors by tensor bounds where torch raises "
                                          "NotImplementedError", ("bool",), sample="(3, 1)"),)),
    OpEntry("clamp_min", unary(min=-0.5)), OpEntry("clamp_max", unary(max=0.5)),
    OpEntry("lerp", ternary(), dtypes=FLOATS),
    OpEntry("addcmul", ternary(), skips=(_no_bool("addcmul"),)), OpEntry("addcdiv", ternary(low=0.5, high=2.0), dtypes=FLOATS),
    OpEntry("where", _where),
    OpEntry("polygamma", _polygamma, dtypes=FLOATS, method=None, inplace=None),
    OpEntry("Tensor.polygamma", lambda make: [Sample(make(3, 4, low=0.5, high=3.0), n) for n in (0, 1, 2)],
            dtypes=("float32", "float64"), inplace="polygamma_"),
    OpEntry("isclose", _close, skips=(BOOL_CLOSE,), **NON_DIFF),
    OpEntry("allclose", _close, **NON_DIFF),
    OpEntry("equal", lambda make: [Sample(make(3, 4), make(3, 4)), Sample(make(3, 4, values=[[1] * 4] * 3),
                                                                          make(3, 4, values=[[1] * 4] * 3))], **NON_DIFF),
]
