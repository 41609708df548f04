"""Fused normalisation: batch, layer and group norm as one primitive each.

All three normalise ``x`` viewed in a "group shape" over some axes, then apply a
per-channel (or per-element) affine. The forward returns ``(out, mean, rstd)``
like PyTorch's native kernels; the derivative is the closed form in ember ops, and
also handles gradients reaching ``mean``/``rstd`` so double backward is exact.
"""
import math

import numpy as np

from ember.autograd.grad_mode import is_grad_enabled, no_grad
from ember.backend import compiled, cupy_kernels
from ember.backend.cupy_kernels import fusable
from ember.backend.dtype import torch_name
from ember.ops.dispatch import primitive
from ember.ops.registry import public


@primitive("NativeBatchNormBackward0", save=(0, 1), save_output=(1, 2))
def _native_norm(ctx, xp, x, w, b, rm, rv, group_shape, axes, param_shape, eps, training):
    ctx.group_shape, ctx.axes, ctx.param_shape, ctx.training = group_shape, axes, param_shape, training
    ctx.b_shape = b.shape if b is not None else None
    if training and fusable(xp, x) and (fused := cupy_kernels.norm_forward(
            xp, x, w, b, group_shape, axes, param_shape, eps)) is not None:
        return fused
    if training and _row_kernel_fits(x, (w, b), group_shape, axes, param_shape):
        from ember.ops import norm_kernels  # optional dependency: numba, imported on first use
        out, mean, rstd = norm_kernels.layer_norm_forward(x.reshape(-1, group_shape[-1]), w, b, eps)
        stat_shape = group_shape[:-1] + (1,)
        return out.reshape(x.shape), mean.reshape(stat_shape), rstd.reshape(stat_shape)
    xg = x.reshape(group_shape)
    if training:
        mean = xg.mean(axis=axes, keepdims=True)
        centred = xg - mean
        var = (centred * centred).mean(axis=axes, keepdims=True)
    else:
        stat_shape = tuple(1 if i in axes else s for i, s in enumerate(group_shape))
        mean = rm.reshape(stat_shape).astype(x.dtype)
        centred = xg - mean
        var = rv.reshape(stat_shape).astype(x.dtype)
    rstd = (1.0 / xp.sqrt(var + eps)).astype(x.dtype)
    centred *= rstd  # a fresh array: scaled and shifted in place
    out = centred.reshape(x.shape)
    for param, apply in ((w, xp.multiply), (b, xp.add)):
        if param is not None:
            param = param.reshape(param_shape)
            out = apply(out, param, out=out) if param.dtype == out.dtype else apply(out, param)
    return out, mean, rstd


def _row_kernel_fits(x, params, group_shape, axes, param_shape):
    """Whether the compiled row kernels (``norm_kernels``) compute this norm: host arrays of one dtype,
    statistics over the last group axis, and weight/bias that vary along it alone (layer norm, and group
    norm with one group of 1-element channels)."""
    n = group_shape[-1]
    if axes != (len(group_shape) - 1,) or x.size == 0 or n == 0:
        return False
    present = [p for p in params if p is not None]
    if not compiled.usable(x, *present) or any(p.dtype != x.dtype for p in present):
        return False
    if not present:
        return True
    shape = tuple(x.shape)
    return len(param_shape) == len(shape) and any(
        math.prod(shape[k:]) == n and tuple(param_shape[k:]) == shape[k:] and all(s == 1 for s in param_shape[:k])
        for k in range(len(shape) + 1))


def _sum_over(t, dims):
    return t.sum(dims) if dims else t


