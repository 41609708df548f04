"""The time loop shared by nn.RNN / LSTM / GRU and their cells, on the primitives of ``ember.ops.rnn``.

A layer computes the input projection ``x @ W_ih^T + b`` for every time step in one GEMM,
then per step does one fused GEMM of the hidden state with the stacked gate weights (plus, for the
LSTM and the GRU, one fused primitive for the cell's pointwise math). An LSTM without projection or a
GRU on unpacked input runs its whole sequence as one node (``ember.ops.rnn_seq``).
"""
from ember.creation import full_like
from ember.ops import join, unary
from ember.ops.linear import linear
from ember.ops.rnn import gru_cell, hidden_mm, lstm_cell, projection_with_recurrent_grad
from ember.ops.rnn_seq import gru_seq, lstm_seq
from ember.ops.random import bernoulli


# one time step per mode: step(gx, state, p) -> (output, new_state); gx already holds x @ W_ih^T + bias

def rnn_tanh_step(gx, state, p):
    h = unary.tanh(hidden_mm(gx, state[0], p.w_hh_step, graph_w=p.w_hh))
    return h, (h,)


def rnn_relu_step(gx, state, p):
    h = unary.relu(hidden_mm(gx, state[0], p.w_hh_step, graph_w=p.w_hh))
    return h, (h,)


def lstm_step(gx, state, p):
    h, c, _ = lstm_cell(hidden_mm(gx, state[0], p.w_hh_step, graph_w=p.w_hh), state[1])
    if p.w_hr_t is not None:
        h = h.mm(p.w_hr_t)
    return h, (h, c)


def gru_step(gx, state, p):
    (h,) = state
    gh = hidden_mm(0 if p.b_hh is None else p.b_hh, h, p.w_hh)
    h, _, _ = gru_cell(gx, gh, h)
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
        gates = linear(input, w_ih, b_ih) + linear(h, w_hh, b_hh)
        i, f, g, o = gates.chunk(4, 1)
        c = unary.sigmoid(f) * c + unary.sigmoid(i) * unary.tanh(g)
        return unary.sigmoid(o) * unary.tanh(c), c
    if mode == "GRU":
        (h,) = state
        hidden = h.shape[-1]
        x_rz, x_n = linear(input, w_ih, b_ih).split([2 * hidden, hidden], 1)
        h_rz, h_n = linear(h, w_hh, b_hh).split([2 * hidden, hidden], 1)
        r, z = unary.sigmoid(x_rz + h_rz).chunk(2, 1)
        n = unary.tanh(x_n + r * h_n)
        return (n + z * (h - n),)
    p = DirectionParams(mode, w_ih, w_hh, b_ih, b_hh, None)
    gx = linear(input, w_ih, p.in_bias)
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
                state = tuple(join.cat([s, f[have:b]]) for s, f in zip(state, full))
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
        state = tuple(join.cat([s] + [f[i] for f in finished]) for i, s in enumerate(state))
    return outs, h_in, state


def _input_projection(x, p, h_prev):
    """The input projection of every step; for RNN and LSTM (whose per-step GEMM adds onto exactly
    these pre-activations) it takes over the recurrent weight's gradient, and the steps use a detached
    ``w_hh``. GRU's hidden GEMM feeds ``r * (...)``, so it keeps the per-step weight gradient."""
    if p.mode == "GRU" or not p.w_hh.requires_grad:
        return linear(x, p.w_ih, p.in_bias)
    p.w_hh_step = p.w_hh.detach()
    return projection_with_recurrent_grad(x, p.w_ih, 0 if p.in_bias is None else p.in_bias, p.w_hh, h_prev=h_prev)


def _dropout(x, p):
    if p == 1:
        return x * 0
    keep = bernoulli(full_like(x, 1 - p))
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
                h_prev.append(join.cat(h_in))
                y = join.cat(ys)
            outs.append(y)
            finals.append(state)
        x = outs[0] if dirs == 1 else join.cat(outs, -1)
        if dropout and training and layer < num_layers - 1:
            x = _dropout(x, dropout)
    if batch_sizes is None:
        x = x.reshape(*time_batch, x.shape[-1])
    return x, tuple(join.stack([f[i] for f in finals]) for i in range(len(hx)))
