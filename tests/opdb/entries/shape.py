"""Shape and layout ops: views, reshapes, permutations, flips, repeats, diagonals."""
from opdb.core import OpEntry, Sample
from opdb.samples import per_call, views


def _v(name, shape, *calls, op=None, **kw):
    """An entry sampled on ``shape`` in every layout (first call's args), plus extra calls."""
    first_args = calls[0] if calls else ()

    def gen(make):
        return views(make, shape, *first_args) + per_call(*[c for c in calls[1:]])(make)
    return OpEntry(name, gen, op=op, **kw) if op else OpEntry(name, gen, **kw)


ENTRIES = [
    _v("reshape", (3, 4), ((2, 6),), ((3, 4), ((-1,),)), ((), ((),)), ((0, 4), ((4, 0),)), ((48, 65), ((65, 48),))),
    _v("Tensor.view", (3, 4), (12,), ((3, 4), (2, 2, 3)), ((), (1, 1)), ((0, 4), (-1,))),
    OpEntry("Tensor.reshape_as", lambda make: [Sample(make(3, 4), make(2, 6)), Sample(make(3, 4, layout="transposed"),
                                                                                      make(12)), Sample(make(), make(1, 1))]),
    _v("flatten", (2, 3, 4), (), ((2, 3, 4), (1,)), ((), ()), ((0, 3), (0, -1))),
    _v("unflatten", (3, 4), (1, (2, 2)), ((6,), (0, (2, -1))), ((0, 4), (1, (2, 2)))),
    _v("squeeze", (3, 1, 4), (), ((3, 1, 4), (1,)), ((1,), ()), ((0, 1), (1,))),
    _v("unsqueeze", (3, 4), (1,), ((3, 4), (-1,)), ((), (0,)), ((0,), (0,))),
    _v("permute", (2, 3, 4), ((2, 0, 1),), ((3, 4), ((1, 0),)), ((), ((),))),
    _v("transpose", (2, 3, 4), (0, 2), ((3, 4), (-1, -2)), ((0, 3), (0, 1))),
    _v("movedim", (2, 3, 4), (0, -1), ((2, 3, 4), ((0, 1), (2, 0)))),
    _v("t", (3, 4), (), ((4,), ()), ((), ())),
    _v("Tensor.T", (3, 4), (), ((2, 3, 4), ()), ((4,), ())),
    _v("Tensor.mT", (2, 3, 4)),
    _v("Tensor.H", (3, 4)),
    _v("Tensor.mH", (2, 3, 4)),
    _v("Tensor.expand", (3, 1), (3, 4), ((1, 4), (2, 3, 4)), ((), (2, 2)), ((3, 1), (-1, 0))),
    _v("Tensor.contiguous", (3, 4), (), ((), ())),
    _v("flip", (2, 3, 4), ((0, 2),), ((3, 4), ((-1,),)), ((), ((),)), ((0, 3), ((1,),))),
    _v("fliplr", (3, 4)), _v("flipud", (3, 4)),
    _v("roll", (3, 4), (1, 1), ((3, 4), (5,)), ((2, 3, 4), ((1, -2), (0, 2))), ((0, 3), (1, 1))),
    _v("repeat", (2, 3), (2, 2), ((3,), (2, 1, 2)), ((), (3,)), ((0, 2), (2, 1)), ref="Tensor.repeat"),
    _v("tile", (2, 3), ((2, 1),), ((3,), ((2, 2),)), ((), ((3,),))),
    _v("diag", (4, 4), (), ((5,), ()), ((3, 4), (1,)), ((4,), (-1,))),
    _v("diag_embed", (2, 3), (), ((3,), (1,)), ((2, 3), (0, 0, 2))),
    _v("diagonal", (3, 4), (), ((2, 3, 4), (1, 1, 2)), ((4, 4), (-1,))),
    _v("trace", (3, 4), (), ((4, 4), ())),
    _v("tril", (3, 4), (), ((3, 4), (1,)), ((2, 3, 4), (-1,)), ((0, 3), ())),
    _v("triu", (3, 4), (), ((3, 4), (1,)), ((2, 3, 4), (-1,)), ((0, 3), ())),
    OpEntry("atleast_1d", lambda make: [Sample(make()), Sample(make(3)), Sample(make(2, 3)), Sample(make(), make(3))]),
    OpEntry("atleast_2d", lambda make: [Sample(make()), Sample(make(3)), Sample(make(2, 3, layout="transposed"))]),
    OpEntry("atleast_3d", lambda make: [Sample(make()), Sample(make(3)), Sample(make(2, 3)), Sample(make(2, 2, 2))]),
]
