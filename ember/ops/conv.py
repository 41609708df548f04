"""Convolutions: conv1d/2d/3d and conv_transpose1d/2d/3d over one N-d primitive.

The forward is a channels-last im2col and one GEMM (``ember/ops/_im2col.py``), except
for 1x1 convolutions (a GEMM per image in NCHW), depthwise-like ones (numba's direct
loops, ``ember/ops/conv_kernels.py``) and 3x3 stride-1 ones of 8+ input channels (Winograd,
``ember/ops/winograd.py``), which build no columns for the weight gradient to reuse.
The derivative is written with the same primitives (the input gradient is a
transposed convolution, the weight gradient a second primitive whose own
derivative is again a convolution), so double backward works.
"""
from ember.amp.autocast_mode import cast_entry
from ember.autograd import grad_mode
from ember.backend.dtype import torch_name
from ember.ops import _im2col as k
from ember.ops.dispatch import primitive
from ember.ops.dual import product
from ember.ops.linalg import in_dtype_of
from ember.ops.pad import pad as pad_op
from ember.ops.registry import public


@primitive("ConvolutionBackward0", save=(0, 1))
def _conv(ctx, xp, x, w, b, *, stride, padding, dilation, groups, transposed, out_size, keep_cols=False):
    ctx.conv = (stride, padding, dilation, groups, transposed)
    if transposed:
        return k.conv_transpose_forward(xp, x, w, b, stride, padding, dilation, groups, out_size)
    out, cols = k.conv_forward(xp, x, w, b, stride, padding, dilation, groups)
    if keep_cols and cols is not None:  # None: a special case that built no columns
        ctx.cols = cols  # the weight gradient reuses the im2col of the forward
    return in_dtype_of(out, x)


@_conv.derivative
def _(ctx, g):
    x, w = ctx.saved_tensors
    stride, padding, dilation, groups, transposed = ctx.conv
    cols = ctx.__dict__.pop("cols", None)
    need = ctx.needs_input_grad
    gx = gw = gb = None
    if need[0]:
        gx = _conv(g, w, None, stride=stride, padding=padding, dilation=dilation, groups=groups,
                   transposed=not transposed, out_size=tuple(x.shape[2:]))
    if need[1]:
        inp, out = (g, x) if transposed else (x, g)
        gw = _conv_weight(inp, out, kernel=tuple(w.shape[2:]), stride=stride, padding=padding,
                          dilation=dilation, groups=groups, cols=cols)
    if len(need) > 2 and need[2]:
        gb = g.sum((0, *range(2, g.dim())))
    return gx, gw, gb


@primitive("ConvolutionBackwardBackward0", save=(0, 1))
def _conv_weight(ctx, xp, x, g, *, kernel, stride, padding, dilation, groups, cols=None):
    ctx.conv = (kernel, stride, padding, dilation, groups)
    return k.conv_weight_grad(xp, x, g, kernel, stride, padding, dilation, groups, cols)


@_conv_weight.derivative
def _(ctx, h):
    x, g = ctx.saved_tensors
    kernel, stride, padding, dilation, groups = ctx.conv
    need = ctx.needs_input_grad
    params = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    gx = _conv(g, h, None, transposed=True, out_size=tuple(x.shape[2:]), **params) if need[0] else None
    gg = _conv(x, h, None, transposed=False, out_size=None, **params) if need[1] else None
    return gx, gg


def _tuple(value, n, name):
    if isinstance(value, int):
        return (value,) * n
    value = tuple(value)
    if len(value) == 1:
        return value * n
    if len(value) != n:
        raise RuntimeError(f"expected {name} to be a single integer value or a list of {n} values to "
                           f"match the convolution dimensions, but got {name}={list(value)}")
    return value


def _size(shape):
    return "[" + ", ".join(map(str, shape)) + "]"


