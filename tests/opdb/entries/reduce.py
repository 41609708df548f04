"""Reductions: sums, means, statistics, extrema, logical and norms."""
from opdb.core import FLOATS, OpEntry, Sample, xfail
from opdb.samples import reduction

NON_DIFF = dict(differentiable=False)
# A sum of thousands of half-precision terms rounds in the last bits of its large result.
TOL = dict(tol={"float16": (5e-2, 1e-2), "bfloat16": (0.5, 5e-2)})
BF16_ACCUMULATION = xfail("values", "ember bug: bfloat16 reductions accumulate in bfloat16: "
                          "ember.ones(48, 65, dtype=ember.bfloat16).sum() is 256 (torch: 3120)",
                          ("bfloat16",), sample="(48, 65)")


def _r(name, samples=None, **kw):
    kw = {**TOL, **kw}
    return OpEntry(name, samples or reduction(dims="tuple"), **kw)


def _dim_required(**kw):
    """Reductions whose ``dim`` is required."""
    def gen(make):
        return [s for s in reduction(**kw)(make) if s.args[1:] or s.kwargs]
    return gen


def _variance(make):
    return reduction(dims="tuple")(make) + [Sample(make(3, 4), 1, correction=0), Sample(make(2, 5), dim=0, unbiased=False)]


def _norm(make):
    return [Sample(make(3, 4)), Sample(make(3, 4), 1), Sample(make(3, 4), 3, 1, keepdim=True),
            Sample(make(2, 3, 4, layout="sliced"), "fro", (1, 2)), Sample(make(3, 4, layout="transposed"), float("inf")),
            Sample(make(0, 3), 2, 1), Sample(make(48, 65))]


ENTRIES = [
    _r("sum", skips=(BF16_ACCUMULATION,)), _r("nansum"), _r("mean", dtypes=FLOATS), _r("nanmean", dtypes=FLOATS),
    _r("prod", reduction()),
    _r("std", _variance, dtypes=FLOATS),
    _r("var", _variance, dtypes=FLOATS, skips=(BF16_ACCUMULATION,)),
    _r("std_mean", _variance, dtypes=FLOATS, skips=(BF16_ACCUMULATION,)),
    _r("var_mean", _variance, dtypes=FLOATS, skips=(BF16_ACCUMULATION,)),
    _r("amax"), _r("amin"),
    _r("logsumexp", _dim_required(dims="tuple"), dtypes=FLOATS),
    _r("all", **NON_DIFF), _r("any", **NON_DIFF), _r("count_nonzero", reduction(), **NON_DIFF),
    _r("norm", _norm, dtypes=FLOATS, skips=(BF16_ACCUMULATION,)),
]
