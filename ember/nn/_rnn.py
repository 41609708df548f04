"""Recurrent cell math and the time loop shared by nn.RNN / LSTM / GRU and their cells.

A layer computes the input projection ``x @ W_ih^T + b`` for every time step in one GEMM,
then per step does one fused GEMM of the hidden state with the stacked gate weights (plus, for the
LSTM and the GRU, one fused primitive for the cell's pointwise math).
Gradients come from autograd through ember ops.
"""
import ember
from ember.ops.dispatch import primitive


@primitive("AddmmBackward0", save=(1, 2))
def _hidden_mm(ctx, xp, c, h, w, graph_w=None):
    """``c + h @ w^T`` for the per-step hidden projection. BLAS runs ``(w @ h^T)^T`` (the small batch as the
    GEMM's last dim) about 1.5x faster than ``h @ w^T`` with w stored row-major. ``graph_w``: the
    undetached weight when ``w`` is its detached copy, so that ``d h`` stays differentiable in ``w``."""
    ctx.graph_w = graph_w
    return c + xp.matmul(w, h.T).T


@_hidden_mm.derivative
def _(ctx, g):
    h, w = ctx.saved_tensors
    need_c, need_h, need_w = ctx.needs_input_grad
    if ctx.graph_w is not None:
        w = ctx.graph_w
    # d h as (w^T g^T)^T: the small batch as BLAS's last dim again (0.116 vs 0.143 ms at 32x1024 @ 1024x256)
    return g if need_c else None, w.t().mm(g.t()).t() if need_h else None, g.t().mm(h) if need_w else None


def _sigmoid(xp, x):
    """sigmoid(x) = (1 + tanh(x / 2)) / 2: no overflow in exp for large |x|."""
    y = xp.tanh(x * 0.5)
    y += 1
    y *= 0.5
    return y


@primitive("LstmCellBackward0", save=(1,), save_output=True)
def _lstm_cell(ctx, xp, gates, c):
    """One LSTM cell's pointwise math in one pass: pre-activations ``(B, 4H)`` (order i, f, g, o) and the
    previous cell ``c`` give ``(h, c', act)``; ``act`` holds the gate activations (saved for backward)."""
    hidden = c.shape[-1]
    act = _sigmoid(xp, gates)
    act[:, 2 * hidden:3 * hidden] = xp.tanh(gates[:, 2 * hidden:3 * hidden])
    i, f, g, o = (act[:, k * hidden:(k + 1) * hidden] for k in range(4))
    c_new = f * c + i * g
    return o * xp.tanh(c_new), c_new, act


@primitive("LstmCellBackward0")
def _lstm_cell_grad(ctx, xp, gh, gc, c, c_new, act):
    """The cell's backward on arrays (no graph: used when no double backward is asked for); written into
    preallocated blocks in place (47 vs 55 us per 32x256 step than with temporaries)."""
    hidden = c.shape[-1]
    i, f, g, o = (act[:, k * hidden:(k + 1) * hidden] for k in range(4))
    d = xp.empty_like(act)
    d_i, d_f, d_g, d_o = (d[:, k * hidden:(k + 1) * hidden] for k in range(4))
    tc = xp.tanh(c_new)
    xp.multiply(gh, tc, out=d_o)
    gc_total = xp.multiply(tc, tc, out=tc)  # gh * o * (1 - tanh(c')^2) + gc
    xp.subtract(1, gc_total, out=gc_total)
    gc_total *= gh
    gc_total *= o
    gc_total += gc
    xp.multiply(gc_total, g, out=d_i)
    xp.multiply(gc_total, c, out=d_f)
    xp.multiply(gc_total, i, out=d_g)
    slope = xp.subtract(1, act)  # sigmoid' = y (1 - y); the g block gets tanh' = 1 - g^2
    slope *= act
    slope_g = slope[:, 2 * hidden:3 * hidden]
    xp.multiply(g, g, out=slope_g)
    xp.subtract(1, slope_g, out=slope_g)
    d *= slope
    return d, gc_total * f


