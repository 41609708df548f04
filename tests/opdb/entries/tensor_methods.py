"""Tensor methods that ops attach without a function of the same name: copies, fills,
``*_as`` shape forms, operator dunders and method forms of recipe-tested ops."""
from opdb.core import OpEntry, Sample, xfail
from opdb.samples import unary, views


def _filled(make):
    fill = {"bool": True, "int64": 3, "int32": 3}.get(make.dtype, 1.5)
    return [Sample(make(3, 4), fill), Sample(make(3, 4, layout="transposed"), fill), Sample(make(), fill),
            Sample(make(0, 3), fill), Sample(make(3, 4), make(values=2.0 if make.floating else 2))]


def _copy(make):
    return [Sample(make(3, 4), make(3, 4)), Sample(make(3, 4, layout="transposed"), make(4)),
            Sample(make(3, 4), make(3, 4, dtype="float64")), Sample(make(), make()), Sample(make(0, 3), make(3))]


def _as(make):
    return [Sample(make(3, 4), make(2, 6)), Sample(make(3, 1), make(3, 4, layout="transposed")), Sample(make(), make(1, 1))]


def _dunders(*names):
    return lambda make: views(make, (3, 4)) + [Sample(make()), Sample(make(0, 3))]


ENTRIES = [
    OpEntry("clone", unary()), OpEntry("Tensor.fill_", _filled, differentiable=False),
    OpEntry("Tensor.zero_", lambda make: views(make, (3, 4)) + [Sample(make())], differentiable=False),
    OpEntry("Tensor.copy_", _copy, op=lambda lib: lambda x, src: x.clone().copy_(src)),
    OpEntry("Tensor.expand_as", lambda make: [Sample(make(3, 1), make(3, 4)), Sample(make(4), make(2, 3, 4))]),
    OpEntry("Tensor.view_as", _as),
    OpEntry("Tensor.__pos__", _dunders(), operators=("__neg__", "__abs__"),
            skips=(xfail("values", "ember accepts +x for a bool tensor where torch raises RuntimeError", ("bool",)),)),
    OpEntry("Tensor.__invert__", _dunders(), dtypes=("int64", "int32", "bool"), differentiable=False),
]
