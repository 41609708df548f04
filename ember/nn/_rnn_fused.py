"""One LSTM layer direction over the whole sequence as ONE autograd node.

The forward loops over time on raw arrays (one GEMM and the cell math per step) and keeps the gate
activations and cell states; the first-order backward runs BPTT on arrays in one reversed loop (one
GEMM per step for the carried ``d h``) and then ONE GEMM for the recurrent weight's gradient over all
steps; the input side (``d gx``) is the stacked per-step gate gradients, so the input projection's
own node turns it into ``d x``, ``d W_ih`` and ``d b`` with one GEMM each. When a second derivative is
asked for (grad mode on inside backward: ``create_graph=True``), the derivative recomputes the
sequence with the per-step ember ops and differentiates that graph, so double backward stays exact.
"""
import ember
from ember.nn import _rnn
from ember.ops.dispatch import primitive


@primitive("MkldnnRnnLayerBackward0", save=(0, 1, 2, 3))
def lstm_seq(ctx, xp, gx, h0, c0, w_hh, reverse=False):
    """``gx`` ``(T, B, 4H)``: every step's input pre-activations (bias included); ``h0``, ``c0``
    ``(B, H)``; ``w_hh`` ``(4H, H)``. Returns the outputs ``(T, B, H)`` and the final ``h``, ``c``.
    ``reverse`` runs the steps from the last to the first (the backward direction of a BiLSTM)."""
    steps, batch, hidden = gx.shape[0], gx.shape[1], h0.shape[-1]
    dtype = gx.dtype
    act = xp.empty((steps, batch, 4 * hidden), dtype=dtype)
    c_prev = xp.empty((steps, batch, hidden), dtype=dtype)  # the cell entering each step
    tanh_c = xp.empty((steps, batch, hidden), dtype=dtype)  # tanh of the cell leaving each step
    h_prev = xp.empty((steps, batch, hidden), dtype=dtype)  # the hidden state entering each step
    ys = xp.empty((steps, batch, hidden), dtype=dtype)
    h, c = h0, c0
    for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
        a = act[t]
        h_prev[t] = h
        c_prev[t] = c
        xp.add(gx[t], xp.matmul(w_hh, h.T).T, out=a)  # (w h^T)^T: the small batch as BLAS's last dim
        g_block = xp.tanh(a[:, 2 * hidden:3 * hidden])
        a *= 0.5  # sigmoid(x) = (1 + tanh(x / 2)) / 2: no overflow for large |x|
        xp.tanh(a, out=a)
        a += 1
        a *= 0.5
        a[:, 2 * hidden:3 * hidden] = g_block
        i, f, o = a[:, :hidden], a[:, hidden:2 * hidden], a[:, 3 * hidden:]
        c = f * c
        c += i * g_block
        tc = xp.tanh(c, out=tanh_c[t])
        h = xp.multiply(o, tc, out=ys[t])
    ctx.arrays = (act, c_prev, tanh_c, h_prev)
    ctx.reverse = reverse
    return ys, h.copy(), c.copy() if c is c0 else c


@primitive("MkldnnRnnLayerBackward0")
def _lstm_seq_grad(ctx, xp, g_ys, g_h, g_c, w_hh, arrays=None, reverse=False, need_w=True):
    """Backpropagation through time on arrays: ``(d gx, d h0, d c0, d w_hh)``."""
    act, c_prev, tanh_c, h_prev = arrays
    steps, batch, hidden = c_prev.shape
    d_gates = xp.empty_like(act)
    dh = xp.zeros((batch, hidden), dtype=act.dtype) + g_h
    dc = xp.zeros((batch, hidden), dtype=act.dtype) + g_c
    slope = xp.empty((batch, 4 * hidden), dtype=act.dtype)
    for t in (range(steps) if reverse else range(steps - 1, -1, -1)):
        a, d = act[t], d_gates[t]
        i, f, g, o = (a[:, k * hidden:(k + 1) * hidden] for k in range(4))
        d_i, d_f, d_g, d_o = (d[:, k * hidden:(k + 1) * hidden] for k in range(4))
        if g_ys is not None:
            dh += g_ys[t]
        tc = tanh_c[t]
        xp.multiply(dh, tc, out=d_o)
        dc_total = xp.multiply(tc, tc)  # dh * o * (1 - tanh(c)^2) + dc
        xp.subtract(1, dc_total, out=dc_total)
        dc_total *= dh
        dc_total *= o
        dc_total += dc
        xp.multiply(dc_total, g, out=d_i)
        xp.multiply(dc_total, c_prev[t], out=d_f)
        xp.multiply(dc_total, i, out=d_g)
        xp.subtract(1, a, out=slope)  # sigmoid' = y (1 - y); the g block gets tanh' = 1 - g^2
        slope *= a
        slope_g = slope[:, 2 * hidden:3 * hidden]
        xp.multiply(g, g, out=slope_g)
        xp.subtract(1, slope_g, out=slope_g)
        d *= slope
        dc = xp.multiply(dc_total, f, out=dc_total)
        dh = xp.matmul(w_hh.T, d.T).T  # (w^T d^T)^T: the small batch as BLAS's last dim
    d_w = xp.matmul(d_gates.reshape(-1, 4 * hidden).T, h_prev.reshape(-1, hidden)) if need_w else xp.zeros(())
    return d_gates, dh, dc, d_w


def _recompute_grads(ctx, grads):
    """Double-backward path: rebuild the sequence from the saved inputs with the per-step ember ops
    and differentiate it with a graph."""
    inputs = ctx.saved_tensors
    need = ctx.needs_input_grad
    # aliases of the inputs, so that the inner grad stops at them and leaves the outer graph alone
    alias = [x.view_as(x) if n else x for x, n in zip(inputs, need)]
    gx, h, c, w_hh = alias
    steps = gx.shape[0]
    ys = [None] * steps
    for t in (range(steps - 1, -1, -1) if ctx.reverse else range(steps)):
        h, c, _ = _rnn._lstm_cell(gx[t] + h.mm(w_hh.t()), c)
        ys[t] = h
    outs = [ember.stack(ys), h, c]
    pairs = [(o, g) for o, g in zip(outs, grads) if g is not None]
    wanted = [a for a, n in zip(alias, need) if n]
    got = iter(ember.autograd.grad([o for o, _ in pairs], wanted, [g for _, g in pairs], create_graph=True,
                                   allow_unused=True, materialize_grads=True))
    return tuple(next(got) if n else None for n in need)


@lstm_seq.derivative
def _(ctx, g_ys, g_h, g_c):
    if ember.is_grad_enabled():
        return _recompute_grads(ctx, (g_ys, g_h, g_c))
    gx, _, _, w_hh = ctx.saved_tensors
    need_gx, need_h, need_c, need_w = ctx.needs_input_grad
    d_gx, dh, dc, d_w = _lstm_seq_grad(g_ys, 0 if g_h is None else g_h, 0 if g_c is None else g_c, w_hh,
                                       arrays=ctx.arrays, reverse=ctx.reverse, need_w=need_w)
    return d_gx if need_gx else None, dh if need_h else None, dc if need_c else None, d_w if need_w else None