def _check(input, weight, bias, nd, name, groups, transposed):
    """Validate ranks, channels, groups, bias and dtypes as torch does."""
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {name}, "
                           f"but got input of size: {_size(input.shape)}")
    if weight.dim() != nd + 2:
        raise RuntimeError(f"weight should have {nd + 2} dimensions for {name}, but got weight of size "
                           f"{_size(weight.shape)}")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if weight.shape[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
                           f"but got weight of size [{_size(weight.shape)}] instead")
    cin = weight.shape[0] if transposed else weight.shape[1] * groups
    channels = input.shape[input.dim() - nd - 1]
    if channels != cin:
        kind = "transposed=1" if transposed else f"groups={groups}"
        raise RuntimeError(f"Given {kind}, weight of size {_size(weight.shape)}, expected input"
                           f"{_size(input.shape)} to have {cin} channels, but got {channels} channels instead")
    if input.dtype != weight.dtype or (bias is not None and bias.dtype != input.dtype):
        other = weight.dtype if input.dtype != weight.dtype else bias.dtype
        raise RuntimeError(f"expected scalar type {torch_name(input.dtype)} but found {torch_name(other)}")
    cout = weight.shape[1] * groups if transposed else weight.shape[0]
    if bias is not None and (bias.dim() != 1 or bias.shape[0] != cout):
        raise RuntimeError(f"Given weight of size {_size(weight.shape)}, expected bias to be 1-dimensional with "
                           f"{cout} elements, but got bias of size {_size(bias.shape)} instead")


def _positive(stride, dilation, padding):
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError("dilation should be greater than zero")
    if any(p < 0 for p in padding):
        raise RuntimeError("negative padding is not supported")


def same_padding(kernel, dilation):
    """padding='same' as (low, high) per spatial dim: the window's reach ``d * (k - 1)``, its odd element high."""
    return [(d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(kernel, dilation)]


def _same_padding(input, kernel, stride, dilation):
    """Symmetric padding for padding='same', after padding ``input`` on the high side for odd totals."""
    if any(s != 1 for s in stride):
        raise RuntimeError("padding='same' is not supported for strided convolutions")
    pairs = same_padding(kernel, dilation)
    if any(lo != hi for lo, hi in pairs):
        pad = []
        for lo, hi in reversed(pairs):
            pad += [0, hi - lo]
        input = pad_op(input, pad)
    return input, tuple(lo for lo, _ in pairs)


def _checked(input, weight, bias, nd, name, groups, transposed):
    """``_check``, then the input with its batch dim, whether it had one, and the kernel size."""
    _check(input, weight, bias, nd, name, groups, transposed)
    batched = input.dim() == nd + 2
    return (input if batched else input.unsqueeze(0)), batched, tuple(weight.shape[2:])


def _convnd(nd, name, input, weight, bias, stride, padding, dilation, groups):
    input, batched, kernel = _checked(input, weight, bias, nd, name, groups, transposed=False)
    stride = _tuple(stride, nd, "stride")
    dilation = _tuple(dilation, nd, "dilation")
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0,) * nd
        elif padding == "same":
            input, padding = _same_padding(input, kernel, stride, dilation)
        else:
            raise RuntimeError(f"Invalid padding string: '{padding}'")
    padding = _tuple(padding, nd, "padding")
    _positive(stride, dilation, padding)
    padded = [s + 2 * p for s, p in zip(input.shape[2:], padding)]
    span = [d * (kk - 1) + 1 for d, kk in zip(dilation, kernel)]
    if any(p < s for p, s in zip(padded, span)):
        raise RuntimeError(f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). Kernel size: "
                           f"({' x '.join(map(str, span))}). Kernel size can't be greater than actual input size")
    keep = grad_mode.state.enabled and weight.requires_grad
    out = _conv(input, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups,
                transposed=False, out_size=None, keep_cols=keep)
    return out if batched else out.squeeze(0)


