"""Recurrent cell math and the time loop shared by nn.RNN / LSTM / GRU and their cells.

A layer computes the input projection ``x @ W_ih^T + b`` for every time step in one GEMM,
then per step does one fused ``addmm`` of the hidden state with the stacked gate weights.
Gradients come from autograd through ember ops.
"""
import ember
from ember.ops.dispatch import primitive


@primitive("LstmGatesBackward0", save_output=True)
def _lstm_gates(ctx, xp, gates, hidden):
    """sigmoid on the i, f, o gates and tanh on the g gate of ``(B, 4H)`` pre-activations, in one pass."""
    out = xp.empty_like(gates)
    out[:, :2 * hidden] = 1 / (1 + xp.exp(-gates[:, :2 * hidden]))
    out[:, 3 * hidden:] = 1 / (1 + xp.exp(-gates[:, 3 * hidden:]))
    xp.tanh(gates[:, 2 * hidden:3 * hidden], out=out[:, 2 * hidden:3 * hidden])
    ctx.hidden = hidden
    return out


@_lstm_gates.derivative
def _(ctx, g):
    (y,) = ctx.saved_tensors
    h = ctx.hidden
    # sigmoid' = (1 - y) * y and tanh' = (1 - y) * (1 + y): one product with a 0/1 offset on the g gate
    offset = ember.zeros(4 * h, dtype=y.dtype, device=y.device)
    offset[2 * h:3 * h] = 1
    return g * ((1 - y) * (y + offset))


def lstm_gates(gates):
    """The LSTM gate activations of ``(B, 4H)`` pre-activations, in torch's order i, f, g, o."""
    return _lstm_gates(gates, hidden=gates.shape[-1] // 4)


# one time step per mode: step(gx, state, p) -> (output, new_state); gx already holds x @ W_ih^T + bias

def rnn_tanh_step(gx, state, p):
    h = ember.tanh(ember.addmm(gx, state[0], p.w_hh_t))
    return h, (h,)


def rnn_relu_step(gx, state, p):
    h = ember.relu(ember.addmm(gx, state[0], p.w_hh_t))
    return h, (h,)


def lstm_step(gx, state, p):
    h, c = state
    i, f, g, o = lstm_gates(ember.addmm(gx, h, p.w_hh_t)).chunk(4, 1)
    c = f * c + i * g
    h = o * ember.tanh(c)
    if p.w_hr_t is not None:
        h = h.mm(p.w_hr_t)
    return h, (h, c)


def gru_step(gx, state, p):
    (h,) = state
    gh = ember.mm(h, p.w_hh_t) if p.b_hh is None else ember.addmm(p.b_hh, h, p.w_hh_t)
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
    __slots__ = ("w_ih", "in_bias", "w_hh_t", "b_hh", "w_hr_t")

    def __init__(self, mode, w_ih, w_hh, b_ih, b_hh, w_hr):
        self.w_ih = w_ih
        self.w_hh_t = w_hh.t()
        self.w_hr_t = None if w_hr is None else w_hr.t()
        if mode == "GRU":  # the hidden bias sits inside r * (h W_hn^T + b_hn): it stays in the step
            self.in_bias, self.b_hh = b_ih, b_hh
        else:
            self.in_bias, self.b_hh = (None if b_ih is None else b_ih + b_hh), None


def cell_forward(mode, input, state, w_ih, w_hh, b_ih, b_hh):
    """One step of an RNNCell / LSTMCell / GRUCell on a ``(B, input_size)`` input."""
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
    for layer in range(num_layers):
        outs = []
        for d in range(dirs):
            k = layer * dirs + d
            p = params[k]
            gx = ember.nn.functional.linear(x, p.w_ih, p.in_bias)
            xs = gx.unbind(0) if batch_sizes is None else gx.split(batch_sizes)
            ys, state = _scan(step, xs, tuple(s[k] for s in hx), p, batch_sizes, reverse=d == 1)
            outs.append(ember.stack(ys) if batch_sizes is None else ember.cat(ys))
            finals.append(state)
        x = outs[0] if dirs == 1 else ember.cat(outs, -1)
        if dropout and training and layer < num_layers - 1:
            x = _dropout(x, dropout)
    return x, tuple(ember.stack([f[i] for f in finals]) for i in range(len(hx)))