@primitive("NativeBatchNormBackward0")
def _norm_grad(ctx, xp, g, x, w, mean, rstd, group_shape, axes, param_shape, b_shape, training, need):
    """First-order ``(d x, d w, d b)`` on arrays, unneeded ones as 0-d zeros: the training-step path.

    About ten passes over the activation and no graph bookkeeping, where the composed closed form
    below (kept for double backward) runs about twenty ember ops: a layer norm backward on
    (16, 128, 256) went from 1.55 to 1.35 ms."""
    need_x, need_w, need_b = need
    zero = xp.zeros((), dtype=x.dtype)
    if training and g.dtype == x.dtype and _row_kernel_fits(x, (w,), group_shape, axes, param_shape):
        from ember.ops import norm_kernels  # optional dependency: numba, imported on first use
        n = group_shape[-1]
        gx, gw, gb = norm_kernels.layer_norm_backward(g.reshape(-1, n), x.reshape(-1, n), w, mean, rstd)
        return (gx.reshape(x.shape) if need_x else zero, gw.reshape(w.shape) if need_w else zero,
                gb.reshape(b_shape) if need_b else zero)
    red = tuple(i for i, s in enumerate(param_shape) if s == 1)
    xhat = x.reshape(group_shape) - mean
    xhat *= rstd
    g_xhat = g.reshape(group_shape) * xhat
    gw = g_xhat.reshape(x.shape).sum(red).reshape(w.shape) if need_w else zero
    gb = g.sum(red).reshape(b_shape) if need_b else zero
    if not need_x:
        return zero, gw, gb
    gy = (g if w is None else g * w.reshape(param_shape)).reshape(group_shape)
    if not training:
        return (gy * rstd).reshape(x.shape), gw, gb
    xhat *= (g_xhat if w is None else gy * xhat).mean(axes, keepdims=True)  # mean of gy * xhat
    gx = gy - xhat
    gx -= gy.mean(axes, keepdims=True)
    gx *= rstd
    return gx.reshape(x.shape), gw, gb


@_native_norm.derivative
def _(ctx, g, g_mean, g_rstd):
    x, w, mean, rstd = ctx.saved_tensors
    need_x, need_w, need_b = ctx.needs_input_grad[:3]
    if g is not None and g_mean is None and g_rstd is None and not is_grad_enabled():
        grads = _norm_grad(g, x, w, mean, rstd, group_shape=ctx.group_shape, axes=ctx.axes,
                           param_shape=ctx.param_shape, b_shape=ctx.b_shape, training=ctx.training,
                           need=(need_x, need_w, need_b))
        return tuple(t if n else None for t, n in zip(grads, (need_x, need_w, need_b))) + (None, None)
    axes, shape = ctx.axes, x.shape
    xhat = (x.reshape(ctx.group_shape) - mean) * rstd
    red = tuple(i for i, s in enumerate(ctx.param_shape) if s == 1)
    gw = gb = gx = None
    if g is not None and need_w:
        gw = _sum_over(g * xhat.reshape(shape), red).reshape(w.shape)
    if g is not None and need_b:
        gb = _sum_over(g, red).reshape(ctx.b_shape)
    if need_x:
        n = math.prod(ctx.group_shape[a] for a in axes)
        terms = []
        if g is not None:
            gy = (g if w is None else g * w.reshape(ctx.param_shape)).reshape(ctx.group_shape)
            if ctx.training:
                gy = gy - gy.mean(axes, keepdim=True) - xhat * (gy * xhat).mean(axes, keepdim=True)
            terms.append(gy * rstd)
        if ctx.training and g_mean is not None:
            terms.append((g_mean / n).expand(ctx.group_shape))
        if ctx.training and g_rstd is not None:
            terms.append(g_rstd * rstd * rstd * xhat * (-1.0 / n))
        if terms:
            gx = terms[0]
            for t in terms[1:]:
                gx = gx + t
            gx = gx.reshape(shape)
    return gx, gw, gb, None, None


_layer_norm_prim = _native_norm.variant("NativeLayerNormBackward0")
_group_norm_prim = _native_norm.variant("NativeGroupNormBackward0")


def _shape_str(shape):
    return "[" + ", ".join(str(s) for s in shape) + "]"


