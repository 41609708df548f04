"""Compiled kernels for one LSTM or GRU step's pointwise math in the transposed ``(gates * H, B)`` layout
that ``ember.ops.rnn_seq`` keeps (row ``j`` of every gate block is hidden unit ``j``).

A kernel walks a step's ``H * B`` cells as one flat range: every gate block ``(H, B)`` is one contiguous
run, so the loop vectorises (a loop per row of ``B`` = 32 elements is too short for LLVM's vectoriser:
the LSTM backward took 22-32 us a step as row loops against 7.5 flat). The forward kernels compute the
gates' tanh inline (``row_math.tanh``), so a step is "GEMM, one kernel": the LSTM's 32 us against 40-51
for NumPy's SIMD tanh around a kernel, with three passes fewer over the gates. Every output element is
written once, so ``compiled.parallel`` may split the range over threads. The arithmetic is written in the
NumPy reference's order, so both paths round alike (up to the tanh: ``row_math.tanh`` is within 3 ulp).
``sigmoid(x) = (1 + tanh(x / 2)) / 2``. This module imports numba (through ``row_math``); ``rnn_seq``
imports it on first use.
"""
from ember.backend import compiled
from ember.ops.row_math import row_sum, tanh


@compiled.kernel
def lstm_forward(lo, hi, a, gx, bias, c_prev, c_out, tanh_c, h_out):
    """Cells ``lo:hi`` of one step. ``a`` ``(4, H * B)``: the hidden GEMM's part of the pre-activations
    (i, f, o halved), overwritten with the gates i, f, g, o; ``gx`` the input part and ``bias`` the bias
    (spread over the batch), likewise; ``c_prev``, ``c_out``, ``tanh_c``, ``h_out`` ``(H * B,)``: the cell
    before, the cell after, its tanh and the output."""
    half = a.dtype.type(0.5)
    a_i, a_f, a_g, a_o = a[0, lo:hi], a[1, lo:hi], a[2, lo:hi], a[3, lo:hi]  # indices from 0 vectorise
    x_i, x_f, x_g, x_o = gx[0, lo:hi], gx[1, lo:hi], gx[2, lo:hi], gx[3, lo:hi]
    b_i, b_f, b_g, b_o = bias[0, lo:hi], bias[1, lo:hi], bias[2, lo:hi], bias[3, lo:hi]
    c_in, c_new, tc, h = c_prev[lo:hi], c_out[lo:hi], tanh_c[lo:hi], h_out[lo:hi]
    for e in range(hi - lo):
        i = tanh(a_i[e] + (x_i[e] + b_i[e])) * half + half
        f = tanh(a_f[e] + (x_f[e] + b_f[e])) * half + half
        g = tanh(a_g[e] + (x_g[e] + b_g[e]))
        o = tanh(a_o[e] + (x_o[e] + b_o[e])) * half + half
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
def steps_to_columns(lo, hi, steps, columns, sums):
    """Rows ``lo:hi`` of ``columns`` ``(G, T * B)`` from ``steps`` ``(T, G, B)`` (step t's block of row g is
    its columns ``t B:(t + 1) B``), and each row's float64 sum into ``sums``."""
    batch = steps.shape[2]
    for g in range(lo, hi):
        row = columns[g]
        for t in range(steps.shape[0]):
            block = steps[t, g]
            for b in range(batch):
                row[t * batch + b] = block[b]
        sums[g] = row_sum(row)


@compiled.kernel
def gru_forward(lo, hi, gx, gh, h_prev, rz, hn, n, h_out):
    """Cells ``lo:hi`` of one GRU step. ``gx``, ``gh`` ``(3, H * B)``: the input and hidden parts of the
    pre-activations (the hidden bias added); writes the gates r, z into ``rz`` ``(2, H * B)``, the hidden part
    of n's pre-activation into ``hn``, n, and ``h' = (h - n) z + n`` into ``h_out`` (``(H * B,)`` each)."""
    half = gx.dtype.type(0.5)
    x_r, x_z, x_n, h_r, h_z, h_n = gx[0, lo:hi], gx[1, lo:hi], gx[2, lo:hi], gh[0, lo:hi], gh[1, lo:hi], gh[2, lo:hi]
    r_out, z_out, hn_out, n_out = rz[0, lo:hi], rz[1, lo:hi], hn[lo:hi], n[lo:hi]
    h_in, h_new = h_prev[lo:hi], h_out[lo:hi]
    for e in range(hi - lo):
        r = tanh((x_r[e] + h_r[e]) * half) * half + half
        z = tanh((x_z[e] + h_z[e]) * half) * half + half
        hidden_n = h_n[e]
        candidate = tanh(r * hidden_n + x_n[e])
        r_out[e], z_out[e], hn_out[e], n_out[e] = r, z, hidden_n, candidate
        h_new[e] = (h_in[e] - candidate) * z + candidate


@compiled.kernel
def gru_backward(lo, hi, rz, n, hn, h_prev, g_y, has_g_y, dh, d_gx, d_gh):
    """One step of BPTT over cells ``lo:hi``: writes the gradients of the input part ``d_gx`` and hidden part
    ``d_gh`` (each ``(3, H * B)``) and leaves ``dh z`` in ``dh`` (the hidden GEMM's term is added after)."""
    one = n.dtype.type(1)
    r_in, z_in, n_in, hn_in, h_in = rz[0, lo:hi], rz[1, lo:hi], n[lo:hi], hn[lo:hi], h_prev[lo:hi]
    gy, g_h = g_y[lo:hi], dh[lo:hi]
    dx_r, dx_z, dx_n, dh_r, dh_z, dh_n = (d_gx[0, lo:hi], d_gx[1, lo:hi], d_gx[2, lo:hi], d_gh[0, lo:hi],
                                          d_gh[1, lo:hi], d_gh[2, lo:hi])
    for e in range(hi - lo):
        grad_h = g_h[e] + gy[e] if has_g_y else g_h[e]
        r, z, nn = r_in[e], z_in[e], n_in[e]
        d_pre_n = grad_h * (one - z) * (one - nn * nn)
        d_r = d_pre_n * hn_in[e] * (r * (one - r))
        d_z = grad_h * (h_in[e] - nn) * (z * (one - z))
        dx_r[e], dx_z[e], dx_n[e] = d_r, d_z, d_pre_n
        dh_r[e], dh_z[e], dh_n[e] = d_r, d_z, d_pre_n * r
        g_h[e] = grad_h * z
