"""Storage-level views and their scatters (as_strided, *_scatter), broadcasts and
reshaping in place (resize_), fills of whole tensors, and detaching."""
from opdb.core import DType, OpEntry, Sample, skip
from opdb.samples import per_call, views

NON_DIFF = dict(differentiable=False)


def _as_strided(make):
    x = lambda layout="contiguous": make(3, 4, layout=layout)  # noqa: E731
    return [Sample(x(), (2, 2), (1, 2)), Sample(x(), (3,), (4,), 1), Sample(x(), (3, 2), (1, 1)),  # overlapping windows
            Sample(x("transposed"), (2, 3), (1, 2)), Sample(x("sliced"), (2, 2), (3, 1), 2),
            Sample(make(), (), ()), Sample(x(), (0, 2), (1, 1)), Sample(make(48, 65), (40, 30), (65, 2)),
            Sample(x(), (10,), (2,)),  # past the end of the storage: RuntimeError
            Sample(x(), (2, 2), (1,))]  # sizes and strides of different lengths: RuntimeError


def _as_strided_scatter(make):
    return [Sample(make(3, 4), make(2, 2), (2, 2), (1, 2)), Sample(make(3, 4), make(3), (3,), (4,), 1),
            Sample(make(3, 4), make(0, 2), (0, 2), (1, 1)), Sample(make(), make(), (), ())]


def _diagonal_scatter(make):
    return [Sample(make(3, 4), make(3)), Sample(make(3, 4), make(3), 1), Sample(make(3, 4), make(2), -1),
            Sample(make(2, 3, 4), make(2, 3), 0, 1, 2), Sample(make(3, 4, layout="transposed"), make(3)),
            Sample(make(3, 4), make(0), 5), Sample(make(3, 4), make(4))]  # src of the wrong shape: RuntimeError


def _select_scatter(make):
    return [Sample(make(3, 4), make(4), 0, 1), Sample(make(3, 4, layout="sliced"), make(3), 1, -1),
            Sample(make(2, 3, 4), make(2, 4), 1, 2), Sample(make(0, 3), make(0), 1, 0),
            Sample(make(3, 4), make(4), 0, 3)]  # index out of range: IndexError


def _slice_scatter(make):
    return [Sample(make(4, 5), make(2, 5), 0, 1, 3), Sample(make(4, 6, layout="transposed"), make(4, 3), 1, 0, None, 2),
            Sample(make(4, 5), make(4, 5)), Sample(make(4, 5), make(0, 5), 0, 2, 2),
            Sample(make(4, 5), make(4, 2), dim=1, start=-2)]


def _unfold(make):
    return views(make, (3, 8), 1, 3, 2) + [Sample(make(5), 0, 2, 1), Sample(make(), 0, 1, 1),
                                           Sample(make(0, 4), 1, 2, 2), Sample(make(5), 0, 6, 1)]


def _broadcast_to(make):
    return views(make, (3, 1), (3, 4)) + [Sample(make(4), (2, 3, 4)), Sample(make(), (2, 2)), Sample(make(3, 1), (-1, 0)),
                                          Sample(make(3), (4,))]  # not broadcastable: RuntimeError


def _sum_to_size(make):
    return views(make, (3, 4), (1, 4)) + [Sample(make(2, 3, 4), 3, 1), Sample(make(3, 4), (3, 4)), Sample(make(0, 4), (1, 4)),
                                          Sample(make(3, 4), (2, 4))]  # not expandable: RuntimeError


def _resized(lib):
    def resize_(x, *sizes):
        """``resize_`` of a copy to as many or fewer elements (the values torch keeps are defined)."""
        out = x.clone()
        return out.resize_(*sizes), out.shape
    return resize_


def _resize_samples(make):
    return [Sample(make(3, 4), 2, 6), Sample(make(3, 4), (5,)), Sample(make(), 1, 1), Sample(make(0, 3), 0),
            Sample(make(3, 4), (2, 2))]


def _resize_as(method):
    def recipe(lib):
        def resize_as_(x, other):
            out = x.clone()
            return (out.resize_as_(other) if method else lib.resize_as_(out, other)), out.shape
        return resize_as_
    return recipe


def _empty_strided(lib):
    def build(size, stride, **kwargs):
        """The shape, strides and dtype (values are uninitialised: filled before comparing)."""
        t = lib.empty_strided(size, stride, **kwargs)
        return t.fill_(1), t.stride()
    return build


def _empty_strided_samples(make):
    d = DType(make.dtype)
    return [Sample((2, 3), (3, 1), dtype=d), Sample((2, 3), (1, 2), dtype=d), Sample((), (), dtype=d),
            Sample((0, 2), (2, 1), dtype=d), Sample((2, 2), (1,))]  # lengths differ: RuntimeError


