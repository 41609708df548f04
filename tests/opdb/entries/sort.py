"""Sorting, selection and extrema with indices."""
from opdb.core import OpEntry, Sample, xfail
from opdb.samples import reduction

NON_DIFF = dict(differentiable=False)
TIES = dict(index_ties=True)


def _with_dim(*extra, **kw):
    """``op(x, *extra, dim)`` over a vector, a matrix (both dims), a view, 0-d and empty inputs."""
    def gen(make):
        return [Sample(make(6), *extra, **kw), Sample(make(3, 5), *extra, 0, **kw), Sample(make(3, 5), *extra, -1, **kw),
                Sample(make(4, 5, layout="transposed"), *extra, 1, **kw), Sample(make(2, 3, 5, layout="sliced"), *extra, **kw),
                Sample(make(40, 65), *extra, **kw)]
    return gen


def _topk(make):
    return _with_dim(2)(make) + [Sample(make(3, 5), 2, largest=False, sorted=True), Sample(make(0, 4), 0, -1)]


def _sort(make):
    return _with_dim()(make) + [Sample(make(3, 5), descending=True), Sample(make(), 0), Sample(make(0, 3), 1)]


def _unique(make):
    m = lambda *s, **kw: make(*s, low=-3, high=3, grad=False, **kw)  # noqa: E731
    return [Sample(m(10)), Sample(m(3, 4), return_inverse=True, return_counts=True), Sample(m(0)),
            Sample(m(4, 3, layout="transposed"), dim=0)]


def _unique_consecutive(make):
    return [Sample(make(10, values=[1, 1, 2, 2, 3, 1, 1, 2, 0, 0], grad=False)),
            Sample(make(8, values=[0, 0, 1, 1, 1, 0, 1, 1], grad=False), return_inverse=True, return_counts=True),
            Sample(make(0, grad=False))]


ENTRIES = [
    OpEntry("max", reduction(empty=False), **TIES), OpEntry("min", reduction(empty=False), **TIES),
    OpEntry("argmax", reduction(empty=False), **TIES, **NON_DIFF),
    OpEntry("argmin", reduction(empty=False), **TIES, **NON_DIFF),
    OpEntry("median", reduction(empty=False), **TIES), OpEntry("nanmedian", reduction(empty=False), **TIES),
    OpEntry("mode", _with_dim(), **TIES),
    OpEntry("kthvalue", _with_dim(2), skips=(xfail("values", "ember computes kthvalue of bool input where torch raises "
                                                   "NotImplementedError", ("bool",)),), **TIES),
    OpEntry("topk", _topk, **TIES), OpEntry("sort", _sort, **TIES), OpEntry("argsort", _sort, **TIES, **NON_DIFF),
    OpEntry("msort", lambda make: [Sample(make(4, 3)), Sample(make(5, 2, layout="transposed")), Sample(make(0, 2))]),
    OpEntry("unique", _unique, **NON_DIFF), OpEntry("unique_consecutive", _unique_consecutive, **NON_DIFF),
]
