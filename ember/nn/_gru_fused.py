"""One GRU layer direction over the whole sequence as ONE autograd node (see ``_rnn_fused`` for the LSTM).

Transposed ``(3H, B)`` layout; the forward keeps ``[r, z]``, ``n`` and the hidden part of ``n``'s
pre-activation per step; the first-order backward runs BPTT on arrays and ends with one GEMM each for
``d W_hh``, ``d W_ih`` and ``d x``. With ``create_graph=True`` it recomputes through the per-step ember ops.
"""
import ember
from ember.nn import _rnn
from ember.nn._rnn_fused import (
    _bias_or_none, _column, _recompute, _recurrent_weight_grad, _step_inputs, gate_columns, input_preactivations,
)
from ember.ops.dispatch import primitive


@primitive("StackBackward0", save=(0, 1, 2, 3, 4, 5))
def gru_seq(ctx, xp, x, w_ih, b_ih, h0, w_hh, b_hh, reverse=False):
    """``x`` ``(T * B, I)`` time-major; ``w_ih`` ``(3H, I)``, ``w_hh`` ``(3H, H)``, biases ``(3H,)`` or 0;
    ``h0`` ``(B, H)``. Returns the outputs ``(T, B, H)`` and the final ``h``."""
    batch, hidden = h0.shape
    steps = x.shape[0] // batch if batch else 0
    dtype = x.dtype
    gx = input_preactivations(xp, w_ih, x, steps, batch)
    gx += _column(xp, b_ih)
    b_hh = _column(xp, b_hh)
    rz_all = xp.empty((steps, 2 * hidden, batch), dtype=dtype)
    n_all = xp.empty((steps, hidden, batch), dtype=dtype)
    hn_all = xp.empty((steps, hidden, batch), dtype=dtype)  # h W_hn^T + b_hn, the part r scales
    ys = xp.empty((steps, batch, hidden), dtype=dtype)
    gh = xp.empty((3 * hidden, batch), dtype=dtype)
    h = h0.T
    for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
        rz, n = rz_all[t], n_all[t]
        xp.matmul(w_hh, h, out=gh)
        gh += b_hh
        xp.add(gx[t, :2 * hidden], gh[:2 * hidden], out=rz)
        rz *= 0.5  # sigmoid(x) = (1 + tanh(x / 2)) / 2
        xp.tanh(rz, out=rz)
        rz *= 0.5
        rz += 0.5
        hn_all[t] = gh[2 * hidden:]
        xp.multiply(rz[:hidden], gh[2 * hidden:], out=n)
        n += gx[t, 2 * hidden:]
        xp.tanh(n, out=n)
        new = xp.subtract(h, n)  # h' = n + z (h - n)
        new *= rz[hidden:]
        h = ys[t].T
        xp.add(new, n, out=h)
    ctx.arrays = (rz_all, n_all, hn_all, ys.copy())  # a private copy: torch lets the output be edited in place
    ctx.reverse = reverse
    return ys, h.T.copy()


@primitive("StackBackward0")
def _gru_seq_grad(ctx, xp, g_ys, g_h, x, w_ih, w_hh, h0, arrays=None, reverse=False, need=None):
    """Backpropagation through time on arrays: ``(d x, d w_ih, d b_ih, d h0, d w_hh, d b_hh)``; the
    gradients not in ``need`` come back as 0-d zeros."""
    rz_all, n_all, hn_all, ys = arrays
    steps, hidden, batch = n_all.shape
    back = 1 if reverse else -1  # the step that ran just before step t
    d_gx_steps = xp.empty((steps, 3 * hidden, batch), dtype=n_all.dtype)  # written a step at a time, in place
    d_gh_steps = xp.empty((steps, 3 * hidden, batch), dtype=n_all.dtype)
    dh = xp.zeros((hidden, batch), dtype=n_all.dtype) + getattr(g_h, "T", g_h)
    for t in (range(steps) if reverse else range(steps - 1, -1, -1)):
        d_gx, d_gh, rz, n = d_gx_steps[t], d_gh_steps[t], rz_all[t], n_all[t]
        r, z = rz[:hidden], rz[hidden:]
        if g_ys is not None:
            dh += g_ys[t].T
        h_prev = ys[t + back].T if 0 <= t + back < steps else h0.T
        d_pre_n = dh * (1 - z) * (1 - n * n)
        d_rz = d_gx[:2 * hidden]
        xp.multiply(d_pre_n, hn_all[t], out=d_rz[:hidden])
        xp.multiply(dh, h_prev - n, out=d_rz[hidden:])
        d_rz *= rz * (1 - rz)
        d_gx[2 * hidden:] = d_pre_n
        d_gh[:2 * hidden] = d_rz
        xp.multiply(d_pre_n, r, out=d_gh[2 * hidden:])
        dh = dh * z
        dh += xp.matmul(w_hh.T, d_gh)
    d_gx, d_gh = gate_columns(xp, d_gx_steps), gate_columns(xp, d_gh_steps)
    zero = xp.zeros((), dtype=n_all.dtype)
    need_x, need_w_ih, need_b_ih, need_h, need_w_hh, need_b_hh = need
    d_w_hh = _recurrent_weight_grad(xp, d_gh, h0, ys, reverse) if need_w_hh else zero
    return (xp.matmul(d_gx.T, w_ih) if need_x else zero, xp.matmul(d_gx, x) if need_w_ih else zero,
            d_gx.sum(1) if need_b_ih else zero, xp.ascontiguousarray(dh.T) if need_h else zero, d_w_hh,
            d_gh.sum(1) if need_b_hh else zero)


def _gru_steps(alias, reverse):
    x, w_ih, b_ih, h, w_hh, b_hh = alias
    gx = _step_inputs(x, w_ih, b_ih, h.shape[0])
    steps = gx.shape[0]
    ys = [None] * steps
    for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
        gh = ember.nn.functional.linear(h, w_hh, _bias_or_none(b_hh))
        h, _, _ = _rnn._gru_cell(gx[t], gh, h)
        ys[t] = h
    return [ember.stack(ys), h]


@gru_seq.derivative
def _(ctx, g_ys, g_h):
    if ember.is_grad_enabled():
        return _recompute(ctx, (g_ys, g_h), _gru_steps)
    x, w_ih, _, h0, w_hh, _ = ctx.saved_tensors
    need = ctx.needs_input_grad
    grads = _gru_seq_grad(g_ys, 0 if g_h is None else g_h, x, w_ih, w_hh, h0, arrays=ctx.arrays,
                          reverse=ctx.reverse, need=need)
    return tuple(g if n else None for g, n in zip(grads, need))
