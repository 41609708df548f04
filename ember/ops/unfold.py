"""``unfold`` (im2col) and ``fold`` (col2im): sliding local blocks of a batch of images as columns, and back.

Each is the other's derivative. ``unfold`` reuses the convolution's channels-last im2col; ``fold``
adds each kernel offset's columns into its strided window of a padded buffer.
"""
import math

from ember.ops import _im2col as k
from ember.ops.dispatch import primitive
from ember.ops.dual import linear


def _pair(value, name):
    value = (value, value) if isinstance(value, int) else tuple(value)
    if len(value) != 2:
        raise RuntimeError(f"{name} must be an int or a pair of ints, got {value}")
    return value


def _spec(kernel_size, dilation, padding, stride):
    return (_pair(kernel_size, "kernel_size"), _pair(dilation, "dilation"), _pair(padding, "padding"),
            _pair(stride, "stride"))


@primitive("Im2ColBackward0")
def _unfold(ctx, xp, x, kernel, dilation, padding, stride):
    n, c = x.shape[:2]
    ctx.size, ctx.spec = x.shape[2:], (kernel, dilation, padding, stride)
    cols, osz = k.im2col(xp, x, kernel, stride, padding, dilation)  # (N * L, K, C)
    blocks, offsets = math.prod(osz), math.prod(kernel)
    return xp.ascontiguousarray(cols.reshape(n, blocks, offsets, c).transpose(0, 3, 2, 1)).reshape(
        n, c * offsets, blocks)


@_unfold.derivative
def _(ctx, g):
    return fold(g, ctx.size, *ctx.spec)


@primitive("Col2ImBackward0")
def _fold(ctx, xp, cols, output_size, kernel, dilation, padding, stride):
    ctx.spec = (kernel, dilation, padding, stride)
    n, ck, _ = cols.shape
    channels = ck // math.prod(kernel)
    osz = k.out_sizes(output_size, kernel, stride, padding, dilation)
    padded = xp.zeros((n, channels, *(s + 2 * p for s, p in zip(output_size, padding))), dtype=cols.dtype)
    blocks = cols.reshape(n, channels, math.prod(kernel), *osz)
    for i, window in enumerate(k._windows(kernel, stride, dilation, osz)):
        padded[(slice(None), slice(None), *window)] += blocks[:, :, i]
    return padded[(Ellipsis, *(slice(p, p + s) for p, s in zip(padding, output_size)))].copy()


@_fold.derivative
def _(ctx, g):
    return unfold(g, *ctx.spec)


def _batched(input, dims, what):
    if input.dim() not in (dims, dims + 1) or 0 in input.shape[1:]:
        raise RuntimeError(f"Expected {dims}D or {dims + 1}D (batch mode) tensor with possibly 0 batch size and other "
                           f"non-zero dimensions for {what}, but got: {list(input.shape)}")
    return input if input.dim() == dims + 1 else input.unsqueeze(0)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding ``kernel_size`` blocks of ``(N, C, H, W)`` as columns ``(N, C * kh * kw, L)``:
    ``F.unfold(ember.ones(1, 2, 4, 4), 2).shape == (1, 8, 9)``."""
    kernel, dilation, padding, stride = _spec(kernel_size, dilation, padding, stride)
    x = _batched(input, 3, "input")
    osz = k.out_sizes(x.shape[2:], kernel, stride, padding, dilation)
    if min(osz) < 1:
        raise RuntimeError(f"Given input with spatial size {tuple(x.shape[2:])}, kernel_size={kernel}, "
                           f"dilation={dilation}, padding={padding}, calculated shape of the array of sliding "
                           f"blocks as {tuple(max(o, 0) for o in osz)}, but its components must be at least one.")
    out = _unfold(x, kernel=kernel, dilation=dilation, padding=padding, stride=stride)
    return out if input.dim() == 4 else out.squeeze(0)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Sum columns ``(N, C * kh * kw, L)`` back into ``(N, C, *output_size)`` (overlaps add up):
    ``F.fold(F.unfold(x, 2), (4, 4), 2)`` counts how many blocks cover each pixel of ``x``."""
    output_size = _pair(output_size, "output_size")
    kernel, dilation, padding, stride = _spec(kernel_size, dilation, padding, stride)
    cols = _batched(input, 2, "input")
    if cols.shape[1] % math.prod(kernel):
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the product of kernel_size, but "
                           f"got input.size(1)={cols.shape[1]} and kernel_size={kernel}.")
    osz = k.out_sizes(output_size, kernel, stride, padding, dilation)
    if math.prod(osz) != cols.shape[2] or min(osz) < 1:
        raise RuntimeError(f"Given output_size={output_size}, kernel_size={kernel}, dilation={dilation}, "
                           f"padding={padding}, stride={stride}, expected size of input's dimension 2 to match the "
                           f"calculated number of sliding blocks {osz[0]} * {osz[1]} = {math.prod(osz)}, but got "
                           f"input.size(2)={cols.shape[2]}.")
    out = _fold(cols, output_size=output_size, kernel=kernel, dilation=dilation, padding=padding, stride=stride)
    return out if input.dim() == 3 else out.squeeze(0)

# forward-mode rules (run by ember.ops.dual) --------------------------------------------------

_unfold.jvp(linear())
_fold.jvp(linear())