def _normalized_shape(input, normalized_shape):
    """``normalized_shape`` as a tuple, with torch's error unless it matches the input's trailing dims."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0:
        raise RuntimeError("Expected normalized_shape to be at least 1-dimensional, i.e., containing at least one "
                           "element, but got normalized_shape = []")
    if input.dim() < k or tuple(input.shape[input.dim() - k:]) != shape:
        raise RuntimeError(f"Given normalized_shape={_shape_str(shape)}, expected input with shape "
                           f"[*, {', '.join(str(s) for s in shape)}], but got input of size{_shape_str(input.shape)}")
    return shape


def native_layer_norm(input, normalized_shape, weight, bias, eps):
    """(out, mean, rstd) of layer norm over the trailing ``normalized_shape`` dims."""
    normalized_shape = _normalized_shape(input, normalized_shape)
    k = len(normalized_shape)
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and tuple(p.shape) != normalized_shape:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but got {name} of shape "
                               f"{_shape_str(p.shape)} and normalized_shape = {_shape_str(normalized_shape)}")
    lead = tuple(input.shape[:input.dim() - k])
    group_shape = lead + (math.prod(normalized_shape),)
    return _layer_norm_prim(input, weight, bias, None, None, group_shape=group_shape, axes=(len(lead),),
                            param_shape=(1,) * len(lead) + normalized_shape, eps=eps, training=True)


@public(method=False)
def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5, cudnn_enable=True):
    """Normalise over the trailing dims, then scale and shift:
    ``ember.layer_norm(ember.randn(2, 3), [3]).mean(-1)`` is about 0."""
    return native_layer_norm(input, normalized_shape, weight, bias, eps)[0]


def _channel_param_error(name, p, input):
    return RuntimeError(f"Expected {name} to be a vector of size equal to the number of channels in input, but got "
                        f"{name} of shape {_shape_str(p.shape)} and input of shape {_shape_str(input.shape)}")


@public(method=False)
def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5, cudnn_enabled=True):
    """Normalise each of ``num_groups`` channel groups per sample: ``ember.group_norm(ember.randn(2, 4, 3), 2)``."""
    if input.dim() < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received {input.dim()}")
    n, c = input.shape[0], input.shape[1]
    if c % num_groups:
        raise RuntimeError("Expected number of channels in input to be divisible by num_groups, but got input of "
                           f"shape {_shape_str(input.shape)} and num_groups={num_groups}")
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and (p.dim() != 1 or p.shape[0] != c):
            raise _channel_param_error(name, p, input)
    param_shape = (1, c) + (1,) * (input.dim() - 2)
    group_shape = (n, num_groups, math.prod(input.shape[1:]) // num_groups)
    return _group_norm_prim(input, weight, bias, None, None, group_shape=group_shape, axes=(2,),
                            param_shape=param_shape, eps=eps, training=True)[0]


def native_batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps):
    """(out, mean, rstd) of batch norm; in training, updates the running stats in place (unbiased var)."""
    if input.dim() < 2:
        raise RuntimeError(f"batch_norm expected at least 2D input (got {input.dim()}D input)")
    c = input.shape[1]
    for name, p in (("weight", weight), ("bias", bias), ("running_mean", running_mean), ("running_var", running_var)):
        if p is not None and p.numel() != c:
            raise RuntimeError(f"{name} should contain {c} elements not {p.numel()}")
    if not training and (running_mean is None or running_var is None):
        raise RuntimeError("running_mean and running_var must be defined in evaluation mode")
    param_shape = (1, c) + (1,) * (input.dim() - 2)
    axes = (0,) + tuple(range(2, input.dim()))
    out = _native_norm(input, weight, bias, running_mean, running_var, group_shape=tuple(input.shape),
                       axes=axes, param_shape=param_shape, eps=eps, training=training)
    if training and (running_mean is not None or running_var is not None):
        _update_running(out, input, running_mean, running_var, momentum, eps)
    return out


def _update_running(out, input, running_mean, running_var, momentum, eps):
    n = input.numel() // input.shape[1]
    with no_grad():
        mean, rstd = out[1].reshape(-1), out[2].reshape(-1)
        if running_mean is not None:
            running_mean.mul_(1.0 - momentum).add_(mean.to(running_mean.dtype) * momentum)
        if running_var is not None:
            var = (1.0 / (rstd * rstd) - eps) * (n / max(n - 1, 1))
            running_var.mul_(1.0 - momentum).add_(var.to(running_var.dtype) * momentum)


@public(method=False)
def batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps, cudnn_enabled=True):
    """Batch norm with torch's positional order (``F.batch_norm`` orders the stats first)."""
    return native_batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps)[0]


