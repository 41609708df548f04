"""Recurrent cell math and the time loop shared by nn.RNN / LSTM / GRU and their cells.

A layer computes the input projection ``x @ W_ih^T + b`` for every time step in one GEMM,
then per step does one fused GEMM of the hidden state with the stacked gate weights (plus, for the
LSTM, one fused primitive for the cell's pointwise math).
Gradients come from autograd through ember ops.
"""
import ember
from ember.ops.dispatch import primitive


@primitive("AddmmBackward0", save=(1, 2))
def _hidden_mm(ctx, xp, c, h, w):
    """``c + h @ w^T`` for the per-step hidden projection. BLAS runs ``(w @ h^T)^T`` (the small batch as the
    GEMM's last dim) about 1.5x faster than ``h @ w^T`` with w stored row-major."""
    return c + xp.matmul(w, h.T).T


@_hidden_mm.derivative
def _(ctx, g):
    h, w = ctx.saved_tensors
    need_c, need_h, need_w = ctx.needs_input_grad
    return g if need_c else None, g.mm(w) if need_h else None, g.t().mm(h) if need_w else None


def _sigmoid(xp, x):
    return 1 / (1 + xp.exp(-x))


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


@_lstm_cell.derivative
def _(ctx, gh, gc, gact):
    c, _, c_new, act = ctx.saved_tensors
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
    h = ember.tanh(_hidden_mm(gx, state[0], p.w_hh))
    return h, (h,)


def rnn_relu_step(gx, state, p):
    h = ember.relu(_hidden_mm(gx, state[0], p.w_hh))
    return h, (h,)


def lstm_step(gx, state, p):
    h, c, _ = _lstm_cell(_hidden_mm(gx, state[0], p.w_hh), state[1])
    if p.w_hr_t is not None:
        h = h.mm(p.w_hr_t)
    return h, (h, c)


def gru_step(gx, state, p):
    (h,) = state
    gh = _hidden_mm(0 if p.b_hh is None else p.b_hh, h, p.w_hh)
    hidden = h.shape[-1]
    x_rz, x_n = gx.split([2 * hidden, hidden], 1)
    h_rz, h_n = gh.split([2 * hidden, hidden], 1)
    r, z = ember.sigmoid(x_rz + h_rz).chunk(2, 1)
    n = ember.tanh(x_n + r * h_n)
    h = n + z * (h - n)
    return h, (h,)


STEPS = {"RNN_TANH": rnn_tanh_step, "RNN_RELU": rnn_relu_step, "LSTM": lstm_step, "GRU": gru_step}


class DirectionParams:
    """The weights of one layer and direction, pre-transposed for the per-step matmuls."""
    __slots__ = ("w_ih", "in_bias", "w_hh", "b_hh", "w_hr_t")

    def __init__(self, mode, w_ih, w_hh, b_ih, b_hh, w_hr):
        self.w_ih = w_ih
        self.w_hh = w_hh
        self.w_hr_t = None if w_hr is None else w_hr.t()
        if mode == "GRU":  # the hidden bias sits inside r * (h W_hn^T + b_hn): it stays in the step
            self.in_bias, self.b_hh = b_ih, b_hh
        else:
            self.in_bias, self.b_hh = (None if b_ih is None else b_ih + b_hh), None


def cell_forward(mode, input, state, w_ih, w_hh, b_ih, b_hh):
    """One step of an RNNCell / LSTMCell / GRUCell on a ``(B, input_size)`` input."""
    if mode == "LSTM":  # composed ops, so h's grad_fn is torch's MulBackward0
        h, c = state
        gates = ember.nn.functional.linear(input, w_ih, b_ih) + ember.nn.functional.linear(h, w_hh, b_hh)
        i, f, g, o = gates.chunk(4, 1)
        c = ember.sigmoid(f) * c + ember.sigmoid(i) * ember.tanh(g)
        return ember.sigmoid(o) * ember.tanh(c), c
    p = DirectionParams(mode, w_ih, w_hh, b_ih, b_hh, None)
    gx = ember.nn.functional.linear(input, w_ih, p.in_bias)
    return STEPS[mode](gx, state, p)[1]


def _scan(step, xs, state, p, batch_sizes, reverse):
    """Run ``step`` over the time steps ``xs``; with ``batch_sizes`` (a packed sequence) the batch
    shrinks over time. Returns the per-step outputs in time order and the final state."""
    n = len(xs)
    outs = [None] * n
    if batch_sizes is None:
        for t in (range(n - 1, -1, -1) if reverse else range(n)):
            outs[t], state = step(xs[t], state, p)
        return outs, state
    if reverse:  # the batch grows: sequences join from their initial state
        full, state = state, tuple(s[:batch_sizes[-1]] for s in state)
        for t in range(n - 1, -1, -1):
            b, have = batch_sizes[t], state[0].shape[0]
            if b > have:
                state = tuple(ember.cat([s, f[have:b]]) for s, f in zip(state, full))
            outs[t], state = step(xs[t], state, p)
        return outs, state
    finished = []  # the final states of sequences that ended, latest first
    for t in range(n):
        b = batch_sizes[t]
        if b < state[0].shape[0]:
            finished.insert(0, tuple(s[b:] for s in state))
            state = tuple(s[:b] for s in state)
        outs[t], state = step(xs[t], state, p)
    if finished:
        state = tuple(ember.cat([s] + [f[i] for f in finished]) for i, s in enumerate(state))
    return outs, state


def _dropout(x, p):
    if p == 1:
        return x * 0
    keep = ember.bernoulli(ember.full_like(x, 1 - p))
    return x * (keep / (1 - p))


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
            gx = ember.nn.functional.linear(x, p.w_ih, p.in_bias)  # all time steps in one GEMM
            xs = gx.split(steps)
            ys, state = _scan(step, xs, tuple(s[k] for s in hx), p, batch_sizes, reverse=d == 1)
            outs.append(ember.cat(ys))
            finals.append(state)
        x = outs[0] if dirs == 1 else ember.cat(outs, -1)
        if dropout and training and layer < num_layers - 1:
            x = _dropout(x, dropout)
    if batch_sizes is None:
        x = x.reshape(*time_batch, x.shape[-1])
    return x, tuple(ember.stack([f[i] for f in finals]) for i in range(len(hx)))
