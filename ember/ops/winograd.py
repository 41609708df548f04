"""Winograd F(2x2, 3x3) convolution (Lavin & Gray 2015) for 3x3, stride-1 convolutions of host arrays.

Each 2x2 block of outputs is ``A^T [(G g G^T) * (B^T d B)] A`` for the 4x4 input tile ``d`` under it, so
summed over input channels the 16 products become 16 GEMMs ``(tiles, Cin) @ (Cin, Cout)``: 2.25x fewer
multiplications than the im2col GEMM, in GEMMs that OpenBLAS runs as fast. At (64, 32, 14, 14) -> 64:
the im2col GEMM of (12544, 288) @ (288, 64) took 3.4 ms, the 16 GEMMs 1.45 ms. The tile transforms are
numba kernels (``winograd_kernels.py``) that read NCHW, padding included, and write NCHW, so neither the
padded copy, the columns nor the final transpose of the im2col path are made.

Only from 8 input channels: below them the im2col path's per-image GEMMs win (4 -> 64 channels at 28x28:
10.4 against 6.9 ms, 1 -> 32: 10.1 against 1.2). Any number of output channels (64 -> 3: 10.4 against 30.5).
F(4x4, 3x3) has smaller GEMMs (~1.06 ms) but worse float32 accuracy; F(2x2)'s float32 error stays that of
the im2col path (2.6-6.2e-7 of the output's largest value against 4.1-6.6e-7, randn data, Kaiming weights).
"""
import numpy as np

from ember.backend import compiled

MIN_IN_CHANNELS = 8

_PAGE, _LINE = 4096, 64
_CHUNK_BYTES = 1 << 24  # of transformed tiles and products at a time: half the L3 cache here
_G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])
_GG = np.kron(_G, _G).T  # (9, 16): vec(G g G^T) = (G (x) G) vec(g), row-major vec


def applies(x, w, b, stride, padding, dilation, groups):
    """Whether the convolution of ``x`` by ``w`` takes the Winograd path: 2-d, 3x3, stride 1, dilation 1,
    groups 1, float32/float64 host arrays with the kernels on, and at least ``MIN_IN_CHANNELS`` input channels."""
    return (x.ndim == 4 and tuple(w.shape[2:]) == (3, 3) and groups == 1 and tuple(stride) == (1, 1)
            and tuple(dilation) == (1, 1) and x.dtype in (np.float32, np.float64)
            and w.shape[1] >= MIN_IN_CHANNELS
            and all(s + 2 * p >= 3 for s, p in zip(x.shape[2:], padding))
            and compiled.usable(x, w, *(() if b is None else (b,))))


def transposed_applies(x, w, b, stride, padding, dilation, groups, out_size):
    """Whether a transposed convolution (an input gradient) is a stride-1 convolution the Winograd path
    takes: padding 2 at most, the plain output size (no ``output_padding``)."""
    sizes = x.shape[2:]
    return (x.ndim == 4 and all(p <= 2 for p in padding)
            and tuple(out_size) == tuple(s + 2 - 2 * p for s, p in zip(sizes, padding))
            and applies(x, w.transpose(1, 0, 2, 3), b, stride, (2 - padding[0], 2 - padding[1]), dilation, groups))


def _weights(w):
    """``U = G g G^T`` laid out (16, Cin, Cout), in ``w``'s dtype: one GEMM by ``G (x) G`` (16, 9), whose
    entries (products of 0, 1/2 and 1) are exact."""
    cout, cin = w.shape[:2]
    u = np.matmul(w.reshape(cout * cin, 9), _GG.astype(w.dtype))  # (Cout * Cin, 16)
    return np.ascontiguousarray(u.reshape(cout, cin, 16).transpose(2, 1, 0))


def _spread(rows, cols, dtype):
    """A flat buffer for 16 (rows, cols) matrices that lie one cache line off multiples of 4 KiB apart, its
    (16, rows, cols) view and the matrices' step in elements.

    A tile's 16 values go to (or come from) the same place in each matrix; 4 KiB-aligned matrices put those
    16 addresses in one L1 set, which took each tile transform from ~0.8 to ~3 ms at 64 x 49 tiles of 32 channels."""
    item = np.dtype(dtype).itemsize
    step = rows * cols + (-rows * cols * item) % _PAGE // item + _LINE // item
    flat = np.empty(16 * step, dtype)
    view = np.lib.stride_tricks.as_strided(flat, (16, rows, cols), (step * item, cols * item, item))
    return flat, view, step


def conv2d(x, w, b, padding):
    """The convolution (N, Cin, H, W) * (Cout, Cin, 3, 3) + bias, padded by ``padding``, as (N, Cout, H', W').

    Images go ``_CHUNK_BYTES`` of transformed tiles at a time, through buffers made once, so that the
    output transform reads the GEMMs' products from cache: at (64, 8, 28, 28) -> 64 (51 MB of products)
    6.2-6.6 against 10.4-10.8 ms unchunked (the im2col path: 9.3)."""
    from ember.ops import winograd_kernels as k  # optional dependency: numba, imported on first use
    n, cin, height, width = x.shape
    cout = w.shape[0]
    oh, ow = height + 2 * padding[0] - 2, width + 2 * padding[1] - 2
    th, tw = (oh + 1) // 2, (ow + 1) // 2
    x = np.ascontiguousarray(x)
    u = _weights(w)
    bias = np.zeros(cout, x.dtype) if b is None else np.ascontiguousarray(b.reshape(cout))
    out = np.empty((n, cout, oh, ow), x.dtype)
    per_chunk = max(1, _CHUNK_BYTES // (16 * th * tw * (cin + cout) * x.itemsize))
    chunk = -(-n // -(-n // per_chunk)) if n else 1  # equal chunks
    v, v_view, v_step = _spread(chunk * th * tw, cin, x.dtype)
    m, m_view, m_step = _spread(chunk * th * tw, cout, x.dtype)
    in_rows, out_rows = compiled.rows_per_thread(16 * tw * cin), compiled.rows_per_thread(16 * tw * cout)
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        tiles = (hi - lo) * th * tw
        compiled.parallel(k._input_tiles, (hi - lo) * th, x[lo:hi], padding[0], padding[1], th, tw, v, v_step,
                          min_rows_per_thread=in_rows)
        np.matmul(v_view[:, :tiles], u, out=m_view[:, :tiles])  # (16, tiles, Cout)
        compiled.parallel(k._output_tiles, (hi - lo) * th, m, m_step, bias, th, tw, out[lo:hi],
                          min_rows_per_thread=out_rows)
    return out


def conv_transpose2d(x, w, b, padding):
    """The stride-1 transposed convolution (N, Cin, H, W) * (Cin, Cout, 3, 3): a convolution by the weights
    swapped in channels and flipped in space, padded by ``2 - padding``."""
    flipped = w.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1]
    return conv2d(x, flipped, b, (2 - padding[0], 2 - padding[1]))
