"""Array kernels of N-d convolution, written against ``xp``: channels-last im2col,
col2im by scatter-add, and GEMMs (batched over groups, or per image when shallow).

Layouts: ``x`` is (N, C, *S); the im2col buffer is (N*O, K, C) where O is the
number of output positions and K the number of kernel offsets, filled by one
reshape-copy of a window view (or one strided copy per offset when C is small),
so the GEMM operand needs no transpose. Measured choices: a window view beats
per-offset copies ~3.5x at 32 channels; per-image GEMMs writing NCHW directly
beat one GEMM plus a transpose ~3x when K*C is small (first layers).

Three special cases skip the columns. A 1x1 convolution (groups 1, no padding) is a GEMM
per image straight in NCHW, ``W (Cout, C) @ x[n] (C, O)``, after slicing the input by the
stride. Depthwise-like convolutions (each output channel reads one input channel, or each
input channel feeds one output, and one group with a single output or input channel) run
numba's direct loops of ``conv_kernels.py`` on host arrays, where the batched (G, M, K) x
(G, K, 1) GEMM of the general path is ~60x slower. 3x3 stride-1 convolutions of 8 or more
input channels take Winograd F(2x2, 3x3) (``winograd.py``), forward and input gradient.
"""
import itertools
import math

from ember.backend import compiled
from ember.ops import winograd

_VIEW_MIN_CHANNELS = 8
_BATCHED_MAX_DEPTH = 64  # K*C below which per-image GEMMs beat one GEMM plus a transpose
_COL2IM_CHUNK_BYTES = 1 << 22  # products of this many bytes at a time: in cache when the kernel adds them
_POINTWISE_MIN_POSITIONS = 256  # 1x1 weight gradient: per-image GEMMs from here, one GEMM on copies below


def out_sizes(sizes, kernel, stride, padding, dilation):
    """Output spatial sizes of a convolution."""
    return tuple((s + 2 * p - d * (k - 1) - 1) // st + 1
                 for s, k, st, p, d in zip(sizes, kernel, stride, padding, dilation))


def transposed_out_sizes(sizes, kernel, stride, padding, dilation):
    """Output spatial sizes of a transposed convolution, before ``output_padding``."""
    return tuple((s - 1) * st - 2 * p + d * (k - 1) + 1
                 for s, k, st, p, d in zip(sizes, kernel, stride, padding, dilation))


def channels_last(xp, x, padding=None):
    """(N, C, *S) -> (N, *S', C), zero padded by ``padding`` on both sides of each spatial dim."""
    perm = (0, *range(2, x.ndim), 1)
    if not padding or not any(padding):
        return xp.ascontiguousarray(x.transpose(perm))
    n, c, *s = x.shape
    buf = xp.zeros((n, *(si + 2 * p for si, p in zip(s, padding)), c), dtype=x.dtype)
    buf[(slice(None), *(slice(p, p + si) for si, p in zip(s, padding)))] = x.transpose(perm)
    return buf


def to_channels_first(xp, y):
    """(N, *S, C) -> contiguous (N, C, *S)."""
    return xp.ascontiguousarray(xp.moveaxis(y, -1, 1))


def window_slices(offset, stride, dilation, sizes):
    """The strided slices of the padded input that kernel ``offset`` reads for ``sizes`` outputs."""
    return tuple(slice(o * d, o * d + st * (n - 1) + 1, st) for o, d, st, n in zip(offset, dilation, stride, sizes))


def _windows(kernel, stride, dilation, sizes):
    """For each kernel offset, the strided slices of the padded input it reads."""
    for offset in itertools.product(*(range(k) for k in kernel)):
        yield window_slices(offset, stride, dilation, sizes)


