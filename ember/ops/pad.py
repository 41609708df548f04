"""Padding: ``F.pad`` in constant, reflect, replicate and circular modes.

Constant padding is one primitive whose derivative is the same primitive with
the pads negated (a crop). The other modes gather along each padded dim with
``index_select``, so their gradients (and double backward) come for free.
"""
import numpy as np

from ember.creation import tensor
from ember.ops.dispatch import primitive
from ember.ops.scatter import index_select
from ember.ops.registry import public


@primitive("ConstantPadNdBackward0")
def _constant_pad(ctx, xp, x, *, pads, value):
    ctx.pads = pads
    lead = x.ndim - len(pads)
    shape = x.shape[:lead] + tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[lead:], pads))
    out = xp.full(shape, value, dtype=x.dtype) if value else xp.zeros(shape, dtype=x.dtype)
    src = tuple(slice(max(-lo, 0), max(n - max(-hi, 0), max(-lo, 0))) for n, (lo, hi) in zip(x.shape[lead:], pads))
    dst = tuple(slice(max(lo, 0), max(lo, 0) + max(s.stop - s.start, 0)) for s, (lo, _) in zip(src, pads))
    out[(Ellipsis, *dst)] = x[(Ellipsis, *src)]
    return out


@_constant_pad.derivative
def _(ctx, g):
    return _constant_pad(g, pads=tuple((-lo, -hi) for lo, hi in ctx.pads), value=0)


def _pairs(pad, ndim):
    """torch's flat (last_lo, last_hi, prev_lo, ...) as ((lo, hi) per dim), first padded dim first."""
    pad = [int(p) for p in pad]
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) > 2 * ndim:
        raise RuntimeError("Padding length should be less than or equal to two times the input dimension but "
                           f"got padding length {len(pad)} and input of dimension {ndim}")
    return tuple((pad[i], pad[i + 1]) for i in range(len(pad) - 2, -1, -2))


def _indices(mode, n, lo, hi, dim, shape):
    """The source position of each output position along one dim."""
    j = np.arange(-lo, n + hi)
    if mode == "replicate":
        return np.clip(j, 0, n - 1)
    if mode == "circular":
        if lo > n or hi > n:
            raise RuntimeError("Padding value causes wrapping around more than once.")
        return j % n
    if lo >= n or hi >= n:
        raise RuntimeError(f"Argument #4: Padding size should be less than the corresponding input dimension, but "
                           f"got: padding ({lo}, {hi}) at dimension {dim} of input {list(shape)}")
    period = 2 * (n - 1) if n > 1 else 1
    j = np.abs(j) % period
    return np.where(j >= n, period - j, j)


@public(method=False)
def constant_pad_nd(input, pad, value=0):
    """Pads the last len(pad)//2 dims with ``value``; negative pads crop:
    ``ember.constant_pad_nd(ember.ones(2), (1, 1)).tolist() == [0.0, 1.0, 1.0, 0.0]``."""
    pairs = _pairs(pad, input.dim())
    sizes = input.shape[input.dim() - len(pairs):]
    for n, (lo, hi) in zip(sizes, pairs):
        if n + lo + hi < 0:
            raise RuntimeError(f"The input size {n}, plus negative padding {lo} and {hi} resulted in a negative "
                               f"output size, which is invalid. Check dimension of your input.")
    return _constant_pad(input, pads=pairs, value=value)


def pad(input, pad, mode="constant", value=None):
    """torch.nn.functional.pad: ``F.pad(x, (1, 1, 2, 0), mode="reflect")`` pads W by 1|1 and H by 2|0."""
    if mode == "constant":
        return constant_pad_nd(input, pad, 0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    pairs = _pairs(pad, input.dim())
    k = len(pairs)
    if k > 3 or input.dim() not in (k + 1, k + 2):
        raise NotImplementedError(
            f"Padding size {2 * k} is not supported for {input.dim()}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
    out = input
    for i, (lo, hi) in enumerate(pairs):
        dim = input.dim() - k + i
        n = input.shape[dim]
        if n == 0 and mode != "circular":
            raise RuntimeError(f"Expected {k + 1}D or {k + 2}D (batch mode) tensor with possibly 0 batch size and "
                               f"other non-zero dimensions for input, but got: {list(input.shape)}")
        idx = _indices(mode, n, lo, hi, dim, input.shape)
        out = index_select(out, dim, tensor(idx, device=input.device))
    return out

# forward-mode rules (run by ember.ops.dual) --------------------------------------------------

_constant_pad.jvp(lambda j: _constant_pad(j.tangents[0], pads=j.params["pads"], value=0))
