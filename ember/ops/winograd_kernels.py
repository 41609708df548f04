"""Compiled CPU kernels of the Winograd F(2x2, 3x3) convolution (``winograd.py``): the input tile transform
``B^T d B`` and the output transform ``A^T m A``, both one row of tiles (image, tile row) per step.

The input transform reads the four input rows under a row of tiles, zero outside the image (the padding
is never materialised), combines them into the four rows of ``B^T d`` over the whole width in one
vectorisable pass, then each tile's four columns into its 16 values ``V[k, tile, channel]``. The output
transform reads ``M[k, tile, channel]`` and writes the tile's 2x2 outputs straight into NCHW, cropping
the last row and column of tiles when the output size is odd, and adds the bias. Every element of ``V``
and of the output belongs to one row of tiles, so the bits do not depend on the thread count.
This module imports numba (through ``compiled.kernel``): ``winograd.py`` imports it only once
``compiled.usable`` said yes.
"""
import numpy as np

from ember.backend import compiled


@compiled.kernel
def _input_tiles(lo, hi, x, pad_h, pad_w, tiles_h, tiles_w, v, step):
    """``V[k, t, c]``, at ``v[k * step + t * channels + c]``, for the tiles ``t`` of tile rows ``lo..hi``
    (image ``r // tiles_h``, row ``r % tiles_h``)."""
    channels, height, width = x.shape[1], x.shape[2], x.shape[3]
    span = 2 * tiles_w + 2
    rows = np.zeros((4, max(span, pad_w + width)), x.dtype)  # one channel's input rows, zero padded
    comb = np.empty((span, 4, channels), x.dtype)  # B^T d, channels last
    for r in range(lo, hi):
        n, ty = r // tiles_h, r % tiles_h
        first = r * tiles_w
        for c in range(channels):
            for i in range(4):
                y = 2 * ty - pad_h + i
                row = rows[i, pad_w:pad_w + width]
                if 0 <= y < height:
                    src = x[n, c, y]
                    for j in range(width):
                        row[j] = src[j]
                else:
                    row[:] = 0
            for j in range(span):
                comb[j, 0, c] = rows[0, j] - rows[2, j]
                comb[j, 1, c] = rows[1, j] + rows[2, j]
                comb[j, 2, c] = rows[2, j] - rows[1, j]
                comb[j, 3, c] = rows[1, j] - rows[3, j]
        for tx in range(tiles_w):
            t, j = first + tx, 2 * tx
            for i in range(4):
                a, b, d, e = comb[j, i], comb[j + 1, i], comb[j + 2, i], comb[j + 3, i]
                at = 4 * i * step + t * channels
                v0, v1 = v[at:at + channels], v[at + step:at + step + channels]
                v2, v3 = v[at + 2 * step:at + 2 * step + channels], v[at + 3 * step:at + 3 * step + channels]
                for c in range(channels):
                    v0[c] = a[c] - d[c]
                    v1[c] = b[c] + d[c]
                    v2[c] = d[c] - b[c]
                    v3[c] = b[c] - e[c]


@compiled.kernel
def _output_tiles(lo, hi, m, step, bias, tiles_h, tiles_w, out):
    """``out[n, co]``'s 2x2 blocks of tile rows ``lo..hi`` from ``M[k, t, co]`` (at ``m[k * step + t * channels
    + co]``), plus ``bias[co]``."""
    channels, height, width = out.shape[1], out.shape[2], out.shape[3]
    s = np.empty((2, 4, channels), m.dtype)  # A^T m: one tile's rows combined
    rows = np.empty((2, 2 * tiles_w, channels), m.dtype)  # the two output rows, channels last
    for r in range(lo, hi):
        n, ty = r // tiles_h, r % tiles_h
        y = 2 * ty
        first = r * tiles_w
        for tx in range(tiles_w):
            t = first + tx
            for j in range(4):
                at = j * step + t * channels
                m0, m1 = m[at:at + channels], m[at + 4 * step:at + 4 * step + channels]
                m2, m3 = m[at + 8 * step:at + 8 * step + channels], m[at + 12 * step:at + 12 * step + channels]
                s0, s1 = s[0, j], s[1, j]
                for co in range(channels):
                    s0[co] = m0[co] + m1[co] + m2[co]
                    s1[co] = m1[co] - m2[co] - m3[co]
            for a in range(2):
                p, q, u, w, left, right = s[a, 0], s[a, 1], s[a, 2], s[a, 3], rows[a, 2 * tx], rows[a, 2 * tx + 1]
                for co in range(channels):
                    left[co] = p[co] + q[co] + u[co]
                    right[co] = q[co] - u[co] - w[co]
        for co in range(channels):
            b = bias[co]
            for a in range(min(2, height - y)):
                dst = out[n, co, y + a]
                for xo in range(width):
                    dst[xo] = rows[a, xo, co] + b
