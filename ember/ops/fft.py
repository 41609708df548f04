"""Discrete Fourier transforms: three primitives (complex-to-complex, real-to-complex,
complex-to-real) over any set of dimensions, each with PyTorch's ``norm=`` modes.

Every transform of ``torch.fft`` is one of these three, composed with conjugation
(the Hermitian ``hfft``/``ihfft`` forms) and zero-padding or trimming of the signal.
The derivative of each is its adjoint: a transform in the other direction with the
dual scaling (``"backward"`` <-> ``"forward"``, ``"ortho"`` for itself).
"""
from ember.backend.arrays import fft as scipy_fft
from ember.backend.dtype import get_default_dtype
from ember.creation import tensor
from ember.ops.dispatch import primitive
from ember.ops.dual import linear
from ember.ops.join import narrow
from ember.ops.pad import constant_pad_nd

_DUAL = {"backward": "forward", "forward": "backward", "ortho": "ortho"}


def check_norm(norm):
    norm = "backward" if norm is None else norm
    if norm not in _DUAL:
        raise RuntimeError(f'Invalid normalization mode: "{norm}"')
    return norm


def resize(t, dims, sizes):
    """Trim or zero-pad ``t`` along ``dims`` to ``sizes`` (how a transform fits its signal length)."""
    for d, n in zip(dims, sizes):
        have = t.shape[d]
        if n < have:
            t = narrow(t, d, 0, n)
        elif n > have:
            pads = [0, 0] * (t.dim() - d % t.dim())
            pads[-1] = n - have
            t = constant_pad_nd(t, pads)
    return t


def _cast(out, like):
    """NumPy's transforms keep single precision; CuPy's may not: results follow the input's precision."""
    want = like.dtype.char in "fF"
    return out.astype("F" if want else "D", copy=False) if out.dtype.kind == "c" else out.astype(
        "f" if want else "d", copy=False)


@primitive("FftC2CBackward0")
def _c2c(ctx, xp, x, dims, forward, norm):
    ctx.dims, ctx.forward, ctx.norm = dims, forward, norm
    run = scipy_fft(xp).fftn if forward else scipy_fft(xp).ifftn
    return _cast(run(x, axes=dims, norm=norm), x)


@_c2c.derivative
def _(ctx, g):
    return _c2c(g.to(g.dtype.to_complex()), dims=ctx.dims, forward=not ctx.forward, norm=_DUAL[ctx.norm])


@primitive("FftR2CBackward0")
def _r2c(ctx, xp, x, dims, norm, onesided=True):
    ctx.dims, ctx.norm, ctx.n = dims, norm, x.shape[dims[-1]]
    run = scipy_fft(xp).rfftn if onesided else scipy_fft(xp).fftn
    return _cast(run(x, axes=dims, norm=norm), x.astype(x.dtype.char.upper()))


@_r2c.derivative
def _(ctx, g):
    full = resize(g, (ctx.dims[-1],), (ctx.n,))  # the dropped half of the spectrum contributes nothing
    return _c2c(full, dims=ctx.dims, forward=False, norm=_DUAL[ctx.norm]).real


@primitive("FftC2RBackward0")
def _c2r(ctx, xp, x, dims, n, norm):
    ctx.dims, ctx.norm, ctx.n = dims, norm, n
    sizes = [x.shape[d] for d in dims[:-1]] + [n]
    return _cast(scipy_fft(xp).irfftn(x, s=sizes, axes=dims, norm=norm), x)


@_c2r.derivative
def _(ctx, g):
    half = _r2c(g, dims=ctx.dims, norm=_DUAL[ctx.norm])
    mirrored = ctx.n - half.shape[ctx.dims[-1]]  # the bins that stand for two of the full spectrum
    if mirrored > 0:
        last = ctx.dims[-1]
        scale = [1.0] * half.shape[last]
        for i in range(1, 1 + mirrored):
            scale[i] = 2.0
        shape = [1] * half.dim()
        shape[last] = len(scale)
        half = half * tensor(scale, dtype=half.dtype.to_real(), device=half.device).reshape(shape)
    return half


# argument handling ------------------------------------------------------------------------

