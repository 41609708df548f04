"""Window functions and the short-time Fourier transform and its inverse."""
import math

from opdb.core import DType, OpEntry, Sample

FACTORY = dict(differentiable=False, method=None, inplace=None)
FLOAT_DTYPES = ("float32", "float64", "float16", "bfloat16", "int64")  # int64: torch's error for integer windows


def _windows(*extra):
    def gen(make):
        d = DType(make.dtype)
        return [Sample(8, dtype=d), Sample(7, False, *extra, dtype=d), Sample(1, dtype=d), Sample(0, dtype=d),
                Sample(5, True, *extra), Sample(-1, dtype=d)]  # a negative length: RuntimeError
    return gen


def _stft(make):
    return [Sample(make(64), 16, return_complex=True),
            Sample(make(2, 50), 16, 4, window=make(16, low=0, high=1, grad=False), return_complex=True),
            Sample(make(40, layout="sliced"), 8, 2, 6, center=False, normalized=True, return_complex=True),
            Sample(make(48), 12, window=make(12, low=0, high=1, grad=False), onesided=False, return_complex=True),
            Sample(make(40), 8, pad_mode="constant", return_complex=True),
            Sample(make(40), 8, return_complex=False),
            Sample(make(40), 8),  # return_complex not given for a real input: RuntimeError
            Sample(make(4), 8, center=False, return_complex=True)]  # n_fft longer than the signal: RuntimeError


def _istft_input(make, frames, n_fft, onesided=True):
    return make.complex(n_fft // 2 + 1 if onesided else n_fft, frames)


def _istft(make):
    def hann(n):
        return make(n, values=[0.5 - 0.5 * math.cos(2 * math.pi * i / n) for i in range(n)], grad=False)
    return [Sample(_istft_input(make, 9, 16), 16, window=hann(16)),
            Sample(_istft_input(make, 7, 8), 8, 2, window=hann(8), length=16),
            Sample(make.complex(2, 5, 11), 8, 2, window=hann(8), normalized=True),
            Sample(_istft_input(make, 9, 16), 16),  # a rectangular window with hop n_fft/4: the envelope is fine
            Sample(_istft_input(make, 9, 16), 16, window=make(16, values=[0.0] * 16, grad=False))]  # a zero envelope


ENTRIES = [
    OpEntry("hann_window", _windows(), dtypes=FLOAT_DTYPES, **FACTORY),
    OpEntry("hamming_window", _windows(0.5, 0.5), dtypes=FLOAT_DTYPES, **FACTORY),
    OpEntry("blackman_window", _windows(), dtypes=FLOAT_DTYPES, **FACTORY),
    OpEntry("bartlett_window", _windows(), dtypes=FLOAT_DTYPES, **FACTORY),
    OpEntry("kaiser_window", _windows(8.0), dtypes=FLOAT_DTYPES, **FACTORY),
    OpEntry("stft", _stft, dtypes=("float32", "float64", "int64")),
    OpEntry("istft", _istft, dtypes=("float32", "float64")),
]
