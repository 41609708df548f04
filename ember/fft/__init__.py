"""``ember.fft``: PyTorch's ``torch.fft`` (discrete Fourier transforms, differentiable).

>>> X = ember.fft.rfft(ember.randn(8))        # 5 complex bins
>>> x = ember.fft.irfft(X, n=8)               # back to the signal

``norm`` is ``"backward"`` (scale the inverse by 1/n, the default), ``"ortho"``
(1/sqrt(n) both ways) or ``"forward"`` (scale the forward transform by 1/n).
"""
from ember._tensor import Tensor
from ember.backend.dtype import get_default_dtype
from ember.creation import arange
from ember.ops.fft import c2c, c2r, r2c
from ember.ops.out import write_out
from ember.ops.rearrange import roll

__all__ = [
    "Tensor", "fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2", "rfftn", "irfftn",
    "hfft", "ihfft", "hfft2", "ihfft2", "hfftn", "ihfftn", "fftfreq", "rfftfreq", "fftshift", "ifftshift",
]


def _one(n):
    return None if n is None else [n]


def fft(input, n=None, dim=-1, norm=None, *, out=None):
    """The 1-D discrete Fourier transform along ``dim`` (the signal trimmed or zero-padded to ``n``)."""
    return write_out("fft", out, c2c("fft", input, _one(n), [dim], norm, True), (input,))


def ifft(input, n=None, dim=-1, norm=None, *, out=None):
    """The 1-D inverse discrete Fourier transform along ``dim``."""
    return write_out("ifft", out, c2c("ifft", input, _one(n), [dim], norm, False), (input,))


def fft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return write_out("fft2", out, c2c("fft2", input, s, dim, norm, True), (input,))


def ifft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return write_out("ifft2", out, c2c("ifft2", input, s, dim, norm, False), (input,))


def fftn(input, s=None, dim=None, norm=None, *, out=None):
    """The N-D transform over ``dim`` (default: the last ``len(s)`` dims, or all)."""
    return write_out("fftn", out, c2c("fftn", input, s, dim, norm, True), (input,))


def ifftn(input, s=None, dim=None, norm=None, *, out=None):
    return write_out("ifftn", out, c2c("ifftn", input, s, dim, norm, False), (input,))


def rfft(input, n=None, dim=-1, norm=None, *, out=None):
    """The transform of a real signal: only the ``n // 2 + 1`` non-redundant bins."""
    return write_out("rfft", out, r2c("rfft", input, _one(n), [dim], norm), (input,))


def irfft(input, n=None, dim=-1, norm=None, *, out=None):
    """The real signal (of length ``n``, default ``2 * (bins - 1)``) of a one-sided spectrum."""
    return write_out("irfft", out, c2r("irfft", input, _one(n), [dim], norm), (input,))


def rfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return write_out("rfft2", out, r2c("rfft2", input, s, dim, norm), (input,))


def irfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return write_out("irfft2", out, c2r("irfft2", input, s, dim, norm), (input,))


def rfftn(input, s=None, dim=None, norm=None, *, out=None):
    return write_out("rfftn", out, r2c("rfftn", input, s, dim, norm), (input,))


def irfftn(input, s=None, dim=None, norm=None, *, out=None):
    return write_out("irfftn", out, c2r("irfftn", input, s, dim, norm), (input,))


def hfft(input, n=None, dim=-1, norm=None, *, out=None):
    """The (real) transform of a Hermitian-symmetric signal given by its first half."""
    return write_out("hfft", out, c2r("hfft", input, _one(n), [dim], norm, forward=True), (input,))


def ihfft(input, n=None, dim=-1, norm=None, *, out=None):
    """The inverse of ``hfft``: the first half of the inverse transform of a real signal."""
    return write_out("ihfft", out, r2c("ihfft", input, _one(n), [dim], norm, forward=False), (input,))


def hfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return write_out("hfft2", out, c2r("hfft2", input, s, dim, norm, forward=True), (input,))


def ihfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return write_out("ihfft2", out, r2c("ihfft2", input, s, dim, norm, forward=False), (input,))


def hfftn(input, s=None, dim=None, norm=None, *, out=None):
    return write_out("hfftn", out, c2r("hfftn", input, s, dim, norm, forward=True), (input,))


def ihfftn(input, s=None, dim=None, norm=None, *, out=None):
    return write_out("ihfftn", out, r2c("ihfftn", input, s, dim, norm, forward=False), (input,))


def fftfreq(n, d=1.0, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """The sample frequencies of an ``n``-point transform: ``[0, 1, ..., -1] / (d * n)``."""
    dtype = dtype or get_default_dtype()
    k = arange(n, dtype=dtype, device=device)
    k = k - (k >= (n + 1) // 2).to(dtype) * n
    return write_out("fftfreq", out, k / (d * n)).requires_grad_(requires_grad)


def rfftfreq(n, d=1.0, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """The sample frequencies of ``rfft``'s bins: ``[0, 1, ..., n // 2] / (d * n)``."""
    dtype = dtype or get_default_dtype()
    k = arange(n // 2 + 1, dtype=dtype, device=device)
    return write_out("rfftfreq", out, k / (d * n)).requires_grad_(requires_grad)


def _shift_dims(input, dim):
    if dim is None:
        return list(range(input.dim()))
    return [dim] if isinstance(dim, int) else list(dim)


def fftshift(input, dim=None):
    """Move the zero-frequency bin to the centre of ``dim`` (default: every dim)."""
    dims = _shift_dims(input, dim)
    return roll(input, [input.shape[d] // 2 for d in dims], dims) if dims else input


def ifftshift(input, dim=None):
    """The inverse of ``fftshift``."""
    dims = _shift_dims(input, dim)
    return roll(input, [-(input.shape[d] // 2) for d in dims], dims) if dims else input