@_lstm_cell.derivative
def _(ctx, gh, gc, gact):
    c, _, c_new, act = ctx.saved_tensors
    if gact is None and not ember.is_grad_enabled():
        return _lstm_cell_grad(0 if gh is None else gh, 0 if gc is None else gc, c, c_new, act)
    hidden = c.shape[-1]
    i, f, g, o = act.chunk(4, 1)
    tc = ember.tanh(c_new)
    if gh is None:
        gh = ember.zeros_like(c)
    gc_total = gh * o * (1 - tc * tc)
    if gc is not None:
        gc_total = gc_total + gc
    d_act = ember.cat([gc_total * g, gc_total * c, gc_total * i, gh * tc], 1)
    if gact is not None:
        d_act = d_act + gact
    # sigmoid' = (1 - y) * y and tanh' = (1 - y) * (1 + y): one product with a 0/1 offset on the g gate
    offset = ember.zeros(4 * hidden, dtype=act.dtype, device=act.device)
    offset[2 * hidden:3 * hidden] = 1
    return d_act * ((1 - act) * (act + offset)), gc_total * f


# one time step per mode: step(gx, state, p) -> (output, new_state); gx already holds x @ W_ih^T + bias

def rnn_tanh_step(gx, state, p):
    h = ember.tanh(_hidden_mm(gx, state[0], p.w_hh_step, graph_w=p.w_hh))
    return h, (h,)


def rnn_relu_step(gx, state, p):
    h = ember.relu(_hidden_mm(gx, state[0], p.w_hh_step, graph_w=p.w_hh))
    return h, (h,)


def lstm_step(gx, state, p):
    h, c, _ = _lstm_cell(_hidden_mm(gx, state[0], p.w_hh_step, graph_w=p.w_hh), state[1])
    if p.w_hr_t is not None:
        h = h.mm(p.w_hr_t)
    return h, (h, c)


@primitive("GruCellBackward0", save=(1, 2), save_output=True)
def _gru_cell(ctx, xp, gx, gh, h):
    """One GRU cell's pointwise math in one pass from the input part ``gx`` and hidden part ``gh`` (each
    ``(B, 3H)``, order r, z, n, biases included): returns ``(h', [r, z], n)``."""
    hidden = h.shape[-1]
    rz = _sigmoid(xp, gx[:, :2 * hidden] + gh[:, :2 * hidden])
    n = xp.tanh(gx[:, 2 * hidden:] + rz[:, :hidden] * gh[:, 2 * hidden:])
    return n + rz[:, hidden:] * (h - n), rz, n


def _gru_cell_grads(cat, g, g_rz, g_n, gh, h, rz, n):
    """(d gx, d gh, d h) from the gradients of (h', rz, n) (``g_rz`` / ``g_n`` may be None: they only
    arrive in double backward); plain arithmetic, so it runs on arrays or on tensors."""
    hidden = h.shape[-1]
    r, z, h_n = rz[:, :hidden], rz[:, hidden:], gh[:, 2 * hidden:]
    d_n = g * (1 - z)
    if g_n is not None:
        d_n = d_n + g_n
    d_pre_n = d_n * (1 - n * n)
    d_rz = cat([d_pre_n * h_n, g * (h - n)])
    if g_rz is not None:
        d_rz = d_rz + g_rz
    d_rz = d_rz * rz * (1 - rz)
    return cat([d_rz, d_pre_n]), cat([d_rz, d_pre_n * r]), g * z


@primitive("GruCellBackward0")
def _gru_cell_grad(ctx, xp, g, gh, h, rz, n):
    """The cell's backward on arrays (no graph: used when no double backward is asked for)."""
    return _gru_cell_grads(lambda parts: xp.concatenate(parts, 1), g, None, None, gh, h, rz, n)


@_gru_cell.derivative
def _(ctx, g, g_rz, g_n):
    gh, h, _, rz, n = ctx.saved_tensors
    if g_rz is None and g_n is None and not ember.is_grad_enabled():
        return _gru_cell_grad(g, gh, h, rz, n)
    if g is None:
        g = ember.zeros_like(h)
    return _gru_cell_grads(lambda parts: ember.cat(parts, 1), g, g_rz, g_n, gh, h, rz, n)


def gru_step(gx, state, p):
    (h,) = state
    gh = _hidden_mm(0 if p.b_hh is None else p.b_hh, h, p.w_hh)
    h, _, _ = _gru_cell(gx, gh, h)
    return h, (h,)


