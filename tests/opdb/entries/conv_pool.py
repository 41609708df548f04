"""Convolutions, pooling, unpooling, folding and pixel shuffles."""
from opdb.core import OpEntry, Sample, xfail

F32_64 = ("float32", "float64")
CONV_DTYPES = ("float32", "float64", "int64")  # int64: torch's error for integer convolutions


def _f(name, samples, **kw):
    return OpEntry(f"nn.functional.{name}", samples, dtypes=kw.pop("dtypes", F32_64), **kw)


def _conv(nd, transposed=False):
    def gen(make):
        sp = (5, 4, 3)[:nd]
        small = (3, 3, 2)[:nd]
        k = (3, 2, 2)[:nd]
        w = lambda cin, cout, g=1: make(*((cin, cout // g) if transposed else (cout, cin // g)), *k)  # noqa: E731
        out = [Sample(make(2, 4, *sp), w(4, 6), make(6)), Sample(make(1, 2, *small), w(2, 2)),
               Sample(make(2, 4, *sp, layout="transposed"), w(4, 4, 2), None, 2, 1, groups=2) if not transposed else
               Sample(make(2, 4, *sp, layout="transposed"), w(4, 4, 2), None, 2, 1, 1, 2),
               Sample(make(4, *sp), w(4, 2)), Sample(make(0, 4, *sp), w(4, 2))]
        if not transposed:
            out.append(Sample(make(1, 2, *sp), w(2, 2), None, 1, "same", 2))
        else:
            out.append(Sample(make(1, 2, *small), w(2, 2), make(2), 2, 1, 1, 1, 2))
        return out
    return gen


def _pool(nd, *extra, **kw):
    def gen(make):
        sp = (6, 5, 4)[:nd]
        return [Sample(make(2, 3, *sp), 2, *extra, **kw), Sample(make(2, 3, *sp, layout="transposed"), 3, 2, 1, **kw),
                Sample(make(3, *sp), 2, *extra, **kw), Sample(make(1, 2, *(3, 3, 3)[:nd]), 2, 1, **kw),
                Sample(make(2, 3, *sp), 2, *extra, ceil_mode=True)]
    return gen


def _max_pool(nd):
    def gen(make):
        return _pool(nd)(make) + [Sample(make(1, 2, *(6, 5, 4)[:nd]), 2, return_indices=True),
                                  Sample(make(1, 2, *(7, 7, 7)[:nd]), 3, 2, 1, 2)]
    return gen


def _avg_pool(nd):
    def gen(make):
        return _pool(nd)(make) + [Sample(make(1, 2, *(6, 5, 4)[:nd]), 3, 2, 1, count_include_pad=False)] + (
            [Sample(make(1, 2, *(6, 5, 4)[:nd]), 2, divisor_override=3)] if nd > 1 else [])
    return gen


def _lp_pool(nd):
    def gen(make):
        sp = (6, 5, 4)[:nd]
        return [Sample(make(2, 3, *sp, low=0.1, high=2.0), 2.0, 2), Sample(make(1, 2, *sp, low=0.1, high=2.0), 1.5, 3, 2)]
    return gen


def _adaptive(nd, **kw):
    def gen(make):
        sp = (6, 5, 4)[:nd]
        return [Sample(make(2, 3, *sp), (3, 2, 2)[:nd], **kw), Sample(make(2, 3, *sp, layout="transposed"), 4, **kw),
                Sample(make(3, *sp), 1, **kw), Sample(make(1, 2, *sp), (4, 3, 3)[:nd], **kw)]
    return gen


def _unpool(nd, lib_indices):
    """max_unpool of a max_pool's (values, indices), both computed by the library under test."""
    def recipe(lib):
        pool = getattr(lib.nn.functional, f"max_pool{nd}d")
        unpool = getattr(lib.nn.functional, f"max_unpool{nd}d")

        def fn(x, k, **kw):
            values, idx = pool(x, k, return_indices=True)
            return unpool(values, idx, k, **kw)
        return fn
    return recipe


def _unpool_samples(nd):
    def gen(make):
        sp = (6, 4, 4)[:nd]
        return [Sample(make(2, 3, *sp), 2), Sample(make(1, 2, *sp, layout="transposed"), 2),
                Sample(make(1, 2, *sp), 2, output_size=tuple(s + 1 for s in sp))]
    return gen


def _fractional(nd):
    def gen(make):
        sp = (7, 6, 6)[:nd]
        samples = make(2, 3, 2 if nd == 2 else 3, values=[[[0.3, 0.7]] * 3] * 2 if nd == 2 else [[[0.3, 0.7, 0.5]] * 3] * 2,
                       grad=False)
        return [Sample(make(2, 3, *sp), 2, output_size=(3, 3, 3)[:nd], _random_samples=samples),
                Sample(make(2, 3, *sp), 2, output_ratio=(0.5,) * nd, _random_samples=samples)]
    return gen


def _unfold(make):
    return [Sample(make(2, 3, 5, 4), 2), Sample(make(1, 2, 5, 5, layout="transposed"), (2, 3), 1, 1, 2),
            Sample(make(2, 5, 4), 2)]


def _fold(make):
    return [Sample(make(2, 12, 12), (4, 5), 2), Sample(make(1, 8, 6, layout="transposed"), (3, 4), (2, 2), 1, 0, 1),
            Sample(make(12, 12), (4, 5), 2)]


def _shuffle(up):
    def gen(make):
        c = 8 if up else 2
        sp = (3, 2) if up else (4, 6)
        return [Sample(make(2, c, *sp), 2), Sample(make(1, c, *sp, layout="transposed"), 2), Sample(make(c, *sp), 2)]
    return gen


ENTRIES = []
for _nd in (1, 2, 3):
    ENTRIES += [
        _f(f"conv{_nd}d", _conv(_nd), dtypes=CONV_DTYPES),
        _f(f"conv_transpose{_nd}d", _conv(_nd, transposed=True), dtypes=CONV_DTYPES),
        _f(f"max_pool{_nd}d", _max_pool(_nd), dtypes=("float32", "float64", "int64"),
           skips=(xfail("values", "ember max-pools int64 1-d inputs where torch raises NotImplementedError",
                        ("int64",)),) if _nd == 1 else ()),
        _f(f"avg_pool{_nd}d", _avg_pool(_nd)),
        _f(f"lp_pool{_nd}d", _lp_pool(_nd)),
        _f(f"adaptive_avg_pool{_nd}d", _adaptive(_nd)),
        _f(f"adaptive_max_pool{_nd}d", _adaptive(_nd, return_indices=True)),
        _f(f"max_pool{_nd}d_with_indices", _pool(_nd)),
        _f(f"adaptive_max_pool{_nd}d_with_indices", _adaptive(_nd)),
        _f(f"max_unpool{_nd}d", _unpool_samples(_nd), op=_unpool(_nd, True), ref=_unpool(_nd, True)),
    ]
for _nd in (2, 3):
    ENTRIES += [_f(f"fractional_max_pool{_nd}d", _fractional(_nd)),
                _f(f"fractional_max_pool{_nd}d_with_indices", _fractional(_nd))]
ENTRIES += [
    OpEntry("adaptive_max_pool1d", _adaptive(1), dtypes=F32_64), OpEntry("adaptive_avg_pool1d", _adaptive(1), dtypes=F32_64),
    OpEntry("max_pool1d", _pool(1), dtypes=F32_64), OpEntry("avg_pool1d", _avg_pool(1), dtypes=F32_64),
    _f("unfold", _unfold), _f("fold", _fold),
    _f("pixel_shuffle", _shuffle(True), dtypes=("float32", "float64", "int64", "bool")),
    _f("pixel_unshuffle", _shuffle(False), dtypes=("float32", "float64", "int64", "bool")),
]
