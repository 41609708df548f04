"""Indexing, gathering and scattering by index tensors and masks."""
from opdb.core import OpEntry, Sample
from opdb.samples import views

NON_DIFF = dict(differentiable=False)


def _getitem(make):
    x = lambda **kw: make(4, 5, **kw)  # noqa: E731
    return [Sample(x(), 1), Sample(x(), (slice(1, 3), -1)), Sample(x(layout="transposed"), (Ellipsis, None, 2)),
            Sample(x(), make.index(3, high=4)), Sample(x(layout="sliced"), (make.index(2, high=4), make.index(2, high=5))),
            Sample(x(), make.mask(4, 5)), Sample(make(), None), Sample(make(0, 3), slice(None)),
            Sample(x(), (slice(None, None, 2), [0, 2]))]


def _setitem(make):
    x = lambda **kw: make(4, 5, **kw)  # noqa: E731
    return [Sample(x(), 1, make(5)), Sample(x(), (slice(1, 3), -1), 2.0 if make.floating else 2),
            Sample(x(), make.index(3, high=4), make(3, 5)), Sample(x(), make.mask(4, 5), make(1))]


def _assign(lib):
    def assign(self, key, value):
        """``self[key] = value`` on a copy of ``self`` (leaves stay untouched); returns the copy."""
        out = self.clone()
        out[key] = value
        return out
    return assign


def _gather(make):
    return [Sample(make(3, 4), 1, make.index(3, 2, high=4)), Sample(make(3, 4, layout="transposed"), 0, make.index(2, 4, high=3)),
            Sample(make(), 0, make.index(high=1)), Sample(make(3, 4), 1, make.index(3, 0, high=4))]


def _scatter(*, src=True, reduce=None):
    def gen(make):
        idx = make(2, 3, values=[[0, 1, 2], [2, 0, 1]], dtype="int64", grad=False)  # no repeats along dim 0 per column
        extra = {"reduce": reduce} if reduce else {}
        value = make(2, 3) if src else (1.5 if make.floating else 2)
        return [Sample(make(3, 4), 0, idx, value, **extra), Sample(make(3, 4, layout="transposed"), 0, idx, value, **extra),
                Sample(make(3, 4), 1, make(2, 2, values=[[3, 0], [1, 2]], dtype="int64", grad=False),
                       make(2, 2) if src else value, **extra)]
    return gen


def _index_op(op_value):
    def gen(make):
        return [Sample(make(4, 3), 0, make(2, values=[3, 1], dtype="int64", grad=False), op_value(make, (2, 3))),
                Sample(make(3, 4, layout="transposed"), 1, make(3, values=[0, 2, 3], dtype="int64", grad=False),
                       op_value(make, (3, 3))),
                Sample(make(5), 0, make(0, dtype="int64", grad=False), op_value(make, (0,)))]
    return gen


def _masked(value):
    def gen(make):
        return [Sample(make(3, 4), make.mask(3, 4), value(make)), Sample(make(3, 4, layout="transposed"), make.mask(4),
                                                                         value(make)),
                Sample(make(), make.mask(), value(make)), Sample(make(0, 2), make.mask(0, 2), value(make))]
    return gen


def _put(make):
    return [Sample(make(3, 4), make(3, values=[0, 5, 11], dtype="int64", grad=False), make(3)),
            Sample(make(3, 4), make(3, values=[1, 1, 2], dtype="int64", grad=False), make(3), accumulate=True)]


ENTRIES = [
    OpEntry("Tensor.__getitem__", _getitem),
    OpEntry("Tensor.__setitem__", _setitem, op=_assign),
    OpEntry("gather", _gather), OpEntry("take_along_dim", lambda make: [
        Sample(make(3, 4), make.index(3, 2, high=4), 1), Sample(make(3, 4), make.index(5, high=12))]),
    OpEntry("index_select", lambda make: [Sample(make(4, 3), 0, make.index(5, high=4)),
                                          Sample(make(3, 4, layout="transposed"), 1, make.index(2, high=4)),
                                          Sample(make(), 0, make.index(1, high=1))]),
    OpEntry("take", lambda make: [Sample(make(3, 4), make.index(5, high=12)),
                                  Sample(make(3, 4, layout="transposed"), make.index(2, 2, high=12))]),
    OpEntry("scatter", _scatter()), OpEntry("scatter_add", _scatter()),
    OpEntry("index_add", _index_op(lambda make, shape: make(*shape))),
    OpEntry("index_copy", _index_op(lambda make, shape: make(*shape))),
    OpEntry("index_fill", _index_op(lambda make, shape: -1.5 if make.floating else 1)),
    OpEntry("masked_fill", _masked(lambda make: -1.5 if make.floating else 1)),
    OpEntry("masked_scatter", _masked(lambda make: make(12))),
    OpEntry("masked_select", lambda make: views(make, (3, 4), make.mask(3, 4)) + [Sample(make(3, 4), make.mask(4))]),
    OpEntry("put", _put),
    OpEntry("nonzero", lambda make: views(make, (3, 4)) + [Sample(make()), Sample(make(0, 3))], **NON_DIFF),
    OpEntry("argwhere", lambda make: views(make, (3, 4)) + [Sample(make(0, 3))], **NON_DIFF),
]