def im2col(xp, x, kernel, stride, padding, dilation):
    """Columns (N*O, K, C) of ``x`` (N, C, *S) and the output sizes O.

    With several channels one reshape-copy of a window view is fastest; with one
    or a few channels, one strided copy per kernel offset is."""
    n, c = x.shape[:2]
    osz = out_sizes(x.shape[2:], kernel, stride, padding, dilation)
    xcl = channels_last(xp, x, padding)
    m, kk = n * math.prod(osz), math.prod(kernel)
    if c >= _VIEW_MIN_CHANNELS:
        st = xcl.strides
        view = xp.lib.stride_tricks.as_strided(
            xcl, (n, *osz, *kernel, c),
            (st[0], *(a * b for a, b in zip(st[1:-1], stride)), *(a * b for a, b in zip(st[1:-1], dilation)), st[-1]))
        return view.reshape(m, kk, c), osz
    cols = xp.empty((n, *osz, kk, c), dtype=x.dtype)
    for i, window in enumerate(_windows(kernel, stride, dilation, osz)):
        cols[..., i, :] = xcl[(slice(None), *window)]
    return cols.reshape(m, kk, c), osz


def _weight_matrix(xp, w, groups):
    """Weight (Cout, Cg, *K) as (G, Cout/G, K*Cg), matching the columns' order."""
    cout, cg = w.shape[:2]
    return xp.moveaxis(w, 1, -1).reshape(groups, cout // groups, math.prod(w.shape[2:]) * cg)


def _direct(groups, per_in, per_out, x, *others):
    """Whether the direct loops of ``conv_kernels`` run: groups of ``per_in`` input and ``per_out`` output
    channels, one of them 1 (depthwise convolutions, any multiplier, and their gradients; with one group,
    the convolutions whose GEMMs would be matrix-vector products: 64 -> 1 channels, 3x3 at 28x28, batch 16,
    forward 0.47 against 2.94 ms, weight gradient 0.71 against 3.43; 1 -> 32, batch 64, forward 0.68
    against 0.84), on host float arrays (``others`` may hold a None bias)."""
    return (min(per_in, per_out) == 1 and x.dtype.kind == "f"
            and compiled.usable(x, *(a for a in others if a is not None)))


def _pointwise(kernel, padding, groups):
    """Whether a convolution is a plain 1x1 channel mix: kernel all ones, groups 1, no padding."""
    return groups == 1 and all(kk == 1 for kk in kernel) and not any(padding)


def _every(x, stride):
    """``x`` (N, C, *S) at every ``stride``-th position: what a 1x1 kernel reads."""
    if all(s == 1 for s in stride):
        return x
    return x[(slice(None), slice(None), *(slice(None, None, s) for s in stride))]


def _pointwise_forward(xp, x, w, b, stride):
    """1x1 convolution as one ``W (Cout, C) @ x[n] (C, O)`` GEMM per image, written in NCHW."""
    xs = _every(x, stride)
    n, c, cout = x.shape[0], x.shape[1], w.shape[0]
    out = xp.matmul(w.reshape(cout, c), xs.reshape(n, c, math.prod(xs.shape[2:])))
    if b is not None:
        out += b.reshape(cout, 1)
    return out.reshape(n, cout, *xs.shape[2:])


def _pointwise_transpose(xp, x, w, b, stride, padding, out_size):
    """Transposed 1x1 convolution: ``W.T (Cout, Cin) @ x[n]`` per image, spread ``stride`` apart and cropped
    by ``padding`` when either is set (the input gradient of a strided 1x1 convolution)."""
    n, cin, *sizes = x.shape
    cout = w.shape[1]
    prod = xp.matmul(w.reshape(cin, cout).T, x.reshape(n, cin, math.prod(sizes))).reshape(n, cout, *sizes)
    if prod.dtype != x.dtype:  # ml_dtypes' bfloat16 GEMM returns float32
        prod = prod.astype(x.dtype)
    if any(s != 1 for s in stride) or any(padding) or tuple(out_size) != tuple(sizes):
        need = transposed_out_sizes(sizes, (1,) * len(sizes), stride, (0,) * len(sizes), (1,) * len(sizes))
        full = [max(o + 2 * p, q) for o, p, q in zip(out_size, padding, need)]
        buf = xp.zeros((n, cout, *full), dtype=prod.dtype)
        buf[(slice(None), slice(None), *(slice(0, q, s) for q, s in zip(need, stride)))] = prod
        prod = xp.ascontiguousarray(buf[(slice(None), slice(None),
                                         *(slice(p, p + o) for p, o in zip(padding, out_size)))])
    if b is not None:
        prod += b.reshape((cout,) + (1,) * len(sizes))
    return prod


def _pointwise_weight_grad(xp, x, g, stride):
    """1x1 weight gradient, sum over images of ``g[n] @ x[n].T``: per image while the products are deep
    enough, else one GEMM over copies laid out (C, N*O): 10.6-14.3 against 14.5-14.8 ms at 64 images of 7x7,
    512 channels; 5.4 against 3.5 ms the other way at 32 images of 28x28, 64 -> 128 channels."""
    xs = _every(x, stride)
    n, c, cout = x.shape[0], x.shape[1], g.shape[1]
    o = math.prod(g.shape[2:])
    gm, xm = g.reshape(n, cout, o), xs.reshape(n, c, o)
    if n == 0:
        return xp.zeros((cout, c), dtype=g.dtype)
    if o < _POINTWISE_MIN_POSITIONS:
        gcat = xp.ascontiguousarray(gm.transpose(1, 0, 2)).reshape(cout, n * o)
        xcat = xp.ascontiguousarray(xm.transpose(1, 0, 2)).reshape(c, n * o)
        return xp.matmul(gcat, xcat.T)
    gw = xp.matmul(gm[0], xm[0].T)
    part = xp.empty_like(gw)
    for i in range(1, n):
        xp.matmul(gm[i], xm[i].T, out=part)
        gw += part
    return gw


def conv_forward(xp, x, w, b, stride, padding, dilation, groups, cols=None):
    """Convolution (N, C, *S) * (Cout, C/G, *K) -> (N, Cout, *O); returns (output, columns)."""
    kernel = w.shape[2:]
    if _pointwise(kernel, padding, groups):
        return _pointwise_forward(xp, x, w, b, stride), None
    if _direct(groups, w.shape[1], w.shape[0] // groups, x, w, b):  # before Winograd: 64 -> 1 channels,
        # 28x28, batch 16: 0.57 against 3.0 ms
        from ember.ops import conv_kernels  # optional dependency: numba, imported on first use
        osz = out_sizes(x.shape[2:], kernel, stride, padding, dilation)
        return conv_kernels.conv(x, w, b, stride, padding, dilation, groups, osz), None
    if winograd.applies(x, w, b, stride, padding, dilation, groups):
        return winograd.conv2d(x, w, b, padding), None
    if cols is None:
        cols, osz = im2col(xp, x, kernel, stride, padding, dilation)
    else:
        osz = out_sizes(x.shape[2:], kernel, stride, padding, dilation)
    n, cout, m = x.shape[0], w.shape[0], cols.shape[0]
    wmat = _weight_matrix(xp, w, groups)
    if groups == 1 and wmat.shape[2] < _BATCHED_MAX_DEPTH:  # shallow GEMMs: per-image, straight into NCHW
        out = xp.matmul(wmat[0], cols.reshape(n, math.prod(osz), wmat.shape[2]).transpose(0, 2, 1))
        if b is not None:
            out += b.reshape(cout, 1)
        return out.reshape(n, cout, *osz), cols
    if groups == 1:
        out = xp.matmul(cols.reshape(m, wmat.shape[2]), wmat[0].T)
    else:
        cg = w.shape[1]
        kk = cols.shape[1]
        cg_cols = cols.reshape(m, kk, groups, cg).transpose(2, 0, 1, 3).reshape(groups, m, kk * cg)
        out = xp.matmul(cg_cols, wmat.transpose(0, 2, 1)).transpose(1, 0, 2).reshape(m, cout)
    if b is not None:
        out += b
    return to_channels_first(xp, out.reshape(n, *osz, cout)), cols


def _col2im_per_offset(xp, x, w, buf, stride, dilation):
    """Add each kernel offset's product ``x @ w[:, :, offset]`` into its strided window of ``buf``.

    One small GEMM per offset, added while its product is still in cache: measured
    4.9 ms against 7.4 ms for one (M, K*Cout) GEMM and strided adds at (64, 64, 14, 14)
    -> 32 channels, 3x3 (the big product is written to and read back from memory)."""
    n, cin, *sizes = x.shape
    kernel, cout = w.shape[2:], w.shape[1]
    xcl = channels_last(xp, x).reshape(-1, cin)
    if x.dtype.kind == "f" and compiled.usable(x, w, buf):
        _col2im_compiled(xp, xcl, w, buf, stride, dilation, n, sizes)
        return
    wk = xp.ascontiguousarray(w.reshape(cin, cout, -1).transpose(2, 0, 1))  # (K, Cin, Cout)
    prod = xp.empty((xcl.shape[0], cout), dtype=x.dtype)
    for i, window in enumerate(_windows(kernel, stride, dilation, sizes)):
        xp.matmul(xcl, wk[i], out=prod)
        buf[(slice(None), *window)] += prod.reshape(n, *sizes, cout)


def _col2im_compiled(xp, xcl, w, buf, stride, dilation, n, sizes):
    """``_col2im_per_offset`` with a kernel: per chunk of images one GEMM of every offset's product (its
    rows in cache-sized chunks), then ``conv_kernels.col2im`` adds them into their windows on all threads:
    at (64, 64, 14, 14) -> 32 channels, 3x3, 2.5 + 0.7 ms against 2.9 + 1.1 ms for the per-offset GEMMs and
    NumPy's single-threaded adds (``bench_conv.py``'s forward + input gradient: 10.3-10.9 against 11.3-11.6)."""
    from ember.ops import conv_kernels  # optional dependency: numba, imported on first use
    cin, cout, kernel = w.shape[0], w.shape[1], w.shape[2:]
    kk, per_image = math.prod(kernel), math.prod(sizes)
    wall = xp.ascontiguousarray(w.reshape(cin, cout, kk).transpose(0, 2, 1)).reshape(cin, kk * cout)
    chunk = max(1, _COL2IM_CHUNK_BYTES // max(1, per_image * kk * cout * w.itemsize))
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        prod = xp.matmul(xcl[lo * per_image:hi * per_image], wall)
        conv_kernels.col2im(prod.reshape(hi - lo, *sizes, *kernel, cout), buf[lo:hi], stride, dilation)


def _col2im_grouped(xp, x, w, buf, stride, dilation, groups):
    """Grouped col2im: one batched (G, M, K*Cout/G) GEMM, then one strided add per offset."""
    kernel, sizes = w.shape[2:], x.shape[2:]
    n, cin, cog = x.shape[0], w.shape[0], w.shape[1]
    cout, kk = cog * groups, math.prod(kernel)
    m = n * math.prod(sizes)
    xcl = channels_last(xp, x).reshape(m, groups, cin // groups).transpose(1, 0, 2)
    wmat = xp.moveaxis(w, 1, -1).reshape(groups, cin // groups, kk * cog)
    cols = xp.matmul(xcl, wmat).reshape(groups, m, kk, cog).transpose(1, 2, 0, 3).reshape(n, *sizes, kk, cout)
    for i, window in enumerate(_windows(kernel, stride, dilation, sizes)):
        buf[(slice(None), *window)] += cols[..., i, :]


def conv_transpose_forward(xp, x, w, b, stride, padding, dilation, groups, out_size):
    """Transposed convolution (N, Cin, *I) * (Cin, Cout/G, *K) -> (N, Cout, *out_size), by col2im."""
    kernel, sizes = w.shape[2:], x.shape[2:]
    if groups == 1 and all(kk == 1 for kk in kernel):
        return _pointwise_transpose(xp, x, w, b, stride, padding, out_size)
    cout = w.shape[1] * groups
    full = tuple(o + 2 * p for o, p in zip(out_size, padding))
    need = transposed_out_sizes(sizes, kernel, stride, (0,) * len(sizes), dilation)
    if _direct(groups, w.shape[0] // groups, w.shape[1], x, w, b):
        from ember.ops import conv_kernels  # optional dependency: numba, imported on first use
        return conv_kernels.conv_transpose(x, w, b, stride, padding, dilation, groups, out_size,
                                           tuple(max(f, q) for f, q in zip(full, need)))
    if winograd.transposed_applies(x, w, b, stride, padding, dilation, groups, out_size):
        return winograd.conv_transpose2d(x, w, b, padding)
    buf = xp.zeros((x.shape[0], *(max(f, q) for f, q in zip(full, need)), cout), dtype=x.dtype)
    if groups == 1:
        _col2im_per_offset(xp, x, w, buf, stride, dilation)
    else:
        _col2im_grouped(xp, x, w, buf, stride, dilation, groups)
    out = buf[(slice(None), *(slice(p, p + o) for p, o in zip(padding, out_size)))]
    if b is not None:
        out = out + b
    return to_channels_first(xp, out)


def conv_weight_grad(xp, x, g, kernel, stride, padding, dilation, groups, cols=None):
    """Gradient of a convolution's weight: columns of ``x`` times the output gradient ``g``, one GEMM."""
    if _pointwise(kernel, padding, groups):
        return _pointwise_weight_grad(xp, x, g, stride).reshape(g.shape[1], x.shape[1], *kernel)
    per_in, per_out = x.shape[1] // groups, g.shape[1] // groups
    # one group with one input channel (a first layer) keeps its GEMM, faster than the loops here:
    # 0.80 against 1.25 ms at 1 -> 32 channels, 28x28, batch 64
    if _direct(groups, per_in, per_out, x, g) and (groups > 1 or per_out == 1):
        from ember.ops import conv_kernels  # optional dependency: numba, imported on first use
        return conv_kernels.weight_grad(x, g, kernel, stride, padding, dilation, groups)
    if cols is None:
        cols, _ = im2col(xp, x, kernel, stride, padding, dilation)
    m, kk, cout, cg = cols.shape[0], cols.shape[1], g.shape[1], x.shape[1] // groups
    if groups == 1 and kk * cg < _BATCHED_MAX_DEPTH:  # shallow: per image, summed, reading g as laid out
        n, o = g.shape[0], math.prod(g.shape[2:])
        gw = xp.matmul(g.reshape(n, cout, o), cols.reshape(n, o, kk * cg)).sum(0)
    elif groups == 1:  # one (Cout, N*O) @ (N*O, K*C) GEMM: 3.1 vs 3.3 ms per image at 32 -> 64 channels, 3x3
        n, o = g.shape[0], math.prod(g.shape[2:])
        gmat = xp.ascontiguousarray(g.reshape(n, cout, o).transpose(1, 0, 2)).reshape(cout, m)
        gw = xp.matmul(gmat, cols.reshape(m, kk * cg))
    else:
        gcl = channels_last(xp, g).reshape(m, groups, cout // groups).transpose(1, 2, 0)  # (G, Cout/G, M)
        gw = xp.matmul(gcl, cols.reshape(m, kk, groups, cg).transpose(2, 0, 1, 3).reshape(groups, m, kk * cg))
    return xp.ascontiguousarray(xp.moveaxis(gw.reshape(cout, *kernel, cg), -1, 1))
