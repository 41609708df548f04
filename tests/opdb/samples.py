"""Sample generators shared by the family files. Each returns ``gen(make)`` producing
``Sample``s that cover a plain shape, broadcasting, non-contiguous (transposed and
sliced) views, 0-d, empty and one larger shape."""
from opdb.core import Sample


def scalar_for(dtype):
    """A Python scalar of the kind that stays in ``dtype``'s category."""
    return {"bool": True, "int64": 3, "int32": 3}.get(dtype, 1.5)


def unary(low=-2.0, high=2.0, **kwargs):
    def gen(make):
        m = lambda *shape, **kw: make(*shape, low=low, high=high, **kw)  # noqa: E731
        return [Sample(m(3, 4), **kwargs), Sample(m(), **kwargs), Sample(m(0, 3), **kwargs),
                Sample(m(3, 4, layout="transposed"), **kwargs), Sample(m(2, 3, 4, layout="sliced"), **kwargs),
                Sample(m(48, 65), **kwargs)]
    return gen


def binary(low=-2.0, high=2.0, rlow=None, rhigh=None, scalar=True, **kwargs):
    rlow, rhigh = low if rlow is None else rlow, high if rhigh is None else rhigh

    def gen(make):
        a = lambda *shape, **kw: make(*shape, low=low, high=high, **kw)  # noqa: E731
        b = lambda *shape, **kw: make(*shape, low=rlow, high=rhigh, **kw)  # noqa: E731
        out = [Sample(a(3, 4), b(3, 4), **kwargs), Sample(a(3, 4), b(4), **kwargs),
               Sample(a(2, 1, 4), b(3, 1), **kwargs), Sample(a(), b(3, 4), **kwargs), Sample(a(2, 3), b(), **kwargs),
               Sample(a(3, 4, layout="transposed"), b(3, 4, layout="sliced"), **kwargs),
               Sample(a(0, 4), b(4), **kwargs), Sample(a(40, 65), b(65), **kwargs)]
        if scalar:
            out.append(Sample(a(3, 4), scalar_for(make.dtype), **kwargs))
        return out
    return gen


def reduction(low=-2.0, high=2.0, dims=True, empty=True, **kwargs):
    """Full reductions and reductions over ``dim`` (int, negative, tuple) with ``keepdim``."""
    def gen(make):
        m = lambda *shape, **kw: make(*shape, low=low, high=high, **kw)  # noqa: E731
        out = [Sample(m(3, 4), **kwargs), Sample(m(), **kwargs), Sample(m(48, 65, layout="transposed"), **kwargs)]
        if dims:
            out += [Sample(m(3, 4), 1, **kwargs), Sample(m(3, 4), dim=0, keepdim=True, **kwargs),
                    Sample(m(2, 3, 4, layout="sliced"), -1, **kwargs), Sample(m(), 0, **kwargs)]
            if dims == "tuple":
                out.append(Sample(m(2, 3, 4), (0, 2), **kwargs))
            if empty:
                out.append(Sample(m(0, 3), 1, **kwargs))
        return out
    return gen


def ternary(low=-2.0, high=2.0, **kwargs):
    """Three broadcasting operands (addcmul, lerp, where-like ops)."""
    def gen(make):
        m = lambda *shape, **kw: make(*shape, low=low, high=high, **kw)  # noqa: E731
        return [Sample(m(3, 4), m(3, 4), m(3, 4), **kwargs), Sample(m(3, 4), m(4), m(3, 1), **kwargs),
                Sample(m(), m(2, 3), m(3), **kwargs),
                Sample(m(3, 4, layout="transposed"), m(3, 4, layout="sliced"), m(3, 4), **kwargs),
                Sample(m(0, 4), m(4), m(1, 4), **kwargs), Sample(m(40, 65), m(65), m(40, 1), **kwargs)]
    return gen


def views(make, shape, *args, **kwargs):
    """``op(x, *args)`` with ``x`` of ``shape`` contiguous, transposed and sliced."""
    return [Sample(make(*shape, layout=layout), *args, **kwargs) for layout in ("contiguous", "transposed", "sliced")]


def per_call(*calls):
    """Samples from ``(shape, args, kwargs)`` triples (kwargs optional), one per call."""
    def gen(make):
        out = []
        for call in calls:
            shape, args, kwargs = (tuple(call) + ({},))[:3]
            out.append(Sample(make(*shape), *args, **kwargs))
        return out
    return gen