def native_instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum, eps):
    """Instance norm as batch norm of the (1, N*C, ...) view; running stats get the mean over the batch."""
    if not use_input_stats:
        return native_batch_norm(input, weight, bias, running_mean, running_var, False, momentum, eps)[0]
    n, c = input.shape[0], input.shape[1]
    folded = input.reshape((1, n * c) + tuple(input.shape[2:]))
    w, b, rm, rv = (t.repeat(n) if t is not None else None for t in (weight, bias, running_mean, running_var))
    out = native_batch_norm(folded, w, b, rm, rv, True, momentum, eps)[0]
    with no_grad():
        if running_mean is not None:
            running_mean[...] = rm.reshape(n, c).mean(0)
        if running_var is not None:
            running_var[...] = rv.reshape(n, c).mean(0)
    return out.reshape(input.shape)


@public(method=False)
def instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum, eps, cudnn_enabled=True):
    """Instance norm with torch's positional order: ``ember.instance_norm(x, None, None, None, None, True, 0.1,
    1e-5, False)``."""
    return native_instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum, eps)


# RMS norm: layer norm without the centring, over the trailing ``trailing`` dims ------------------

@primitive("FusedRmsNormBackward0", save=(0, 1), save_output=(1,))
def _rms_norm(ctx, xp, x, w, trailing, eps):
    """``(out, rstd)``, rstd keeping the normalised dims as 1s. As torch's: float16/bfloat16 are
    normalised in float32, and the result (weight applied) takes the input's dtype."""
    ctx.trailing = trailing
    n = math.prod(x.shape[x.ndim - trailing:])
    stat_shape = x.shape[:x.ndim - trailing] + (1,) * trailing
    if x.size and (w is None or w.dtype == x.dtype) and compiled.usable(x, *([] if w is None else [w])):
        from ember.ops import norm_kernels  # optional dependency: numba, imported on first use
        out, rstd = norm_kernels.rms_norm_forward(x.reshape(-1, n), w, eps)
        return out.reshape(x.shape), rstd.reshape(stat_shape)
    axes = tuple(range(x.ndim - trailing, x.ndim))
    xc = x if x.dtype.itemsize > 2 else x.astype(xp.float32)
    rstd = (1.0 / xp.sqrt((xc * xc).mean(axis=axes, keepdims=True) + eps)).astype(xc.dtype)
    out = xc * rstd
    if w is not None:
        out = xp.multiply(out, w, out=out) if w.dtype == out.dtype else out * w
    return out if out.dtype == x.dtype else out.astype(x.dtype), rstd


@primitive("FusedRmsNormBackward0")
def _rms_norm_grad(ctx, xp, g, x, w, rstd, trailing, need_w):
    """First-order ``(d x, d w)`` on arrays (``d w`` a 0-d zero unless ``need_w``): the training-step path,
    one kernel pass or a few NumPy ones, where the composed form below (kept for double backward) runs
    about ten ember ops."""
    n = math.prod(x.shape[x.ndim - trailing:])
    if x.size and g.dtype == x.dtype == rstd.dtype and (w is None or w.dtype == x.dtype) and compiled.usable(
            g, x, *([] if w is None else [w])):
        from ember.ops import norm_kernels  # optional dependency: numba, imported on first use
        gx, gw = norm_kernels.rms_norm_backward(g.reshape(-1, n), x.reshape(-1, n), w, rstd)
        return gx.reshape(x.shape), gw.reshape(w.shape) if need_w else xp.zeros((), x.dtype)
    axes, lead = tuple(range(x.ndim - trailing, x.ndim)), tuple(range(x.ndim - trailing))
    xhat = x * rstd
    gw = (g * xhat).sum(lead) if need_w else xp.zeros((), x.dtype)
    gy = g if w is None else g * w
    xhat *= (gy * xhat).mean(axis=axes, keepdims=True)
    gx = gy - xhat
    gx *= rstd
    return gx, gw