def _filled(make):
    fill = {"bool": True, "int64": 3, "int32": 3}.get(make.dtype, 1.5)
    return [Sample(make(3, 4), fill), Sample(make(3, 4, layout="transposed"), fill), Sample(make(), fill),
            Sample(make(0, 3), fill), Sample(make(3, 4), make(values=2.0 if make.floating else 2)),
            Sample(make(3, 4), make(2))]  # a fill value of more than one element: RuntimeError


def _on_copy(name, *rest):
    """``lib.<name>(copy of x, ...)``: an in-place function on a copy, returned with the copy."""
    def recipe(lib):
        def call(x, *args):
            out = x.clone()
            return getattr(lib, name)(out, *args), out
        return call
    return recipe


ENTRIES = [
    OpEntry("as_strided", _as_strided, capturable=False,  # reads the storage through the input's base
            skips=(skip("variants", "as_strided_ runs on a clone: torch's clone keeps a transposed input's strides "
                                    "(so its storage order), ember's clone is C-contiguous", sample="(3, 4)T"),)),
    OpEntry("as_strided_scatter", _as_strided_scatter,
            skips=(skip("grad", "torch's gradient for input is wrong (its own gradcheck fails): it zeroes the positions "
                                "src does not cover instead of those it does; gradcheck checks ember's"),)),
    OpEntry("diagonal_scatter", _diagonal_scatter),
    OpEntry("select_scatter", _select_scatter),
    OpEntry("slice_scatter", _slice_scatter),
    OpEntry("Tensor.unfold", _unfold),
    OpEntry("broadcast_to", _broadcast_to),
    OpEntry("Tensor.sum_to_size", _sum_to_size),
    OpEntry("linalg.diagonal", lambda make: views(make, (3, 4)) + [Sample(make(2, 3, 4), offset=1),
                                                                    Sample(make(2, 3, 4), dim1=0, dim2=2),
                                                                    Sample(make(4), offset=1)]),
    OpEntry("detach", lambda make: views(make, (3, 4)) + [Sample(make()), Sample(make(0, 3))], **NON_DIFF),
    OpEntry("detach_", lambda make: views(make, (3, 4)) + [Sample(make())], op=_on_copy("detach_"), **NON_DIFF),
    OpEntry("Tensor.resize_", _resize_samples, op=_resized, capturable=False, **NON_DIFF),
    OpEntry("Tensor.resize", _resize_samples),
    OpEntry("resize_as_", lambda make: [Sample(make(3, 4), make(2, 6)), Sample(make(3, 4), make(5)),
                                        Sample(make(3, 4), make(0, 2))], op=_resize_as(False), capturable=False,
            **NON_DIFF),
    OpEntry("Tensor.resize_as_", lambda make: [Sample(make(3, 4), make(2, 6)), Sample(make(3, 4), make(5))],
            op=_resize_as(True), capturable=False, **NON_DIFF),
    OpEntry("as_strided_", lambda make: [Sample(make(3, 4), (2, 2), (1, 2)), Sample(make(3, 4), (3,), (4,), 1),
                                         Sample(make(3, 4), (10,), (2,))], op=_on_copy("as_strided_"), **NON_DIFF),
    OpEntry("Tensor.resize_as", lambda make: [Sample(make(3, 4), make(2, 6)), Sample(make(3, 4), make(5))]),
    OpEntry("empty_strided", _empty_strided_samples, op=_empty_strided, **NON_DIFF),
    OpEntry("fill", _filled, method=None, inplace=None),
    OpEntry("fill_", _filled, op=_on_copy("fill_"), **NON_DIFF),
    OpEntry("zero_", per_call(((3, 4), ()), ((), ()), ((0, 2), ())), op=_on_copy("zero_"), **NON_DIFF),
]


def _new_empty_strided(lib):
    def build(x, size, stride, **kwargs):
        t = x.new_empty_strided(size, stride, **kwargs)
        return t.fill_(1), t.stride()
    return build


def _module_load(lib):
    def load(x, other, assign=False):
        """``x.module_load(other)`` under no_grad (as load_state_dict calls it), with ``x`` after it."""
        own = x.clone()
        with lib.no_grad():
            out = own.module_load(other, assign=assign)
        return out, own, out.requires_grad
    return load


ENTRIES += [
    OpEntry("Tensor.new_empty_strided", lambda make: [
        Sample(make(2), (2, 3), (3, 1)), Sample(make(), (2, 3), (1, 2), dtype=DType("float64")), Sample(make(0), (0,), (1,)),
        Sample(make(2), (2, 2), (1,))], op=_new_empty_strided, **NON_DIFF),  # lengths differ: RuntimeError
    OpEntry("Tensor.module_load", lambda make: [Sample(make(3, 4), make(3, 4)), Sample(make(3, 4), make(4), True),
                                                Sample(make(3, 4), make(4)), Sample(make(3, 4), make(5))],
            op=_module_load, **NON_DIFF),  # (4) broadcasts into self; (5) does not: RuntimeError
]