def _conv_transposend(nd, name, input, weight, bias, stride, padding, output_padding, groups, dilation):
    input, batched, kernel = _checked(input, weight, bias, nd, name, groups, transposed=True)
    stride = _tuple(stride, nd, "stride")
    padding = _tuple(padding, nd, "padding")
    dilation = _tuple(dilation, nd, "dilation")
    output_padding = _tuple(output_padding, nd, "output_padding")
    _positive(stride, dilation, padding)
    if any(op >= max(s, d) for op, s, d in zip(output_padding, stride, dilation)):
        dims = ("depth", "height", "width")[3 - nd:]
        parts = [f"output_padding_{n}: {v}" for n, v in zip(dims, output_padding)]
        parts += [f"stride_{n}: {v}" for n, v in zip(dims, stride)]
        parts += [f"dilation_{n}: {v}" for n, v in zip(dims, dilation)]
        raise RuntimeError("output padding must be smaller than either stride or dilation, but got " + " ".join(parts))
    out_size = k.transposed_out_sizes(input.shape[2:], kernel, stride, padding, dilation)
    out_size = tuple(o + op for o, op in zip(out_size, output_padding))
    if any(o <= 0 for o in out_size):
        raise RuntimeError(f"Given input size per channel: ({' x '.join(map(str, input.shape[2:]))}). "
                           f"Calculated output size per channel: ({' x '.join(map(str, out_size))}). "
                           "Output size is too small")
    out = _conv(input, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups,
                transposed=True, out_size=out_size)
    return out if batched else out.squeeze(0)


@public(method=False)
@cast_entry("conv1d")
def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-d convolution over (N, C, L): ``ember.conv1d(ember.ones(1, 2, 5), ember.ones(3, 2, 3)).shape == (1, 3, 3)``."""
    return _convnd(1, "conv1d", input, weight, bias, stride, padding, dilation, groups)


@public(method=False)
@cast_entry("conv2d")
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-d convolution over (N, C, H, W): ``ember.conv2d(ember.ones(1, 1, 4, 4), ember.ones(2, 1, 3, 3)).shape``
    is (1, 2, 2, 2); padding may be an int, a tuple, 'same' or 'valid'."""
    return _convnd(2, "conv2d", input, weight, bias, stride, padding, dilation, groups)


@public(method=False)
@cast_entry("conv3d")
def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-d convolution over (N, C, D, H, W): ``ember.conv3d(ember.ones(1, 1, 3, 3, 3), ember.ones(1, 1, 3, 3, 3))``."""
    return _convnd(3, "conv3d", input, weight, bias, stride, padding, dilation, groups)


@public(method=False)
@cast_entry("conv_transpose1d")
def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Transposed 1-d convolution, weight (Cin, Cout/groups, K):
    ``ember.conv_transpose1d(ember.ones(1, 2, 3), ember.ones(2, 1, 3)).shape == (1, 1, 5)``."""
    return _conv_transposend(1, "conv_transpose1d", input, weight, bias, stride, padding, output_padding,
                             groups, dilation)


@public(method=False)
@cast_entry("conv_transpose2d")
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Transposed 2-d convolution: ``ember.conv_transpose2d(ember.ones(1, 2, 3, 3), ember.ones(2, 1, 2, 2),
    stride=2).shape == (1, 1, 6, 6)``."""
    return _conv_transposend(2, "conv_transpose2d", input, weight, bias, stride, padding, output_padding,
                             groups, dilation)


@public(method=False)
@cast_entry("conv_transpose3d")
def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Transposed 3-d convolution: ``ember.conv_transpose3d(ember.ones(1, 1, 2, 2, 2), ember.ones(1, 1, 2, 2, 2))``."""
    return _conv_transposend(3, "conv_transpose3d", input, weight, bias, stride, padding, output_padding,
                             groups, dilation)

# forward-mode rules (run by ember.ops.dual) --------------------------------------------------

@_conv.jvp
def _(j):
    x, w, b = j.inputs
    params = dict(j.params, keep_cols=False)
    total = None
    if j.tangents[0] is not None:
        total = _conv(j.tangents[0], w, None, **params)
    if j.tangents[1] is not None:
        term = _conv(x, j.tangents[1], None, **params)
        total = term if total is None else total + term
    tb = j.tangents[2]
    if tb is not None:
        tb = tb.reshape((-1,) + (1,) * (j.out.dim() - 2))
        total = tb if total is None else total + tb
    return total


_conv_weight.jvp(product(0, 1))
