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


def _callable_method(name, fn):
    """``x.<name>(*tensors, fn)`` on a copy of ``x`` with a Python callable (an element-wise loop in both)."""
    def recipe(lib):
        def call(x, *others):
            out = x.clone()
            return getattr(out, name)(*others, fn)
        return call
    return recipe


def _callable_samples(count):
    def gen(make):
        return [Sample(make(3, 4), *[make(4) for _ in range(count)]),
                Sample(make(3, 4, layout="transposed"), *[make(3, 1) for _ in range(count)]),
                Sample(make(), *[make() for _ in range(count)]), Sample(make(0, 3), *[make(3) for _ in range(count)]),
                Sample(make(3), *[make(2) for _ in range(count)])]  # not broadcastable to self: RuntimeError
    return gen


CALLABLE = dict(differentiable=False, dtypes=("float32", "float64", "int64"))
ENTRIES += [
    OpEntry("Tensor.apply_", _callable_samples(0), op=_callable_method("apply_", lambda v: v * 2 + 1), **CALLABLE),
    OpEntry("Tensor.map_", _callable_samples(1), op=_callable_method("map_", lambda a, b: a - 2 * b), **CALLABLE),
    OpEntry("Tensor.map2_", _callable_samples(2), op=_callable_method("map2_", lambda a, b, c: a * b + c), **CALLABLE),
]
