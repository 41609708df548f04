"""Counting, binning and searching sorted sequences; index grids (tril/triu_indices,
unravel_index, combinations); Vandermonde matrices and numerical calculus (gradient, trapz)."""
import numpy as np

from opdb.core import DType, OpEntry, Sample, skip
from opdb.samples import views

NON_DIFF = dict(differentiable=False)
NUMERIC = ("float32", "float64", "int64", "int32")


def _bincount(make):
    idx = make(7, dtype="int64", low=0, high=5, grad=False)
    return [Sample(idx), Sample(idx, make(7, dtype="float64", grad=False)), Sample(idx, minlength=8),
            Sample(make(0, dtype="int64", grad=False)), Sample(make(3, values=[1, -1, 2], dtype="int64", grad=False)),
            Sample(make(7, low=0, high=5, grad=False)),  # the dtype under test: torch rejects floats (RuntimeError)
            Sample(idx, make(7, grad=False))]  # weights of the dtype under test


def _sorted(make, *shape, layout="contiguous"):
    v = np.sort(make.rng.uniform(-2, 2, size=shape), axis=-1)
    return make(*shape, values=v if make.floating else np.round(v), layout=layout, grad=False)


def _bucketize(make):
    b = _sorted(make, 5)
    return [Sample(make(3, 4, grad=False), b), Sample(make(3, 4, layout="transposed", grad=False), b, right=True),
            Sample(make(grad=False), b), Sample(make(0, 2, grad=False), b), Sample(make(4, grad=False), b, out_int32=True),
            Sample(make(4, grad=False), _sorted(make, 2, 3))]  # boundaries of more than one dim: RuntimeError


def _searchsorted(make):
    return [Sample(_sorted(make, 6), make(3, 4, grad=False)), Sample(_sorted(make, 2, 5), make(2, 3, grad=False), right=True),
            Sample(_sorted(make, 5), make(grad=False), out_int32=True), Sample(_sorted(make, 5), make(0, grad=False)),
            Sample(_sorted(make, 3, 5, layout="sliced"), make(3, 2, grad=False), side="right"),
            Sample(make(4, grad=False), make(3, grad=False), sorter=make(4, values=[3, 0, 2, 1], dtype="int64", grad=False)),
            Sample(_sorted(make, 2, 5), make(3, 2, grad=False))]  # leading dims differ: RuntimeError


def _histc(make):
    return [Sample(make(20)), Sample(make(5, 4), 5, -1, 1), Sample(make(3, 4, layout="transposed"), bins=4),
            Sample(make(0), 3, 0, 1), Sample(make(), 4, -2, 2), Sample(make(6), 3, 1, -1)]  # max < min: RuntimeError


def _histogram(make):
    return [Sample(make(20), 5), Sample(make(5, 4), 4, range=(-1.0, 1.0)),
            Sample(make(10), make(4, values=[-2.0, -0.5, 0.5, 2.0])), Sample(make(10), 3, weight=make(10, low=0, high=1)),
            Sample(make(12), 4, density=True), Sample(make(0), 3, range=(0.0, 1.0))]


def _indices(make):
    d = DType(make.dtype)
    return [Sample(3, 4), Sample(4, 3, 1), Sample(4, 4, -1, dtype=d), Sample(0, 3), Sample(3, 3, 5)]


def _unravel(make):
    return [Sample(make(5, values=[0, 3, 7, 11, 5], dtype="int64", grad=False), (3, 4)),
            Sample(make(2, 2, values=[[1, 23], [0, 5]], dtype="int64", grad=False), (2, 3, 4)),
            Sample(make(values=7, dtype="int64", grad=False), (4, 2)), Sample(make(0, dtype="int64", grad=False), (3,)),
            Sample(make(2, values=[0, 12], dtype="int64", grad=False), (3, 4)),  # out of range: RuntimeError
            Sample(make(3, grad=False), (3, 4))]  # the dtype under test: floats raise TypeError


def _combinations(make):
    return [Sample(make(4)), Sample(make(4, layout="sliced"), 3), Sample(make(3), 2, True), Sample(make(3), 0),
            Sample(make(0)), Sample(make(2), 3), Sample(make(2, 2))]  # a matrix: RuntimeError


def _vander(make):
    return [Sample(make(4)), Sample(make(3, layout="sliced"), 5), Sample(make(4), increasing=True), Sample(make(0), 2),
            Sample(make(3), N=0), Sample(make(2, 2))]  # a matrix: RuntimeError


def _gradient(make):
    return (views(make, (4, 5)) + [Sample(make(6), spacing=2.0), Sample(make(4, 5), dim=1, edge_order=2),
                                   Sample(make(4, 5), spacing=[1.0, 0.5]),
                                   Sample(make(5), spacing=(make(5, values=[0.0, 1.0, 1.5, 3.0, 4.0], dtype="float64",
                                                                 grad=False),)),
                                   Sample(make(1, 4), dim=0)])  # a dim of 1 element: RuntimeError


def _trapz(make):
    return views(make, (3, 4)) + [Sample(make(3, 4), make(4, low=0, high=3)), Sample(make(3, 4), dx=0.5),
                                  Sample(make(3, 4), dim=0), Sample(make(0, 3))]


ENTRIES = [
    OpEntry("bincount", _bincount, dtypes=NUMERIC, **NON_DIFF),
    OpEntry("bucketize", _bucketize, dtypes=NUMERIC, **NON_DIFF),
    OpEntry("searchsorted", _searchsorted, dtypes=NUMERIC, **NON_DIFF),
    OpEntry("histc", _histc, dtypes=NUMERIC, **NON_DIFF),
    OpEntry("histogram", _histogram, dtypes=("float32", "float64", "int64"), **NON_DIFF),
    OpEntry("tril_indices", _indices, dtypes=("int64", "int32", "float32"), **NON_DIFF),
    OpEntry("triu_indices", _indices, dtypes=("int64", "int32", "float32"), **NON_DIFF),
    OpEntry("unravel_index", _unravel, dtypes=("int64", "float32"), **NON_DIFF),
    OpEntry("combinations", _combinations),
    OpEntry("vander", _vander, skips=(skip("grad", "torch's backward of vander fails (it modifies a saved tensor in "
                                                   "place: torch.vander(x).sum().backward() raises); gradcheck checks "
                                                   "ember's"),)),
    OpEntry("gradient", _gradient, dtypes=("float32", "float64", "int64")),
    OpEntry("trapz", _trapz, dtypes=("float32", "float64", "int64")),
]
