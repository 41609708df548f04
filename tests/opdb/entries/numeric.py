"""Fourier transforms, special functions and the numeric additions of issue 15 (real inputs:
the database's dtypes are real; complex inputs are covered in tests/fft and tests/ops/test_complex.py)."""
from opdb.core import OpEntry, Sample

F = ("float32", "float64")
TOL = dict(tol={"float32": (1e-4, 1e-4)})


def _signals(make):
    return [Sample(make(8)), Sample(make(3, 6)), Sample(make(4, 5, layout="transposed")),
            Sample(make(2, 6, layout="sliced"))]


def _signals_n(make):
    return [Sample(make(8), n=5), Sample(make(3, 6), n=9, dim=0), Sample(make(4, 5), norm="ortho"),
            Sample(make(4, 6), norm="forward")]


def _planes(make):
    return [Sample(make(4, 6)), Sample(make(2, 3, 4), s=(4, 5)), Sample(make(3, 4, layout="transposed"), norm="ortho")]


def _positive(low, high):
    def gen(make):
        m = lambda *s, **kw: make(*s, low=low, high=high, **kw)  # noqa: E731
        return [Sample(m(6)), Sample(m(3, 4)), Sample(m(3, 4, layout="transposed")), Sample(m()), Sample(m(0, 3))]
    return gen


def _along(make):
    return [Sample(make(5), 0), Sample(make(3, 4), 1), Sample(make(3, 4, layout="transposed"), 0)]


def _as_real(name):
    """The transform with its complex result viewed as (real, imaginary) pairs: the database compares real tensors."""
    def recipe(lib):
        fn = getattr(lib.fft, name)
        return lambda x, **kw: lib.view_as_real(fn(x, **kw).resolve_conj())
    return recipe


FFT = [OpEntry(f"fft.{name}", _signals, op=_as_real(name), dtypes=F, **TOL) for name in ("fft", "ifft", "rfft", "ihfft")]
FFT += [OpEntry(f"fft.{name}", _signals_n, op=_as_real(name), dtypes=F, name_suffix="n", **TOL)
        for name in ("fft", "rfft")]
FFT += [OpEntry(f"fft.{name}", _planes, op=_as_real(name), dtypes=F, **TOL)
        for name in ("fft2", "rfft2", "fftn", "rfftn", "ifftn")]
FFT += [OpEntry(f"fft.{name}", _signals, dtypes=F, supports_out=True, **TOL) for name in ("hfft", "irfft")]
FFT += [OpEntry(f"fft.{name}", _signals, dtypes=F) for name in ("fftshift", "ifftshift")]

SPECIAL_RANGES = {
    "entr": (0.1, 3), "erfcx": (-2, 4), "i0e": (-3, 3), "i1": (-3, 3), "i1e": (-3, 3), "log_ndtr": (-3, 3),
    "ndtri": (0.05, 0.95), "ndtr": (-3, 3), "sinc": (-2, 2), "expit": (-3, 3), "gammaln": (0.5, 4),
    "psi": (0.5, 4), "multigammaln": (2, 4),
}
SPECIAL = [OpEntry(f"special.{name}", _positive(lo, hi), dtypes=F, gradgrad=name not in ("psi", "gammaln"),
                   supports_out=True, **TOL)
           for name, (lo, hi) in SPECIAL_RANGES.items() if name != "multigammaln"]
SPECIAL += [OpEntry("special.multigammaln", lambda make: [Sample(make(3, 4, low=2, high=4), 2)], dtypes=F,
                    supports_out=True, **TOL),
            OpEntry("special.xlog1py", lambda make: [Sample(make(3, 4), make(3, 4, low=-0.5, high=3)),
                                                     Sample(make(4), make(3, 1, low=0, high=2))], dtypes=F,
                    supports_out=True, **TOL),
            OpEntry("special.zeta", lambda make: [Sample(make(3, 4, low=1.5, high=4, grad=False),
                                                         make(3, 4, low=0.5, high=3))], dtypes=F, gradgrad=False,
                    supports_out=True, **TOL)]
SPECIAL += [OpEntry(f"special.{name}", _positive(-3, 3), dtypes=F, differentiable=False, supports_out=True, **TOL)
            for name in ("bessel_j0", "bessel_j1", "modified_bessel_i0", "modified_bessel_i1", "spherical_bessel_j0")]

OTHERS = [
    OpEntry("cummax", _along, dtypes=F), OpEntry("cummin", _along, dtypes=F),
    OpEntry("hardshrink", _positive(-2, 2), dtypes=F),
    OpEntry("diff", _along, dtypes=F),
    OpEntry("rot90", lambda make: [Sample(make(3, 4)), Sample(make(2, 3, 4), 3, (1, 2))], dtypes=F),
    OpEntry("trapezoid", lambda make: [Sample(make(3, 5)), Sample(make(4, 3), dim=0)], dtypes=F),
    OpEntry("cov", lambda make: [Sample(make(3, 6)), Sample(make(2, 5, layout="transposed"))], dtypes=F, **TOL),
    OpEntry("quantile", lambda make: [Sample(make(7), 0.3), Sample(make(3, 5), 0.6, dim=1)], dtypes=F,
            supports_out=True),
    OpEntry("linalg.matrix_exp", lambda make: [Sample(make(3, 3, low=-0.5, high=0.5)),
                                               Sample(make(2, 2, 2, low=-0.5, high=0.5))], dtypes=F, **TOL),
    OpEntry("linalg.vander", lambda make: [Sample(make(4)), Sample(make(2, 3), N=4)], dtypes=F),
]

ENTRIES = FFT + SPECIAL + OTHERS