def _normalised_dims(x, s, dim):
    """The transformed dims, non-negative: ``dim``, or by default the last ``len(s)`` dims (or all)."""
    nd = x.dim()
    if dim is None:
        dims = list(range(nd - len(s), nd)) if s is not None else list(range(nd))
    else:
        dims = [dim] if isinstance(dim, int) else list(dim)
    return [d + nd if d < 0 else d for d in dims]


def _shape_list(s, dims):
    """``s`` as a list with one size per transformed dim."""
    s = [s] if isinstance(s, int) else list(s)
    if len(s) != len(dims):
        raise RuntimeError(f"When given, dim and shape arguments must have the same length (got {len(s)} and "
                           f"{len(dims)})")
    return s


def _dims_and_sizes(name, x, s, dim):
    """PyTorch's rules: ``dim`` defaults to the last ``len(s)`` dims (or all), ``s[i] == -1`` keeps a size."""
    nd = x.dim()
    dims = _normalised_dims(x, s, dim)
    for d in dims:
        if not 0 <= d < max(nd, 1):
            raise IndexError(f"Dimension out of range (expected to be in range of [{-max(nd, 1)}, {max(nd, 1) - 1}], "
                             f"but got {d if d < nd else d})")
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"{name} dims must be unique")
    if s is not None:
        sizes = [x.shape[d] if n == -1 else n for d, n in zip(dims, _shape_list(s, dims))]
    else:
        sizes = [x.shape[d] for d in dims]
    for n in sizes:
        if n < 1:
            raise RuntimeError(f"Invalid number of data points ({n}) specified")
    return dims, sizes


def as_complex_input(x):
    if x._dtype.category == 3:
        return x
    real = x._dtype if x._dtype.category == 2 and x._dtype.name in ("float32", "float64") else get_default_dtype()
    return x.to(real.to_complex())


def as_real_input(name, x):
    if x._dtype.category == 3:
        raise RuntimeError(f"{name} expects a real input tensor, but got {_torch_name(x._dtype)}")
    if x._dtype.name not in ("float32", "float64"):
        x = x.to(get_default_dtype())
    return x


def _torch_name(dtype):
    return {"complex64": "ComplexFloat", "complex128": "ComplexDouble"}.get(dtype.name, dtype.name)


def c2c(name, x, s, dim, norm, forward):
    norm = check_norm(norm)
    dims, sizes = _dims_and_sizes(name, x, s, dim)
    if len(dims) == 1 and x._dtype.category < 3:  # a real 1-D signal: the full spectrum of a real transform
        x = resize(as_real_input(name, x), dims, sizes)
        if forward:
            return _r2c(x, dims=tuple(dims), norm=norm, onesided=False)
        return _r2c(x, dims=tuple(dims), norm=_DUAL[norm], onesided=False).conj()
    x = resize(as_complex_input(x), dims, sizes)
    return _c2c(x, dims=tuple(dims), forward=forward, norm=norm)


def r2c(name, x, s, dim, norm, forward=True):
    """rfftn (``forward``) or ihfftn (the conjugate of the inverse-scaled one-sided transform)."""
    norm = check_norm(norm)
    x = as_real_input(name, x)
    dims, sizes = _dims_and_sizes(name, x, s, dim)
    x = resize(x, dims, sizes)
    out = _r2c(x, dims=tuple(dims), norm=norm if forward else _DUAL[norm])
    return out if forward else out.conj()


def c2r(name, x, s, dim, norm, forward=False):
    """irfftn, or hfftn (``forward``: the transform of a conjugated half spectrum with dual scaling)."""
    norm = check_norm(norm)
    dims = _normalised_dims(x, s, dim)
    if s is not None:
        s = _shape_list(s, dims)
    last_out = (2 * (x.shape[dims[-1]] - 1)) if s is None or s[-1] == -1 else s[-1]
    if last_out < 1:
        raise RuntimeError(f"Invalid number of data points ({last_out}) specified")
    half_sizes = [x.shape[d] if s is None or s[i] == -1 else s[i] for i, d in enumerate(dims[:-1])]
    half_sizes.append(last_out // 2 + 1)
    x = resize(as_complex_input(x), dims, half_sizes)
    if forward:
        x = x.conj()
    return _c2r(x, dims=tuple(dims), n=last_out, norm=_DUAL[norm] if forward else norm)

# forward-mode rules (run by ember.ops.dual) --------------------------------------------------

for _prim in (_c2c, _r2c, _c2r):
    _prim.jvp(linear())