@_rms_norm.derivative
def _(ctx, g, g_rstd):
    x, w, rstd = ctx.saved_tensors
    need_x, need_w = ctx.needs_input_grad[:2]
    trailing = ctx.trailing
    if g is not None and g_rstd is None and not is_grad_enabled():
        gx, gw = _rms_norm_grad(g, x, w, rstd, trailing=trailing, need_w=need_w)
        return gx if need_x else None, gw if need_w else None
    axes = tuple(range(x.dim() - trailing, x.dim()))
    xhat = x * rstd
    gx = gw = None
    if g is not None and need_w:
        gw = _sum_over(g * xhat, tuple(range(x.dim() - trailing)))
    if need_x and g is not None:
        gy = g if w is None else g * w
        gx = (gy - xhat * (gy * xhat).mean(axes, keepdim=True)) * rstd
    if need_x and g_rstd is not None:  # d rstd / d x = -rstd^2 xhat / n
        term = g_rstd * rstd * rstd * xhat * (-1.0 / math.prod(x.shape[x.dim() - trailing:]))
        gx = term if gx is None else gx + term
    return gx, gw


@public(method=False)
def rms_norm(input, normalized_shape, weight=None, eps=None):
    """x / sqrt(mean(x^2) + eps) over the trailing dims, times weight: ``ember.rms_norm(ember.ones(2, 3), [3])``.
    ``eps=None`` is the machine epsilon of the dtype the norm is computed in (float32 for float16/bfloat16)."""
    normalized_shape = _normalized_shape(input, normalized_shape)
    if weight is not None and tuple(weight.shape) != normalized_shape:
        raise RuntimeError(f"Expected weight to be of same shape as normalized_shape, but got weight of shape "
                           f"{_shape_str(weight.shape)} and normalized_shape = {_shape_str(normalized_shape)}")
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"rms_norm\" not implemented for '{torch_name(input.dtype)}'")
    if eps is None:
        eps = float(np.finfo(input.dtype.np if input.dtype.itemsize > 2 else np.float32).eps)
    return _rms_norm(input, weight, trailing=len(normalized_shape), eps=eps)[0]


# forward-mode rule (run by ember.ops.dual) --------------------------------------------------------

@_native_norm.jvp
def _(j):
    """The closed form: with xhat = (x - mean) * rstd, while training d rstd = -rstd^2 mean(xhat t) and
    d xhat = rstd (t - mean t) - xhat rstd mean(xhat t) (rstd t in eval); out = xhat * w + b."""
    (x, w), (tx, tw, tb) = j.inputs[:2], j.tangents[:3]
    out, mean, rstd = j.out
    axes, group_shape, param_shape = j.ctx.axes, j.ctx.group_shape, j.ctx.param_shape
    xhat = (x.reshape(group_shape) - mean) * rstd
    t_out = t_mean = t_rstd = None
    if tx is not None:
        tg = tx.reshape(group_shape)
        if j.ctx.training:
            t_mean = tg.mean(axes, keepdim=True)
            spread = (xhat * tg).mean(axes, keepdim=True) * rstd
            t_rstd = -rstd * spread
            t_xhat = (tg - t_mean) * rstd - xhat * spread
        else:
            t_xhat = tg * rstd
        t_out = t_xhat.reshape(x.shape)
        if w is not None:
            t_out = t_out * w.reshape(param_shape)
    if tw is not None:
        term = xhat.reshape(x.shape) * tw.reshape(param_shape)
        t_out = term if t_out is None else t_out + term
    if tb is not None:
        term = tb.reshape(param_shape)
        t_out = term if t_out is None else t_out + term
    return t_out, t_mean, t_rstd


@_rms_norm.jvp
def _(j):
    """With xhat = x * rstd: d rstd = -rstd^2 mean(xhat t), so d out = (rstd t + xhat d rstd / rstd) w + xhat t_w."""
    (x, w), (tx, tw) = j.inputs, j.tangents
    rstd = j.out[1]
    axes = tuple(range(x.dim() - j.params["trailing"], x.dim()))
    xhat = x * rstd
    t_out = t_rstd = None
    if tx is not None:
        spread = (xhat * tx).mean(axes, keepdim=True) * rstd
        t_rstd = -rstd * spread
        t_out = tx * rstd - xhat * spread
        if w is not None:
            t_out = t_out * w
    if tw is not None:
        term = xhat * tw
        t_out = term if t_out is None else t_out + term
    return t_out, t_rstd
