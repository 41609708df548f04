"""Short-time Fourier transforms (``stft``/``istft``) and the window functions they use.

Both transforms are composed from differentiable ops: frames are gathered with one
index array, transformed by ``ember.fft``'s primitives, and ``istft`` overlap-adds
them back with ``index_add`` and divides by the summed squared window.
"""
import math
import warnings

import numpy as np

from ember.backend import to_device, to_dtype
from ember.backend.dtype import get_default_dtype
from ember.creation import arange, ones, tensor, zeros
from ember.ops.complex import view_as_complex, view_as_real
from ember.ops.fft import c2c, c2r, r2c
from ember.ops.join import narrow
from ember.ops.dispatch import primitive
from ember.ops.dual import linear
from ember.ops.pad import pad as pad_op
from ember.ops.registry import public
from ember.ops.scatter import index_add


# window functions ----------------------------------------------------------------------------

def _window(name, window_length, periodic, dtype, device, requires_grad, values):
    """A window of ``window_length`` points from ``values(n, N)`` (float64 NumPy, N = denominator length)."""
    dt = get_default_dtype() if dtype is None else to_dtype(dtype)
    if not dt.is_floating_point:
        raise RuntimeError(f"{name} expects floating point dtypes, got: {dt}")
    if window_length < 0:
        raise RuntimeError(f"{name} requires non-negative window_length, got window_length={window_length}")
    if window_length <= 1:
        data = np.ones(window_length)
    else:
        total = window_length + 1 if periodic else window_length
        data = values(np.arange(total, dtype=np.float64), total)[:window_length]
    return tensor(data, dtype=dt, device=to_device(device), requires_grad=requires_grad)


def _cosine_sum(*coefficients):
    def values(n, total):
        phase = 2 * math.pi * n / (total - 1)
        return sum(((-1) ** k) * a * np.cos(k * phase) for k, a in enumerate(coefficients))
    return values


@public(method=False)
def hann_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, requires_grad=False):
    """The Hann window ``0.5 - 0.5 cos(2 pi n / (N - 1))`` (periodic: N = window_length + 1)."""
    return _window("hann_window", window_length, periodic, dtype, device, requires_grad, _cosine_sum(0.5, 0.5))


@public(method=False)
def hamming_window(window_length, periodic=True, alpha=0.54, beta=0.46, *, dtype=None, layout=None, device=None,
                   requires_grad=False):
    """The generalised Hamming window ``alpha - beta cos(2 pi n / (N - 1))``."""
    return _window("hamming_window", window_length, periodic, dtype, device, requires_grad, _cosine_sum(alpha, beta))


@public(method=False)
def blackman_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, requires_grad=False):
    """The Blackman window ``0.42 - 0.5 cos(2 pi n / (N - 1)) + 0.08 cos(4 pi n / (N - 1))``."""
    return _window("blackman_window", window_length, periodic, dtype, device, requires_grad,
                   _cosine_sum(0.42, 0.5, 0.08))


@public(method=False)
def bartlett_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, requires_grad=False):
    """The triangular window ``1 - |2n / (N - 1) - 1|``."""
    return _window("bartlett_window", window_length, periodic, dtype, device, requires_grad,
                   lambda n, total: 1 - np.abs(2 * n / (total - 1) - 1))


@public(method=False)
def kaiser_window(window_length, periodic=True, beta=12.0, *, dtype=None, layout=None, device=None,
                  requires_grad=False):
    """The Kaiser window ``I0(beta sqrt(1 - (2n / (N - 1) - 1)^2)) / I0(beta)``."""
    return _window("kaiser_window", window_length, periodic, dtype, device, requires_grad,
                   lambda n, total: np.i0(beta * np.sqrt(np.clip(1 - (2 * n / (total - 1) - 1) ** 2, 0, None)))
                   / np.i0(beta))


# stft / istft ----------------------------------------------------------------------------------

def _full_window(window, win_length, n_fft, like):
    """The window centred in ``n_fft`` points (a rectangle of ``win_length`` ones by default)."""
    if window is None:
        window = ones(win_length, dtype=like.dtype.to_real(), device=like.device)
    elif window.dim() != 1 or window.shape[0] != win_length:
        raise RuntimeError(f"stft: expected a 1D window tensor of size equal to win_length={win_length}, but got "
                           f"window with size {list(window.shape)}")
    if win_length < n_fft:
        left = (n_fft - win_length) // 2
        window = pad_op(window, (left, n_fft - win_length - left))
    return window


def _frame_index(n_frames, n_fft, hop, device):
    return arange(n_frames, device=device).unsqueeze(1) * hop + arange(n_fft, device=device)


@primitive("UnfoldBackward0")
def _frames(ctx, xp, x, n_fft, hop):
    """(batch, length) -> (batch, frames, n_fft): overlapping windows, a strided view of the signal."""
    ctx.length, ctx.n_fft, ctx.hop = x.shape[-1], n_fft, hop
    return xp.lib.stride_tricks.sliding_window_view(x, n_fft, axis=-1)[:, ::hop]


@_frames.derivative
def _(ctx, g):  # overlap-add: each signal sample collects the gradients of the frames that saw it
    n_frames = g.shape[1]
    index = _frame_index(n_frames, ctx.n_fft, ctx.hop, g.device).reshape(-1)
    return index_add(zeros(g.shape[0], ctx.length, dtype=g.dtype, device=g.device), 1, index,
                     g.reshape(g.shape[0], -1))


