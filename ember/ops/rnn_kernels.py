"""Compiled kernels for one LSTM or GRU step's pointwise math in the transposed ``(gates * H, B)`` layout
that ``ember.ops.rnn_seq`` keeps (row ``j`` of every gate block is hidden unit ``j``).

Each kernel is a loop over rows of hidden units, so ``compiled.parallel`` splits the units over threads and
every output element is written once. The transcendental functions stay outside: NumPy's SIMD ``tanh``
(0.4 ns an element in float32 here) is ~8x faster than the scalar libm calls a numba loop makes, so a step
is "GEMM, one ``tanh`` over every gate, one kernel, ``tanh`` of the cell, ..." and each kernel replaces the
five to fifteen small NumPy calls (and their temporaries) between two ``tanh``s. The arithmetic is written
in the NumPy reference's order, so both paths round alike. ``sigmoid(x) = (1 + tanh(x / 2)) / 2``.
"""
from ember.backend import compiled


@compiled.kernel
def lstm_forward_rows(lo, hi, a, c_prev, c_out):
    """``a`` ``(4H, B)`` holds tanh of the pre-activations (i, f, o halved): turns the i, f, o blocks into
    sigmoids in place and writes the new cell ``f c + i g`` into ``c_out``."""
    hidden = c_out.shape[0]
    half = a.dtype.type(0.5)
    for j in range(lo, hi):
        for b in range(a.shape[1]):
            i = a[j, b] * half + half
            f = a[hidden + j, b] * half + half
            a[j, b] = i
            a[hidden + j, b] = f
            a[3 * hidden + j, b] = a[3 * hidden + j, b] * half + half
            c_out[j, b] = f * c_prev[j, b] + i * a[2 * hidden + j, b]


@compiled.kernel
def lstm_backward_rows(lo, hi, a, tanh_c, c_prev, g_y, has_g_y, dh, dc, d):
    """One step of BPTT: from the carried ``dh``, ``dc`` (plus the output's gradient ``g_y`` when
    ``has_g_y``) writes the gate gradients ``d`` ``(4H, B)`` and the cell gradient for the step before
    into ``dc``."""
    hidden = dh.shape[0]
    one = a.dtype.type(1)
    for j in range(lo, hi):
        for b in range(dh.shape[1]):
            grad_h = dh[j, b] + g_y[j, b] if has_g_y else dh[j, b]
            i, f, g, o = a[j, b], a[hidden + j, b], a[2 * hidden + j, b], a[3 * hidden + j, b]
            t = tanh_c[j, b]
            total = (one - t * t) * grad_h * o + dc[j, b]
            d[j, b] = total * g * ((one - i) * i)
            d[hidden + j, b] = total * c_prev[j, b] * ((one - f) * f)
            d[2 * hidden + j, b] = total * i * (one - g * g)
            d[3 * hidden + j, b] = grad_h * t * ((one - o) * o)
            dc[j, b] = total * f


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