STEPS = {"RNN_TANH": rnn_tanh_step, "RNN_RELU": rnn_relu_step, "LSTM": lstm_step, "GRU": gru_step}


class DirectionParams:
    """The weights of one layer and direction, pre-transposed for the per-step matmuls."""
    __slots__ = ("mode", "w_ih", "in_bias", "w_hh", "w_hh_step", "b_hh", "w_hr_t")

    def __init__(self, mode, w_ih, w_hh, b_ih, b_hh, w_hr):
        self.w_ih = w_ih
        self.mode, self.w_hh, self.w_hh_step = mode, w_hh, w_hh
        self.w_hr_t = None if w_hr is None else w_hr.t()
        if mode == "GRU":  # the hidden bias sits inside r * (h W_hn^T + b_hn): it stays in the step
            self.in_bias, self.b_hh = b_ih, b_hh
        else:
            self.in_bias, self.b_hh = (None if b_ih is None else b_ih + b_hh), None


def cell_forward(mode, input, state, w_ih, w_hh, b_ih, b_hh):
    """One step of an RNNCell / LSTMCell / GRUCell on a ``(B, input_size)`` input."""
    if mode == "LSTM":  # composed ops (here and for the GRU), so h's grad_fn is torch's
        h, c = state
        gates = ember.nn.functional.linear(input, w_ih, b_ih) + ember.nn.functional.linear(h, w_hh, b_hh)
        i, f, g, o = gates.chunk(4, 1)
        c = ember.sigmoid(f) * c + ember.sigmoid(i) * ember.tanh(g)
        return ember.sigmoid(o) * ember.tanh(c), c
    if mode == "GRU":
        (h,) = state
        hidden = h.shape[-1]
        x_rz, x_n = ember.nn.functional.linear(input, w_ih, b_ih).split([2 * hidden, hidden], 1)
        h_rz, h_n = ember.nn.functional.linear(h, w_hh, b_hh).split([2 * hidden, hidden], 1)
        r, z = ember.sigmoid(x_rz + h_rz).chunk(2, 1)
        n = ember.tanh(x_n + r * h_n)
        return (n + z * (h - n),)
    p = DirectionParams(mode, w_ih, w_hh, b_ih, b_hh, None)
    gx = ember.nn.functional.linear(input, w_ih, p.in_bias)
    return STEPS[mode](gx, state, p)[1]


def _scan(step, xs, state, p, batch_sizes, reverse):
    """Run ``step`` over the time steps ``xs``; with ``batch_sizes`` (a packed sequence) the batch
    shrinks over time. Returns the per-step outputs and the hidden states entering each step (both in
    time order) and the final state."""
    n = len(xs)
    outs, h_in = [None] * n, [None] * n
    if batch_sizes is None:
        for t in (range(n - 1, -1, -1) if reverse else range(n)):
            h_in[t] = state[0]
            outs[t], state = step(xs[t], state, p)
        return outs, h_in, state
    if reverse:  # the batch grows: sequences join from their initial state
        full, state = state, tuple(s[:batch_sizes[-1]] for s in state)
        for t in range(n - 1, -1, -1):
            b, have = batch_sizes[t], state[0].shape[0]
            if b > have:
                state = tuple(ember.cat([s, f[have:b]]) for s, f in zip(state, full))
            h_in[t] = state[0]
            outs[t], state = step(xs[t], state, p)
        return outs, h_in, state
    finished = []  # the final states of sequences that ended, latest first
    for t in range(n):
        b = batch_sizes[t]
        if b < state[0].shape[0]:
            finished.insert(0, tuple(s[b:] for s in state))
            state = tuple(s[:b] for s in state)
        h_in[t] = state[0]
        outs[t], state = step(xs[t], state, p)
    if finished:
        state = tuple(ember.cat([s] + [f[i] for f in finished]) for i, s in enumerate(state))
    return outs, h_in, state


