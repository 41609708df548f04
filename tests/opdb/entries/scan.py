"""Cumulative ops along a dimension."""
from opdb.core import FLOATS, OpEntry, Sample, xfail

TOL = dict(tol={"float16": (5e-2, 1e-2), "bfloat16": (0.5, 5e-2)})


def _scan(low=-2.0, high=2.0):
    def gen(make):
        m = lambda *s, **kw: make(*s, low=low, high=high, **kw)  # noqa: E731
        return [Sample(m(5), 0), Sample(m(3, 4), 1), Sample(m(3, 4, layout="transposed"), 0),
                Sample(m(2, 3, 4, layout="sliced"), -1), Sample(m(), 0), Sample(m(0, 3), 1), Sample(m(40, 65), 1)]
    return gen


ENTRIES = [
    OpEntry("cumsum", _scan(), **TOL), OpEntry("cumprod", _scan(0.5, 1.5), **TOL),
    OpEntry("logcumsumexp", _scan(), dtypes=FLOATS, **TOL,
            skips=(xfail("gradgrad", "ember bug: the second derivative of logcumsumexp disagrees with finite "
                         "differences (gradgradcheck of ember.logcumsumexp(x, 0) on a float64 (5,) input)"),)),
]
