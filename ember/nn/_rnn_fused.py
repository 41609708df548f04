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


@primitive("MkldnnRnnLayerBackward0", save=(0, 1, 2, 3, 4, 5))
def lstm_seq(ctx, xp, x, w_ih, bias, h0, c0, w_hh, reverse=False):
    """``x`` ``(T * B, I)``: the flattened time-major input; ``w_ih`` ``(4H, I)``; ``bias`` ``(4H,)`` (the
    sum of both biases, or 0); ``h0``, ``c0`` ``(B, H)``; ``w_hh`` ``(4H, H)``. Returns the outputs
    ``(T, B, H)`` and the final ``h``, ``c``; ``reverse`` runs the steps from the last to the first.
    Works in the transposed layout ``(4H, B)`` (the small batch last, as BLAS likes it), so every
    step's gate blocks are contiguous rows."""
    batch, hidden = h0.shape
    steps = x.shape[0] // batch if batch else 0
    dtype = x.dtype
    gx = xp.matmul(w_ih, x.T)  # (4H, T * B): all input pre-activations in one GEMM
    gx += xp.reshape(bias, (-1, 1)) if getattr(bias, "ndim", 0) else bias
    act = xp.empty((steps, 4 * hidden, batch), dtype=dtype)
    c_prev = xp.empty((steps, hidden, batch), dtype=dtype)  # the cell entering each step
    tanh_c = xp.empty((steps, hidden, batch), dtype=dtype)  # tanh of the cell leaving each step
    h_prev = xp.empty((hidden, steps * batch), dtype=dtype)  # the hidden state entering each step
    ys = xp.empty((steps, batch, hidden), dtype=dtype)
    h, c = h0.T, xp.ascontiguousarray(c0.T)
    for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
        a, cols = act[t], slice(t * batch, (t + 1) * batch)
        h_prev[:, cols] = h
        c_prev[t] = c
        xp.matmul(w_hh, h, out=a)
        a += gx[:, cols]
        g_block = xp.tanh(a[2 * hidden:3 * hidden])
        a *= 0.5  # sigmoid(x) = (1 + tanh(x / 2)) / 2: no overflow for large |x|
        xp.tanh(a, out=a)
        a += 1
        a *= 0.5
        a[2 * hidden:3 * hidden] = g_block
        i, f, o = a[:hidden], a[hidden:2 * hidden], a[3 * hidden:]
        c = f * c
        c += i * g_block
        tc = xp.tanh(c, out=tanh_c[t])
        h = ys[t].T
        xp.multiply(o, tc, out=h)
    ctx.arrays = (act, c_prev, tanh_c, h_prev)
    ctx.reverse = reverse
    return ys, xp.ascontiguousarray(h.T), xp.ascontiguousarray(c.T)


@primitive("MkldnnRnnLayerBackward0")
def _lstm_seq_grad(ctx, xp, g_ys, g_h, g_c, x, w_ih, w_hh, arrays=None, reverse=False, need=None):
    """Backpropagation through time on arrays: ``(d x, d w_ih, d bias, d h0, d c0, d w_hh)``; the
    gradients not in ``need`` come back as 0-d zeros."""
    act, c_prev, tanh_c, h_prev = arrays
    steps, hidden, batch = c_prev.shape
    d_gates = xp.empty((4 * hidden, steps * batch), dtype=act.dtype)
    dh = xp.zeros((hidden, batch), dtype=act.dtype) + getattr(g_h, "T", g_h)
    dc = xp.zeros((hidden, batch), dtype=act.dtype) + getattr(g_c, "T", g_c)
    d = xp.empty((4 * hidden, batch), dtype=act.dtype)
    slope = xp.empty((4 * hidden, batch), dtype=act.dtype)
    d_i, d_f, d_g, d_o = (d[k * hidden:(k + 1) * hidden] for k in range(4))
    for t in (range(steps) if reverse else range(steps - 1, -1, -1)):
        a = act[t]
        i, f, g, o = (a[k * hidden:(k + 1) * hidden] for k in range(4))
        if g_ys is not None:
            dh += g_ys[t].T
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
        slope_g = slope[2 * hidden:3 * hidden]
        xp.multiply(g, g, out=slope_g)
        xp.subtract(1, slope_g, out=slope_g)
        d *= slope
        d_gates[:, t * batch:(t + 1) * batch] = d
        dc = xp.multiply(dc_total, f, out=dc_total)
        dh = xp.matmul(w_hh.T, d)
    zero = xp.zeros((), dtype=act.dtype)
    need_x, need_w_ih, need_bias, need_h, need_c, need_w_hh = need
    return (xp.matmul(d_gates.T, w_ih) if need_x else zero, xp.matmul(d_gates, x) if need_w_ih else zero,
            d_gates.sum(1) if need_bias else zero, xp.ascontiguousarray(dh.T) if need_h else zero,
            xp.ascontiguousarray(dc.T) if need_c else zero, xp.matmul(d_gates, h_prev.T) if need_w_hh else zero)


def _recompute_grads(ctx, grads):
    """Double-backward path: rebuild the sequence from the saved inputs with the per-step ember ops
    and differentiate it with a graph."""
    inputs = ctx.saved_tensors
    need = ctx.needs_input_grad
    # aliases of the inputs, so that the inner grad stops at them and leaves the outer graph alone
    alias = [x.view_as(x) if n else x for x, n in zip(inputs, need)]
    x, w_ih, bias, h, c, w_hh = alias
    gx = ember.nn.functional.linear(x, w_ih, bias if isinstance(bias, ember.Tensor) else None)
    gx = gx.reshape(-1, h.shape[0], gx.shape[-1])
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
    x, w_ih, _, _, _, w_hh = ctx.saved_tensors
    need = ctx.needs_input_grad
    grads = _lstm_seq_grad(g_ys, 0 if g_h is None else g_h, 0 if g_c is None else g_c, x, w_ih, w_hh,
                           arrays=ctx.arrays, reverse=ctx.reverse, need=need)
    return tuple(g if n else None for g, n in zip(grads, need))