@primitive("AddmmBackward0", save=(0, 1))
def _proj_with_recurrent_grad(ctx, xp, x, w_ih, bias, w_hh, h_prev):
    """``x @ w_ih^T + bias`` for all time steps. Its backward also produces the recurrent weight's
    gradient as ONE GEMM, ``d_gates^T @ H_prev`` (the gradient reaching these pre-activations is the
    gradient of every step's gates), instead of one small GEMM and one accumulation per step.
    ``h_prev`` is a list the layer fills after its loop with the hidden states entering each step."""
    ctx.h_prev = h_prev
    return xp.matmul(x, w_ih.T) + bias


@_proj_with_recurrent_grad.derivative
def _(ctx, g):
    x, w_ih = ctx.saved_tensors
    need_x, need_w_ih, need_bias, need_w_hh = ctx.needs_input_grad
    return (g.mm(w_ih) if need_x else None, g.t().mm(x) if need_w_ih else None, g if need_bias else None,
            g.t().mm(ctx.h_prev[0]) if need_w_hh else None)


def _input_projection(x, p, h_prev):
    """The input projection of every step; for RNN and LSTM (whose per-step GEMM adds onto exactly
    these pre-activations) it takes over the recurrent weight's gradient, and the steps use a detached
    ``w_hh``. GRU's hidden GEMM feeds ``r * (...)``, so it keeps the per-step weight gradient."""
    if p.mode == "GRU" or not p.w_hh.requires_grad:
        return ember.nn.functional.linear(x, p.w_ih, p.in_bias)
    p.w_hh_step = p.w_hh.detach()
    return _proj_with_recurrent_grad(x, p.w_ih, 0 if p.in_bias is None else p.in_bias, p.w_hh, h_prev=h_prev)


def _dropout(x, p):
    if p == 1:
        return x * 0
    keep = ember.bernoulli(ember.full_like(x, 1 - p))
    return x * (keep / (1 - p))


from ember.nn._rnn_fused import lstm_seq  # noqa: E402  (it uses this module's cell for double backward)
from ember.nn._gru_fused import gru_seq  # noqa: E402


def rnn_forward(mode, x, batch_sizes, hx, params, num_layers, bidirectional, dropout, training):
    """Multi-layer recurrence. ``x`` is ``(T, B, I)`` or, with ``batch_sizes``, packed ``(N, I)`` data;
    ``hx`` is a tuple of ``(L * D, B, H)`` states; ``params`` the DirectionParams of each layer and
    direction in torch's order. Returns the last layer's output and the tuple of final states."""
    step = STEPS[mode]
    dirs = 2 if bidirectional else 1
    finals = []
    time_batch = x.shape[:2]
    steps = x.shape[1] if batch_sizes is None else batch_sizes  # rows of the (N, I) data per time step
    x = x.reshape(-1, x.shape[-1]) if batch_sizes is None else x
    for layer in range(num_layers):
        outs = []
        for d in range(dirs):
            k = layer * dirs + d
            p = params[k]
            if mode == "LSTM" and batch_sizes is None and p.w_hr_t is None:  # the whole sequence as one node
                bias = 0 if p.in_bias is None else p.in_bias
                ys, *state = lstm_seq(x, p.w_ih, bias, hx[0][k], hx[1][k], p.w_hh, reverse=d == 1)
                y = ys.reshape(-1, ys.shape[-1])
            elif mode == "GRU" and batch_sizes is None:
                ys, *state = gru_seq(x, p.w_ih, 0 if p.in_bias is None else p.in_bias, hx[0][k], p.w_hh,
                                     0 if p.b_hh is None else p.b_hh, reverse=d == 1)
                y = ys.reshape(-1, ys.shape[-1])
            else:
                h_prev = []
                gx = _input_projection(x, p, h_prev)  # all time steps in one GEMM
                ys, h_in, state = _scan(step, gx.split(steps), tuple(s[k] for s in hx), p, batch_sizes,
                                        reverse=d == 1)
                h_prev.append(ember.cat(h_in))
                y = ember.cat(ys)
            outs.append(y)
            finals.append(state)
        x = outs[0] if dirs == 1 else ember.cat(outs, -1)
        if dropout and training and layer < num_layers - 1:
            x = _dropout(x, dropout)
    if batch_sizes is None:
        x = x.reshape(*time_batch, x.shape[-1])
    return x, tuple(ember.stack([f[i] for f in finals]) for i in range(len(hx)))
