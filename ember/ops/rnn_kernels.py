"""Compiled kernels for one LSTM or GRU step's pointwise math in the transposed ``(gates * H, B)`` layout
that ``ember.ops.rnn_seq`` keeps (row ``j`` of every gate block is hidden unit ``j``).

The LSTM kernels walk a step's ``H * B`` cells as one flat range: every gate block ``(H, B)`` is one
contiguous run, so the loop vectorises (a loop per row of ``B`` = 32 elements is too short for LLVM's
vectoriser: the same backward took 22-32 us a step as row loops against 7.5 flat). The forward computes
the gates' tanh inline (``row_math.tanh``), so a step is "GEMM, one kernel": 32 us against 40-51 for NumPy's
SIMD tanh around a kernel, with three passes fewer over the gates.

The GRU kernels loop over rows of hidden units (the hidden bias is per row) and keep NumPy's ``tanh``
between them. Every output element is written once, so ``compiled.parallel`` may split the range over
threads. The arithmetic is written in the NumPy reference's order, so both paths round alike (up to the
tanh: ``row_math.tanh`` is within 3 ulp). ``sigmoid(x) = (1 + tanh(x / 2)) / 2``. This module imports
numba (through ``row_math``); ``rnn_seq`` imports it on first use.
"""
from ember.backend import compiled
from ember.ops.row_math import tanh


@compiled.kernel
def lstm_forward(lo, hi, a, gx, c_prev, c_out, tanh_c, h_out):
    """Cells ``lo:hi`` of one step. ``a`` ``(4, H * B)``: the hidden GEMM's part of the pre-activations
    (i, f, o halved), overwritten with the gates i, f, g, o; ``gx`` the input part, likewise; ``c_prev``,
    ``c_out``, ``tanh_c``, ``h_out`` ``(H * B,)``: the cell before, the cell after, its tanh and the output."""
    half = a.dtype.type(0.5)
    a_i, a_f, a_g, a_o = a[0, lo:hi], a[1, lo:hi], a[2, lo:hi], a[3, lo:hi]  # indices from 0 vectorise
    x_i, x_f, x_g, x_o = gx[0, lo:hi], gx[1, lo:hi], gx[2, lo:hi], gx[3, lo:hi]
    c_in, c_new, tc, h = c_prev[lo:hi], c_out[lo:hi], tanh_c[lo:hi], h_out[lo:hi]
    for e in range(hi - lo):
        i = tanh(a_i[e] + x_i[e]) * half + half
        f = tanh(a_f[e] + x_f[e]) * half + half
        g = tanh(a_g[e] + x_g[e])
        o = tanh(a_o[e] + x_o[e]) * half + half
        a_i[e], a_f[e], a_g[e], a_o[e] = i, f, g, o
        c = f * c_in[e] + i * g
        c_new[e] = c
        t = tanh(c)
        tc[e] = t
        h[e] = o * t


@compiled.kernel
def lstm_backward(lo, hi, a, tanh_c, c_prev, g_y, has_g_y, dh, dc, d):
    """One step of BPTT over cells ``lo:hi``: from the carried ``dh``, ``dc`` (plus the output's gradient
    ``g_y`` when ``has_g_y``) writes the gate gradients ``d`` ``(4, H * B)`` and the cell gradient for the
    step before into ``dc``; ``a`` ``(4, H * B)`` holds the gates, the rest are ``(H * B,)``."""
    one = a.dtype.type(1)
    a_i, a_f, a_g, a_o = a[0, lo:hi], a[1, lo:hi], a[2, lo:hi], a[3, lo:hi]
    d_i, d_f, d_g, d_o = d[0, lo:hi], d[1, lo:hi], d[2, lo:hi], d[3, lo:hi]
    tc, c_in, gy, g_h, g_c = tanh_c[lo:hi], c_prev[lo:hi], g_y[lo:hi], dh[lo:hi], dc[lo:hi]
    for e in range(hi - lo):
        grad_h = g_h[e] + gy[e] if has_g_y else g_h[e]
        i, f, g, o = a_i[e], a_f[e], a_g[e], a_o[e]
        t = tc[e]
        total = (one - t * t) * grad_h * o + g_c[e]
        d_i[e] = total * g * ((one - i) * i)
        d_f[e] = total * c_in[e] * ((one - f) * f)
        d_g[e] = total * i * (one - g * g)
        d_o[e] = grad_h * t * ((one - o) * o)
        g_c[e] = total * f


