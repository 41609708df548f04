"""Adaptive pooling (output size given, windows [floor(i*n/o), ceil((i+1)*n/o))), max_unpool, lp_pool.

Adaptive average pooling is a separable weighted sum (taps, see ``resample.py``);
adaptive max pooling gathers each window (short windows repeat their last element)
and keeps the first maximum's flat per-plane index, like ``max_pool``; on host arrays a
compiled kernel (``pool_kernels.py``) scans the windows in place instead.
"""
import math

import numpy as np

from ember.backend import compiled
from ember.ops import pool_kernels
from ember.ops.dispatch import Primitive
from ember.ops.pool import as_tuple, avg_pool1d, avg_pool2d, avg_pool3d, max_with_indices_jvp, scatter
from ember.ops.registry import public
from ember.ops.resample import adaptive_avg_pool, adaptive_windows


def _output_size(op, input, nd, output_size):
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(f"{op}(): Expected {nd + 1}D or {nd + 2}D tensor, but got: {list(input.shape)}")
    for d in range(input.dim() - nd - 1, input.dim()):
        if input.shape[d] == 0:
            raise RuntimeError(f"{op}(): Expected input to have non-zero size for non-batch dimensions, but input "
                               f"has sizes {list(input.shape)} with dimension {d} being empty")
    if isinstance(output_size, (tuple, list)) and len(output_size) != nd:
        raise RuntimeError(f"{op}: output_size must be {nd}")
    out = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * nd
    out = tuple(n if o is None else int(o) for o, n in zip(out, input.shape[-nd:]))
    if min(out) < 0:
        raise RuntimeError(f"{op}: elements of output_size must be greater than or equal to 0 but received "
                           "{" + ", ".join(map(str, out)) + "}")
    return out


@public(method=False)
def adaptive_avg_pool1d(input, output_size):
    """Average pooling to a given length: ``ember.adaptive_avg_pool1d(ember.ones(1, 2, 7), 3).shape == (1, 2, 3)``."""
    out = _output_size("adaptive_avg_pool1d", input, 1, output_size)
    return adaptive_avg_pool(2, input.unsqueeze(-2), (1,) + out).squeeze(-2)


def adaptive_avg_pool2d(input, output_size):
    """Average pooling to a given (H, W): ``F.adaptive_avg_pool2d(x, (1, 1))``; None keeps that dim."""
    return adaptive_avg_pool(2, input, _output_size("adaptive_avg_pool2d", input, 2, output_size))


def adaptive_avg_pool3d(input, output_size):
    """Average pooling to a given (D, H, W): ``F.adaptive_avg_pool3d(x, 2)``."""
    return adaptive_avg_pool(3, input, _output_size("adaptive_avg_pool3d", input, 3, output_size))


# adaptive max --------------------------------------------------------------------------------


def _window_index(n, o):
    """(o, kmax) input positions of each adaptive window, short windows repeating their last one."""
    start, end = adaptive_windows(n, o)
    k = int((end - start).max()) if o else 1
    return np.minimum(start[:, None] + np.arange(k), end[:, None] - 1)


def _adaptive_max_forward(ctx, xp, x, out):
    nd = len(out)
    size = x.shape[-nd:]
    ctx.size = size
    if compiled.usable(x) and x.dtype.kind in "fiu" and x.size and min(out) > 0:
        return pool_kernels.adaptive_max_pool(x, out)
    pos = [_window_index(n, o) for n, o in zip(size, out)]
    index = []  # per dim: (o_i, k_i) positions broadcast over the (o_1..o_nd, k_1..k_nd) grid
    flat = 0
    stride = 1
    for i in range(nd - 1, -1, -1):
        shape = [1] * (2 * nd)
        shape[i], shape[nd + i] = pos[i].shape
        index.insert(0, xp.asarray(pos[i].reshape(shape)))
        flat = flat + index[0] * stride
        stride *= size[i]
    win = x[(..., *index)]
    win = win.reshape(win.shape[:win.ndim - nd] + (math.prod(win.shape[win.ndim - nd:]),))
    arg = xp.argmax(win, axis=-1)[..., None]
    if x.dtype.kind == "f":  # the last NaN is the maximum, as in PyTorch's scan
        nan = xp.isnan(win)
        last_nan = nan.shape[-1] - 1 - xp.argmax(nan[..., ::-1], axis=-1)[..., None]
        arg = xp.where(nan.any(axis=-1, keepdims=True), last_nan, arg)
    values = xp.take_along_axis(win, arg, axis=-1)[..., 0]
    flat = xp.broadcast_to(flat, tuple(out) + flat.shape[nd:]).reshape(tuple(out) + (-1,))
    idx = xp.take_along_axis(xp.broadcast_to(flat, values.shape + flat.shape[-1:]), arg, axis=-1)[..., 0]
    return values, idx


def _adaptive_max_derivative(ctx, g, _):
    (_, idx) = ctx.saved_tensors
    return scatter(f"AdaptiveMaxPool{len(ctx.size)}DBackwardBackward0")(g, idx, size=ctx.size, unique=False)


