"""Tensor factories: filled, ranged, copied and ``*_like`` constructions."""
from opdb.core import FLOATS, DType, OpEntry, Sample, xfail

FACTORY = dict(differentiable=False, method=None, inplace=None)
IGNORED_OUT = xfail("variants", "ember bug: the factory accepts out= and ignores it (returns a new tensor, out is left "
                                "as it was): o = ember.empty(2); ember.zeros(2, out=o) is o  # False")


def _sized(*values):
    def gen(make):
        d = DType(make.dtype)
        return [Sample(2, 3, *values, dtype=d), Sample((2, 3), *values, dtype=d), Sample(0, *values, dtype=d),
                Sample((), *values, dtype=d), Sample((4,), *values)]
    return gen


def _full(make):
    fill = {"bool": True, "int64": 3, "int32": 3}.get(make.dtype, 1.5)
    d = DType(make.dtype)
    return [Sample((2, 3), fill, dtype=d), Sample((2,), fill), Sample((0, 2), fill, dtype=d), Sample((), fill, dtype=d)]


def _like(*values):
    def gen(make):
        return [Sample(make(2, 3), *values), Sample(make(3, 2, layout="transposed"), *values),
                Sample(make(), *values), Sample(make(0, 3), *values),
                Sample(make(2, 3), *values, dtype=DType("float64"))]
    return gen


def _arange(make):
    d = DType(make.dtype)
    return [Sample(5, dtype=d), Sample(1, 7, 2, dtype=d), Sample(5), Sample(0, 1, 0.25), Sample(3, 0, -1, dtype=d),
            Sample(0, dtype=d)]


def _spaced(make):
    d = DType(make.dtype)
    return [Sample(0, 1, 5, dtype=d), Sample(-1.5, 2.0, 7), Sample(2, 2, 1, dtype=d), Sample(0, 1, 0, dtype=d)]


def _eye(make):
    d = DType(make.dtype)
    return [Sample(3, dtype=d), Sample(2, 4, dtype=d), Sample(0, dtype=d), Sample(3)]


def _data(make):
    d = DType(make.dtype)
    return [Sample([[1, 2], [3, 4]], dtype=d), Sample(3.5), Sample([True, False]), Sample([], dtype=d),
            Sample([[1.5, -2.0]], dtype=d), Sample(7)]


ENTRIES = [
    OpEntry("zeros", _sized(), skips=(IGNORED_OUT,), **FACTORY),
    OpEntry("ones", _sized(), skips=(IGNORED_OUT,), **FACTORY),
    OpEntry("full", _full, **FACTORY),
    OpEntry("zeros_like", _like(), skips=(IGNORED_OUT,), **FACTORY),
    OpEntry("ones_like", _like(), skips=(IGNORED_OUT,), **FACTORY),
    OpEntry("full_like", _like(2), **FACTORY),
    OpEntry("arange", _arange, skips=(xfail("values", "ember builds a bool arange where torch raises NotImplementedError",
                                            ("bool",)),), **FACTORY),
    OpEntry("linspace", _spaced, dtypes=FLOATS + ("int64",), **FACTORY),
    OpEntry("logspace", _spaced, dtypes=("float32", "float64"), **FACTORY),
    OpEntry("eye", _eye, **FACTORY),
    OpEntry("tensor", _data, **FACTORY), OpEntry("as_tensor", _data, **FACTORY), OpEntry("asarray", _data, **FACTORY),
]


def _new(*values):
    """``x.new_*(size, ...)``: the dtype of ``x`` unless given."""
    def gen(make):
        return [Sample(make(2, 3), (2, 2), *values), Sample(make(), 3, *values), Sample(make(0, 3), (0,), *values),
                Sample(make(2, 3, layout="transposed"), [1, 2], *values, dtype=DType("float64"))]
    return gen


def _new_tensor(make):
    return [Sample(make(2), [[1, 2], [3, 4]]), Sample(make(), 3.5), Sample(make(3), [], dtype=DType("int64")),
            Sample(make(2), [True, False])]


def _range(make):
    d = DType(make.dtype)
    return [Sample(0, 4, dtype=d), Sample(1, 2, 0.25), Sample(5), Sample(3, 0, -1, dtype=d), Sample(2, 1, dtype=d),
            Sample(0, 1, 0)]  # a zero step: RuntimeError


def _scalar(make):
    return [Sample(2.5, dtype=DType(make.dtype)), Sample(3), Sample(True), Sample(-1.5)]


def _frombuffer(lib):
    def fn(values, dtype, **kwargs):
        """A tensor over a bytearray of ``values`` (the NumPy array's bytes), compared by value."""
        return lib.frombuffer(bytearray(values.tobytes()), dtype=dtype, **kwargs).clone()
    return fn


def _frombuffer_samples(make):
    import numpy as np
    d = DType(make.dtype)
    data = np.arange(6, dtype={"float32": np.float32, "int64": np.int64, "int32": np.int32}[make.dtype])
    return [Sample(data, d), Sample(data, d, count=3), Sample(data, d, offset=data.itemsize * 2),
            Sample(data, d, count=2, offset=data.itemsize), Sample(data[:0], d)]  # an empty buffer: ValueError


ENTRIES += [
    OpEntry("Tensor.new_zeros", _new(), **FACTORY), OpEntry("Tensor.new_ones", _new(), **FACTORY),
    OpEntry("Tensor.new_full", _new(2), **FACTORY), OpEntry("Tensor.new_tensor", _new_tensor, **FACTORY),
    OpEntry("range", _range, dtypes=("float32", "float64", "int64"), **FACTORY),
    OpEntry("scalar_tensor", _scalar, **FACTORY),
    OpEntry("frombuffer", _frombuffer_samples, op=_frombuffer, dtypes=("float32", "int64", "int32"), capturable=False,
            **FACTORY),
]