@compiled.kernel
def steps_to_columns(lo, hi, steps, columns):
    """Rows ``lo:hi`` of ``columns`` ``(G, T * B)`` from ``steps`` ``(T, G, B)``: step t's block of
    row g is its columns ``t B:(t + 1) B``."""
    batch = steps.shape[2]
    for g in range(lo, hi):
        row = columns[g]
        for t in range(steps.shape[0]):
            block = steps[t, g]
            for b in range(batch):
                row[t * batch + b] = block[b]


@compiled.kernel
def gru_gates_rows(lo, hi, gx, gh, b_hh, rz, hn):
    """Adds the hidden bias to ``gh`` ``(3H, B)``, writes half the r, z pre-activations into ``rz`` (for the
    tanh that gives their sigmoids) and keeps the n gate's hidden part in ``hn``."""
    hidden = hn.shape[0]
    half = rz.dtype.type(0.5)
    for j in range(lo, hi):
        for b in range(gh.shape[1]):
            for k in (j, hidden + j):
                rz[k, b] = (gx[k, b] + (gh[k, b] + b_hh[k])) * half
            hn[j, b] = gh[2 * hidden + j, b] + b_hh[2 * hidden + j]


@compiled.kernel
def gru_candidate_rows(lo, hi, gx, rz, hn, n):
    """``rz`` holds tanh(pre / 2): turns it into the sigmoids r, z in place and writes n's pre-activation
    ``r hn + gx_n`` into ``n``."""
    hidden = hn.shape[0]
    half = rz.dtype.type(0.5)
    for j in range(lo, hi):
        for b in range(hn.shape[1]):
            r = rz[j, b] * half + half
            rz[j, b] = r
            rz[hidden + j, b] = rz[hidden + j, b] * half + half
            n[j, b] = r * hn[j, b] + gx[2 * hidden + j, b]


@compiled.kernel
def gru_output_rows(lo, hi, rz, n, h_prev, h_out):
    """``h' = n + z (h - n)``."""
    hidden = n.shape[0]
    for j in range(lo, hi):
        for b in range(n.shape[1]):
            h_out[j, b] = (h_prev[j, b] - n[j, b]) * rz[hidden + j, b] + n[j, b]


@compiled.kernel
def gru_backward_rows(lo, hi, rz, n, hn, h_prev, g_y, has_g_y, dh, d_gx, d_gh):
    """One step of BPTT: writes the gradients of the input part ``d_gx`` and hidden part ``d_gh`` (each
    ``(3H, B)``) and leaves ``dh z`` in ``dh`` (the hidden GEMM's term is added after)."""
    hidden = n.shape[0]
    one = n.dtype.type(1)
    for j in range(lo, hi):
        for b in range(n.shape[1]):
            grad_h = dh[j, b] + g_y[j, b] if has_g_y else dh[j, b]
            r, z, nn = rz[j, b], rz[hidden + j, b], n[j, b]
            d_pre_n = grad_h * (one - z) * (one - nn * nn)
            d_r = d_pre_n * hn[j, b] * (r * (one - r))
            d_z = grad_h * (h_prev[j, b] - nn) * (z * (one - z))
            d_gx[j, b] = d_r
            d_gx[hidden + j, b] = d_z
            d_gx[2 * hidden + j, b] = d_pre_n
            d_gh[j, b] = d_r
            d_gh[hidden + j, b] = d_z
            d_gh[2 * hidden + j, b] = d_pre_n * r
            dh[j, b] = grad_h * z
