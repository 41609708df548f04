"""Joining tensors and splitting them into views."""
from opdb.core import OpEntry, Sample
from opdb.samples import per_call, views


def _joins(make):
    return [Sample([make(2, 3), make(4, 3)]), Sample([make(2, 3, layout="transposed"), make(2, 1)], 1),
            Sample([make(3), make(0), make(2)]), Sample([make(2, 3)], -1), Sample([make(0, 3), make(2, 3)])]


def _stacks(make):
    return [Sample([make(2, 3), make(2, 3)]), Sample([make(3, 2, layout="transposed"), make(3, 2)], 1),
            Sample([make(), make()]), Sample([make(0, 2), make(0, 2)], -1)]


def _nd_stacks(make):
    return [Sample([make(2, 3), make(2, 3)]), Sample([make(3), make(3)]), Sample([make(), make()]),
            Sample([make(2, 3, layout="transposed"), make(2, 3, layout="sliced")])]


ENTRIES = [
    OpEntry("cat", _joins), OpEntry("stack", _stacks),
    OpEntry("hstack", _nd_stacks), OpEntry("vstack", _nd_stacks), OpEntry("dstack", _nd_stacks),
    OpEntry("split", lambda make: views(make, (5, 4), 2) + per_call(((5, 4), ([1, 4], 0)), ((5, 4), (3, 1)),
                                                                      ((0, 4), (2, 1)))(make)),
    OpEntry("chunk", lambda make: views(make, (5, 4), 2) + per_call(((5, 4), (3, 1)), ((0, 2), (2,)))(make)),
    OpEntry("tensor_split", lambda make: views(make, (5, 4), 3) + per_call(((5, 4), ([1, 3], 1)), ((7,), (2,)))(make)),
    OpEntry("unbind", lambda make: views(make, (3, 4)) + per_call(((3, 4), (1,)), ((0, 2), (1,)))(make)),
    OpEntry("narrow", lambda make: views(make, (5, 4), 0, 1, 3) + per_call(((5, 4), (1, 2, 2)), ((5, 4), (-1, 0, 0)))(make)),
    OpEntry("select", lambda make: views(make, (5, 4), 0, 1) + per_call(((5, 4), (1, -1)), ((3,), (0, 2)))(make)),
]


def _sized_splits(make):
    return views(make, (5, 4), [2, 3]) + per_call(((5, 4), ([1, 3], 1)), ((0, 4), ([0, 0],)),
                                                  ((5, 4), ([2, 2],)))(make)  # sizes not summing to 5: RuntimeError


def _by_dim(min_dim):
    """hsplit/vsplit/dsplit: equal sections or split indices, and an input of too few dims."""
    def gen(make):
        shape = (4, 6, 4)[:max(min_dim, 2)] if min_dim < 3 else (2, 4, 6)
        return views(make, shape, 2) + [Sample(make(*shape), [1, 3]), Sample(make(*shape), 5),  # 5 sections: error
                                        Sample(make(*((1,) * (min_dim - 1) or ())), 1)]
    return gen


ENTRIES += [
    OpEntry("split_with_sizes", _sized_splits),
    OpEntry("unsafe_split", lambda make: views(make, (5, 4), 2) + per_call(((5, 4), (3, 1)), ((0, 4), (2,)))(make)),
    OpEntry("unsafe_split_with_sizes", _sized_splits),
    OpEntry("unsafe_chunk", lambda make: views(make, (5, 4), 2) + per_call(((5, 4), (3, 1)), ((0, 2), (2,)))(make)),
    OpEntry("hsplit", _by_dim(1)), OpEntry("vsplit", _by_dim(2)), OpEntry("dsplit", _by_dim(3)),
]
