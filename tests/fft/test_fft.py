"""ember.fft against torch.fft: values, dtypes, gradients (real and complex inputs), norm modes, errors."""
import numpy as np
import pytest
import torch

import ember
from tests.oracle import check, gradcheck, rand

C2C = [("fft", {}), ("fft", {"n": 5, "norm": "ortho"}), ("ifft", {"n": 9, "dim": 0, "norm": "forward"}),
       ("fft2", {}), ("ifft2", {"s": (3, 10)}), ("fftn", {"dim": (0, 2)}), ("ifftn", {"s": (4, -1, 6), "norm": "ortho"}),
       ("fftn", {}), ("hfft", {}), ("hfft", {"n": 7, "norm": "ortho"}), ("hfft2", {}), ("hfftn", {"norm": "forward"}),
       ("irfft", {}), ("irfft", {"n": 9, "norm": "ortho"}), ("irfft", {"n": 6, "norm": "forward"}), ("irfft2", {}),
       ("irfftn", {"s": (3, 4, 7)})]
R2C = [("rfft", {}), ("rfft", {"n": 7}), ("rfft2", {"s": (5, 5)}), ("rfftn", {"norm": "forward"}),
       ("ihfft", {}), ("ihfft", {"n": 5, "norm": "forward"}), ("ihfft2", {"s": (4, 6)}), ("ihfftn", {"dim": (0, 1)})]


def _call(name, kw):
    return lambda lib, x: getattr(lib.fft, name)(x, **kw)


@pytest.mark.parametrize("name,kw", C2C + R2C, ids=lambda v: str(v))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_real_input_matches_torch(name, kw, dtype):
    check(_call(name, kw), rand(3, 4, 8, dtype=dtype), atol=1e-4 if dtype == np.float32 else 1e-9)


@pytest.mark.parametrize("name,kw", C2C, ids=lambda v: str(v))
@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_complex_input_matches_torch(name, kw, dtype):
    out = check(_call(name, kw), rand(3, 4, 8, dtype=dtype), atol=1e-4 if dtype == np.complex64 else 1e-9)
    assert out.dtype.to_real() is (ember.float32 if dtype == np.complex64 else ember.float64)


@pytest.mark.parametrize("layout", ["transposed", "sliced"])
@pytest.mark.parametrize("name", ["fft", "rfft", "irfft", "fft2", "hfft"])
def test_strided_inputs(name, layout):
    dtype = np.complex128 if name in ("irfft", "hfft") else np.float64
    check(_call(name, {}), rand(5, 6, dtype=dtype), layout=layout, atol=1e-9)


def test_node_names_match_torch():
    for name, cx in (("fft", False), ("fft", True), ("rfft", False), ("irfft", True), ("fft2", False), ("ifft", False)):
        a = rand(4, 6, dtype=np.complex128 if cx else np.float64)
        e = getattr(ember.fft, name)(ember.tensor(a, requires_grad=True))
        t = getattr(torch.fft, name)(torch.tensor(a, requires_grad=True))
        assert e.grad_fn.name() == t.grad_fn.name()


@pytest.mark.parametrize("name,kw", [("fft", {"norm": "ortho"}), ("ifft2", {}), ("irfft", {"n": 7}), ("hfft", {}),
                                     ("fftn", {"s": (3, 5)})])
def test_gradcheck_complex(name, kw):
    gradcheck(_call(name, kw), rand(3, 4, dtype=np.complex128), gradgrad=name != "fftn")


@pytest.mark.parametrize("name,kw", [("rfft", {}), ("rfft", {"n": 6, "norm": "forward"}), ("fft", {}), ("ihfft", {}),
                                     ("rfft2", {"norm": "ortho"}), ("irfft", {})])
def test_gradcheck_real(name, kw):
    gradcheck(_call(name, kw), rand(3, 4, dtype=np.float64))


def test_roundtrips_and_integer_input():
    x = ember.tensor(rand(2, 10, dtype=np.float64))
    np.testing.assert_allclose(ember.fft.irfft(ember.fft.rfft(x), n=10).numpy(), x.numpy(), atol=1e-12)
    np.testing.assert_allclose(ember.fft.ifftn(ember.fft.fftn(x)).real.numpy(), x.numpy(), atol=1e-12)
    np.testing.assert_allclose(ember.fft.ihfft(ember.fft.hfft(ember.fft.ihfft(x))).numpy(),
                               ember.fft.ihfft(x).numpy(), atol=1e-12)
    assert ember.fft.fft(ember.arange(4)).dtype is ember.complex64


def test_freqs_and_shifts():
    for n, d in ((8, 1.0), (7, 0.5), (1, 2.0)):
        np.testing.assert_allclose(ember.fft.fftfreq(n, d).numpy(), torch.fft.fftfreq(n, d).numpy())
        np.testing.assert_allclose(ember.fft.rfftfreq(n, d, dtype=ember.float64).numpy(),
                                   torch.fft.rfftfreq(n, d, dtype=torch.float64).numpy())
    a = rand(3, 5, 4, dtype=np.float64)
    for dim in (None, 1, (0, 2)):
        for f in ("fftshift", "ifftshift"):
            check(lambda lib, x: getattr(lib.fft, f)(x, dim=dim), a)


def test_out_argument():
    out = ember.empty(0, dtype=ember.complex128)
    x = ember.tensor(rand(6, dtype=np.float64))
    assert ember.fft.rfft(x, out=out) is out
    np.testing.assert_allclose(out.numpy(), torch.fft.rfft(torch.tensor(x.numpy())).numpy())
    with pytest.raises(RuntimeError, match="can't be cast"):
        ember.fft.fft(x, out=ember.empty(6))


def test_errors_match_torch():
    x = ember.randn(4)
    for lib, t in ((ember, x), (torch, torch.randn(4))):
        with pytest.raises(RuntimeError, match="Invalid normalization mode"):
            lib.fft.fft(t, norm="bogus")
        with pytest.raises(RuntimeError, match=r"Invalid number of data points \(0\)"):
            lib.fft.fft(t, n=0)
        with pytest.raises(RuntimeError, match="rfft expects a real input tensor, but got ComplexFloat"):
            lib.fft.rfft(t.to(lib.complex64))
        with pytest.raises(RuntimeError, match=r"Invalid number of data points \(0\)"):
            lib.fft.irfft(lib.ones(1, dtype=lib.complex64))