@public
def stft(input, n_fft, hop_length=None, win_length=None, window=None, center=True, pad_mode="reflect",
         normalized=False, onesided=None, return_complex=None, align_to_window=None):
    """The short-time Fourier transform of a (batch of) 1-D signal(s): ``(..., n_freq, n_frames)``."""
    if return_complex is None:
        if not (input.is_complex() or (window is not None and window.is_complex())):
            raise RuntimeError("stft requires the return_complex parameter be given for real inputs, and will "
                               "further require that return_complex=True in a future PyTorch release.")
        return_complex = True
    if input.dim() not in (1, 2):
        raise RuntimeError(f"stft: expected a 1D or 2D tensor, but got {input.dim()}D tensor")
    if input._dtype.category < 2:
        raise RuntimeError(f"stft: expected a tensor of floating point or complex values, got {input.dtype}")
    hop = n_fft // 4 if hop_length is None else hop_length
    win_length = n_fft if win_length is None else win_length
    if hop <= 0:
        raise RuntimeError(f"stft: expected hop_length > 0, but got hop_length={hop}")
    if not 0 < win_length <= n_fft:
        raise RuntimeError(f"stft: expected 0 < win_length <= n_fft, but got win_length={win_length}")
    x = input if input.dim() == 2 else input.unsqueeze(0)
    if center:
        half = n_fft // 2
        x = pad_op(x.unsqueeze(1), (half, half), mode=pad_mode).squeeze(1)
    length = x.shape[-1]
    if not 0 < n_fft <= length:
        raise RuntimeError(f"stft: expected 0 < n_fft <= {length}, but got n_fft={n_fft}")
    frames = _frames(x, n_fft=n_fft, hop=hop) * _full_window(window, win_length, n_fft, x)
    complex_ = frames.is_complex()
    onesided = not complex_ if onesided is None else onesided
    norm = "ortho" if normalized else "backward"
    if onesided:
        if complex_:
            raise RuntimeError("Cannot have onesided output if window or input is complex")
        spec = r2c("stft", frames, None, [-1], norm)
    else:
        spec = c2c("stft", frames, None, [-1], norm, True)
    spec = spec.transpose(-1, -2)
    if input.dim() == 1:
        spec = spec.squeeze(0)
    return spec if return_complex else view_as_real(spec)


@public
def istft(input, n_fft, hop_length=None, win_length=None, window=None, center=True, normalized=False, onesided=None,
          length=None, return_complex=False):
    """The inverse of ``stft``: overlap-add of the inverse transforms, divided by the summed squared window."""
    if not input.is_complex():
        if input.dim() >= 1 and input.shape[-1] == 2:
            warnings.warn("istft will require a complex-valued input tensor in a future PyTorch release.",
                          stacklevel=2)
            input = view_as_complex(input.contiguous())
        else:
            raise RuntimeError("istft requires a complex-valued input tensor")
    if input.dim() not in (2, 3):
        raise RuntimeError(f"istft: expected a tensor with 2 or 3 dimensions of complex, but got {input.dim()}")
    hop = n_fft // 4 if hop_length is None else hop_length
    win_length = n_fft if win_length is None else win_length
    spec = input if input.dim() == 3 else input.unsqueeze(0)
    n_freq, n_frames = spec.shape[-2], spec.shape[-1]
    onesided = n_freq != n_fft if onesided is None else onesided
    if onesided and n_freq != n_fft // 2 + 1:
        raise RuntimeError(f"istft: expected the frequency dimension (2nd from the end) of the input tensor to be "
                           f"equal to n_fft / 2 + 1 when onesided=True, but got {n_freq}")
    norm = "ortho" if normalized else "backward"
    spec = spec.transpose(-1, -2)
    if onesided and return_complex:
        raise RuntimeError("cannot have onesided output if window or input is complex")
    if return_complex:
        frames = c2c("istft", spec, None, [-1], norm, False)
    else:  # a real signal: only the non-redundant half of a two-sided spectrum is read, as in PyTorch
        frames = c2r("istft", narrow(spec, -1, 0, n_fft // 2 + 1), [n_fft], [-1], norm)
    window = _full_window(window, win_length, n_fft, frames)
    frames = frames * window
    total = n_fft + hop * (n_frames - 1)
    index = _frame_index(n_frames, n_fft, hop, frames.device).reshape(-1)
    batch = frames.shape[0]
    signal = index_add(zeros(batch, total, dtype=frames.dtype, device=frames.device), 1, index,
                       frames.reshape(batch, -1))
    envelope = index_add(zeros(total, dtype=window.dtype, device=window.device), 0, index,
                         (window.abs() ** 2).repeat(n_frames))
    start = n_fft // 2 if center else 0
    end = start + length if length is not None else (total - n_fft // 2 if center else total)
    end = min(end, total)
    signal, envelope = signal[:, start:end], envelope[start:end]
    if envelope.numel() and bool(envelope.abs().min() < 1e-11):  # under vmap: every sample's window alike
        raise RuntimeError(f"istft(...): window overlap add min: {float(envelope.abs().min())}")
    signal = signal / envelope
    if length is not None and signal.shape[-1] < length:
        signal = pad_op(signal, (0, length - signal.shape[-1]))
    return signal if input.dim() == 3 else signal.squeeze(0)

# forward-mode rules (run by ember.ops.dual) --------------------------------------------------

_frames.jvp(linear())
