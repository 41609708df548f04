"""Complex numbers: parts, conjugates, polar form and the real <-> complex views.

Samples build complex inputs with ``make.complex`` (complex64 under float32, complex128
under float64), so the grad and gradcheck runs differentiate through complex values."""
from opdb.core import COMPLEX, OpEntry, Sample

CPLX = ("float32", "float64") + COMPLEX
CPLX_AND_REAL = CPLX + ("int64", "bool")  # int/bool: torch's result (or error) for real input


def _complex_views(make):
    c = make.complex
    return [Sample(c(3, 4)), Sample(c(3, 4, layout="transposed")), Sample(c(2, 3, layout="sliced")), Sample(c()),
            Sample(c(0, 3)), Sample(c(40, 65))]


def _real_too(make):
    """Complex inputs, then one input of the dtype under test itself (real, integer, bool)."""
    return _complex_views(make) + [Sample(make(3, 4)), Sample(make())]


def _pairs(low=-2.0):
    """Two real operands (of complex/polar) with broadcasting, views, 0-d and empty shapes,
    and mixed precisions (torch raises RuntimeError, as for non-floating parts)."""
    def gen(make):
        a = lambda *shape, **kw: make(*shape, low=low, **kw)  # noqa: E731
        return [Sample(a(3, 4), make(3, 4)), Sample(a(3, 4), make(4)), Sample(a(), make(2, 3)),
                Sample(a(3, 4, layout="transposed"), make(3, 4, layout="sliced")), Sample(a(0, 4), make(4)),
                Sample(a(3), make(3, dtype="float64"))]
    return gen


def _as_complex(make):
    """view_as_complex needs a last dim of 2 with stride 1: contiguous inputs, and a
    transposed one torch rejects."""
    return [Sample(make(3, 4, 2)), Sample(make(2)), Sample(make(4, 3)),
            Sample(make(2, 3, layout="transposed"))]


ENTRIES = [
    OpEntry("real", _real_too, dtypes=CPLX_AND_REAL, method=None),
    OpEntry("imag", _real_too, dtypes=CPLX_AND_REAL, method=None),
    OpEntry("Tensor.real", lambda make: _complex_views(make)[:3], dtypes=CPLX),
    OpEntry("Tensor.imag", lambda make: _complex_views(make)[:3], dtypes=CPLX),
    OpEntry("conj", _real_too, dtypes=CPLX_AND_REAL),
    OpEntry("conj_physical", _real_too, dtypes=CPLX_AND_REAL),
    OpEntry("resolve_conj", lambda make: [Sample(make.complex(3, 4)), Sample(make(3, 4))], dtypes=CPLX_AND_REAL,
            op=lambda lib: lambda x: lib.resolve_conj(x.conj()), method="resolve_conj"),
    OpEntry("resolve_neg", _real_too, dtypes=CPLX_AND_REAL),
    OpEntry("angle", _real_too, dtypes=CPLX_AND_REAL),
    OpEntry("isreal", lambda make: _real_too(make) + [Sample(make(values=[1 + 0j, 2j, 3 - 0j], dtype="complex64"))],
            dtypes=CPLX_AND_REAL, differentiable=False),
    OpEntry("adjoint", lambda make: [Sample(make.complex(3, 4)), Sample(make.complex(2, 3, 4, layout="sliced")),
                                     Sample(make(3, 4, layout="transposed")), Sample(make(0, 2)), Sample(make(4))],
            dtypes=CPLX_AND_REAL),
    OpEntry("view_as_real", lambda make: _complex_views(make)[:5] + [Sample(make(3))], dtypes=CPLX_AND_REAL,
            method=None),
    OpEntry("view_as_complex", _as_complex, dtypes=("float32", "float64", "int64"), method=None),
    OpEntry("complex", _pairs(), dtypes=("float32", "float64", "int64")),
    # a positive modulus: for a negative one torch's gradient (sgn of the result) is not the derivative
    OpEntry("polar", _pairs(low=0.1), dtypes=("float32", "float64", "int64")),
]