_adaptive_max2d = Primitive(_adaptive_max_forward, "AdaptiveMaxPool2DBackward0", save_output=True)
_adaptive_max2d.derivative(_adaptive_max_derivative)
_adaptive_max = {2: _adaptive_max2d, 3: _adaptive_max2d.variant("AdaptiveMaxPool3DBackward0")}


def _adaptive_max_pool(op, nd, input, output_size, return_indices):
    out = _output_size(op, input, nd, output_size)
    squeeze = nd == 1
    if squeeze:
        input, out, nd = input.unsqueeze(-2), (1,) + out, 2
    values, idx = _adaptive_max[nd](input, out=out)
    if squeeze:
        values, idx = values.squeeze(-2), idx.squeeze(-2)
    return (values, idx) if return_indices else values


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max pooling to a given length: ``F.adaptive_max_pool1d(ember.ones(1, 2, 7), 3).shape == (1, 2, 3)``."""
    return _adaptive_max_pool("adaptive_max_pool1d", 1, input, output_size, return_indices)


def _values_and_indices(input, output_size):
    """``ember.adaptive_max_pool1d``: (values, indices) always, as ``torch.adaptive_max_pool1d``."""
    return _adaptive_max_pool("adaptive_max_pool1d", 1, input, output_size, True)


_values_and_indices.__name__ = "adaptive_max_pool1d"
public(_values_and_indices, method=False)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max pooling to a given (H, W): ``F.adaptive_max_pool2d(x, 1)``."""
    return _adaptive_max_pool("adaptive_max_pool2d", 2, input, output_size, return_indices)


def adaptive_max_pool3d(input, output_size, return_indices=False):
    """Max pooling to a given (D, H, W): ``F.adaptive_max_pool3d(x, 1)``."""
    return _adaptive_max_pool("adaptive_max_pool3d", 3, input, output_size, return_indices)


# max_unpool ----------------------------------------------------------------------------------


def _max_unpool(nd, input, indices, kernel_size, stride, padding, output_size):
    k = as_tuple(kernel_size, nd)
    s = as_tuple(stride, nd, "stride") if stride is not None else k
    p = as_tuple(padding, nd, "padding")
    ins = tuple(input.shape[-nd:])
    if output_size is None:
        out = tuple((n - 1) * st - 2 * pi + ki for n, st, pi, ki in zip(ins, s, p, k))
    else:
        out = tuple(int(o) for o in output_size)
        out = out[2:] if len(out) == nd + 2 else out
        if len(out) != nd:
            raise ValueError(f"output_size should be a sequence containing {nd} or {nd + 2} elements, but it "
                             f"has a length of '{len(tuple(output_size))}'")
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(f"Expected shape of indices to be same as that of the input tensor "
                           f"({list(input.shape)}) but got indices tensor with shape: {list(indices.shape)}")
    n = math.prod(out)
    if indices.numel() and (int(indices.max()) >= n or int(indices.min()) < 0):
        bad = int(indices.max()) if int(indices.max()) >= n else int(indices.min())
        raise RuntimeError(f"Found an invalid max index: {bad} (output volumes are of size "
                           f"{'x'.join(map(str, out))})")
    if nd == 1:
        out2 = (1,) + out
        unpool = scatter("MaxUnpool2DBackward0")
        return unpool(input.unsqueeze(-2), indices.unsqueeze(-2), size=out2, unique=True).squeeze(-2)
    return scatter(f"MaxUnpool{nd}DBackward0")(input, indices, size=out, unique=True)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Inverse of max_pool1d: values put back at their indices, zeros elsewhere."""
    return _max_unpool(1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Inverse of max_pool2d: ``F.max_unpool2d(*F.max_pool2d(x, 2, return_indices=True), 2)``."""
    return _max_unpool(2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Inverse of max_pool3d: values put back at their indices, zeros elsewhere."""
    return _max_unpool(3, input, indices, kernel_size, stride, padding, output_size)


# power-average pooling ---------------------------------------------------------------------


def _lp_pool(nd, input, norm_type, kernel_size, stride, ceil_mode):
    pool = (avg_pool1d, avg_pool2d, avg_pool3d)[nd - 1]
    out = pool(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    window = math.prod(as_tuple(kernel_size, nd))
    return (out.sign() * out.abs().relu()).mul(window).pow(1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """(sum over each window of x**p) ** (1/p): ``F.lp_pool1d(x, 2, 3)``."""
    return _lp_pool(1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """(sum over each 2-d window of x**p) ** (1/p): ``F.lp_pool2d(x, 2, 3)``."""
    return _lp_pool(2, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """(sum over each 3-d window of x**p) ** (1/p): ``F.lp_pool3d(x, 2, 2)``."""
    return _lp_pool(3, input, norm_type, kernel_size, stride, ceil_mode)

# forward-mode rules (run by ember.ops.dual) --------------------------------------------------

_adaptive_max2d.jvp(max_with_indices_jvp)
