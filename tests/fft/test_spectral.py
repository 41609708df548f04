"""Window functions and stft/istft against torch: values, gradients, reconstruction, errors."""
import numpy as np
import pytest
import torch

import ember
from tests.oracle import check, gradcheck, rand

WINDOWS = ["hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window"]


@pytest.mark.parametrize("name", WINDOWS)
@pytest.mark.parametrize("n", [0, 1, 2, 7, 8])
@pytest.mark.parametrize("periodic", [True, False])
def test_windows_match_torch(name, n, periodic):
    e = getattr(ember, name)(n, periodic)
    t = getattr(torch, name)(n, periodic)
    assert e.dtype is ember.float32 and tuple(e.shape) == tuple(t.shape)
    np.testing.assert_allclose(e.numpy(), t.numpy(), atol=1e-6)


def test_window_parameters_and_dtype():
    np.testing.assert_allclose(ember.hamming_window(9, True, 0.6, 0.4, dtype=ember.float64).numpy(),
                               torch.hamming_window(9, True, 0.6, 0.4, dtype=torch.float64).numpy())
    np.testing.assert_allclose(ember.kaiser_window(10, True, 5.0, dtype=ember.float64).numpy(),
                               torch.kaiser_window(10, True, 5.0, dtype=torch.float64).numpy())
    assert ember.hann_window(4, requires_grad=True).requires_grad
    with pytest.raises(RuntimeError, match="floating point"):
        ember.hann_window(4, dtype=ember.int64)


STFT_CASES = [dict(n_fft=16), dict(n_fft=16, hop_length=5, win_length=10, window=True),
              dict(n_fft=15, center=False, normalized=True), dict(n_fft=16, onesided=False),
              dict(n_fft=16, pad_mode="constant")]


def _stft(kw):
    def fn(lib, x):
        k = dict(kw)
        if k.pop("window", None):
            k["window"] = lib.hann_window(k["win_length"], dtype=x.dtype)
        return lib.stft(x, return_complex=True, **k)
    return fn


@pytest.mark.parametrize("kw", STFT_CASES, ids=str)
@pytest.mark.parametrize("shape", [(100,), (2, 60)])
def test_stft_matches_torch(kw, shape):
    check(_stft(kw), rand(*shape, dtype=np.float64), atol=1e-9)


def test_stft_complex_input_and_real_output():
    check(lambda lib, x: lib.stft(x, 8, return_complex=True), rand(40, dtype=np.complex128), atol=1e-9)
    check(lambda lib, x: lib.stft(x, 8, hop_length=3, return_complex=False), rand(40, dtype=np.float64), atol=1e-9)


def test_stft_gradcheck():
    gradcheck(lambda lib, x: lib.view_as_real(lib.stft(x, 8, hop_length=3, return_complex=True)),
              rand(20, dtype=np.float64), gradgrad=False)


@pytest.mark.parametrize("kw", [dict(n_fft=16), dict(n_fft=16, hop_length=5, win_length=10, window=True),
                                dict(n_fft=16, onesided=False), dict(n_fft=12, normalized=True)], ids=str)
def test_istft_inverts_and_matches_torch(kw):
    sig = rand(2, 90, dtype=np.float64)
    spec = _stft(kw)(torch, torch.tensor(sig)).numpy()

    def inverse(lib, s):
        k = {a: b for a, b in kw.items() if a != "window"}
        if kw.get("window"):
            k["window"] = lib.hann_window(k["win_length"], dtype=lib.float64)
        return lib.istft(s, length=90, **k)
    out = check(inverse, spec, atol=1e-9)
    np.testing.assert_allclose(out.detach().numpy(), sig, atol=1e-9)


def test_istft_gradcheck():
    spec = np.ascontiguousarray(torch.stft(torch.tensor(rand(24, dtype=np.float64)), 8, hop_length=2,
                                          return_complex=True).numpy())
    gradcheck(lambda lib, s: lib.istft(s, 8, hop_length=2), spec, gradgrad=False)


def test_stft_errors():
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="return_complex parameter be given"):
            lib.stft(lib.randn(32), 8)
        with pytest.raises(RuntimeError, match="window overlap add min"):
            lib.istft(lib.stft(lib.randn(32), 8, return_complex=True), 8, window=lib.zeros(8))
