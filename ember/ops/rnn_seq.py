"""One LSTM or GRU layer direction over the whole sequence as ONE autograd node.

LSTM: the forward computes every step's input pre-activations with one GEMM, then loops over time on raw
arrays (one GEMM and the cell math per step) in the transposed ``(4H, B)`` layout, keeping the gate
activations and cells. The first-order backward runs BPTT on arrays in one reversed loop (one GEMM per
step for the carried ``d h``), then ONE GEMM each for ``d W_hh`` (over all steps), ``d W_ih`` and ``d x``.
When a second derivative is asked for (grad mode on inside backward: ``create_graph=True``), the
derivative recomputes the sequence with the per-step ember ops and differentiates that graph, so double
backward stays exact.

GRU: the same in the transposed ``(3H, B)`` layout; the forward keeps ``[r, z]``, ``n`` and the hidden part
of ``n``'s pre-activation per step.
"""
from ember._tensor import Tensor
from ember import autograd
from ember.autograd import is_grad_enabled
from ember.backend import compiled
from ember.ops.dispatch import primitive
from ember.ops.join import stack
from ember.ops.linear import linear
from ember.ops.rnn import gru_cell, lstm_cell, lstm_gate_grads


def _column(xp, b):
    """A ``(G,)`` bias as a ``(G, 1)`` column for the transposed layout; the scalar 0 (no bias) as is."""
    return xp.reshape(b, (-1, 1)) if getattr(b, "ndim", 0) else b


def input_preactivations(xp, w, x, steps, batch):
    """``w @ x_t^T`` for every step as ``(T, G, B)``: one batched GEMM, so that each step adds a
    contiguous block (a single ``(G, T * B)`` GEMM is 15% faster, but its per-step column slices
    cost more to add than that: 2.4 ms against 2.1 + 1.1 ms for the benchmark's LSTM)."""
    return xp.matmul(w, xp.reshape(x, (steps, batch, x.shape[1])).transpose(0, 2, 1))


def _order(steps, reverse):
    """The steps in the order the forward runs them (the backward walks them the other way)."""
    return range(steps - 1, -1, -1) if reverse else range(steps)


@primitive("MkldnnRnnLayerBackward0", save=(0, 1, 2, 3, 4, 5), save_output=(0,))
def lstm_seq(ctx, xp, x, w_ih, bias, h0, c0, w_hh, reverse=False):
    """``x`` ``(T * B, I)``: the flattened time-major input; ``w_ih`` ``(4H, I)``; ``bias`` ``(4H,)`` (the
    sum of both biases, or 0); ``h0``, ``c0`` ``(B, H)``; ``w_hh`` ``(4H, H)``. Returns the outputs
    ``(T, B, H)`` and the final ``h``, ``c``; ``reverse`` runs the steps from the last to the first.
    Works in the transposed layout ``(4H, B)`` (the small batch last, as BLAS likes it), so every
    step's gate blocks are contiguous rows."""
    batch, hidden = h0.shape
    steps = x.shape[0] // batch if batch else 0
    dtype = x.dtype
    fast = compiled.usable(x, w_hh, h0, c0)
    # sigmoid(x) = (1 + tanh(x / 2)) / 2 (no overflow for large |x|): the i, f, o rows of the weights and
    # bias are halved up front, so that one tanh over all four gate blocks serves every gate
    half = xp.full((4 * hidden, 1), 0.5, dtype=dtype)
    half[2 * hidden:3 * hidden] = 1
    gx = input_preactivations(xp, w_ih * half, x, steps, batch)
    bias_half = half * _column(xp, bias)
    if fast:  # the kernel adds it per step, from a (4H, B) block in cache, rather than a pass over all of gx
        bias_half = xp.ascontiguousarray(xp.broadcast_to(bias_half, (4 * hidden, batch))).reshape(4, -1)
    else:
        gx += bias_half
    w_half = w_hh * half
    act = xp.empty((steps, 4 * hidden, batch), dtype=dtype)
    cells = xp.empty((steps, hidden, batch), dtype=dtype)  # the cell leaving each step
    tanh_c = xp.empty((steps, hidden, batch), dtype=dtype)  # tanh of the cell leaving each step
    hs = xp.empty((steps, hidden, batch), dtype=dtype)  # the outputs hidden-major: contiguous per step
    h, c = h0.T, xp.ascontiguousarray(c0.T)
    for t in _order(steps, reverse):
        a = act[t]
        xp.matmul(w_half, h, out=a)
        if fast:
            _cells(_kernels().lstm_forward, hidden * batch, a.reshape(4, -1), gx[t].reshape(4, -1), bias_half,
                   c.reshape(-1), cells[t].reshape(-1), tanh_c[t].reshape(-1), hs[t].reshape(-1))
        else:
            a += gx[t]
            xp.tanh(a, out=a)
            for block in (a[:2 * hidden], a[3 * hidden:]):
                block *= 0.5
                block += 0.5
            xp.multiply(a[hidden:2 * hidden], c, out=cells[t])
            cells[t] += a[:hidden] * a[2 * hidden:3 * hidden]
            xp.multiply(a[3 * hidden:], xp.tanh(cells[t], out=tanh_c[t]), out=hs[t])
        c, h = cells[t], hs[t]
    ctx.arrays = (act, cells, tanh_c)
    ctx.reverse = reverse
    return xp.ascontiguousarray(hs.transpose(0, 2, 1)), h.T.copy(), c.T.copy()


def _kernels():
    from ember.ops import rnn_kernels  # optional dependency: numba, imported on first use
    return rnn_kernels


def _cells(kernel, cells, *arrays):
    """An LSTM or GRU kernel over one step's ``cells`` (``H * B``), split over threads only for large steps (a
    hand-off costs ~50-70 us here)."""
    compiled.parallel(kernel, cells, *arrays, min_rows_per_thread=compiled.MIN_ELEMENTS_PER_THREAD)


def _lstm_step_grad(xp, a, tc, c_prev, g_y, dh, dc, d):
    """The NumPy reference of ``rnn_kernels.lstm_backward``; returns the new ``dc``."""
    hidden = dh.shape[0]
    if g_y is not None:
        dh += g_y
    return lstm_gate_grads(xp, a, tc, c_prev, dh, dc, d, lambda a, k: a[k * hidden:(k + 1) * hidden])


@primitive("MkldnnRnnLayerBackward0")
def _lstm_seq_grad(ctx, xp, g_ys, g_h, g_c, x, w_ih, w_hh, h0, c0, ys, arrays=None, reverse=False, need=None):
    """Backpropagation through time on arrays: ``(d x, d w_ih, d bias, d h0, d c0, d w_hh)``; the
    gradients not in ``need`` come back as 0-d zeros."""
    act, cells, tanh_c = arrays
    steps, hidden, batch = cells.shape
    fast = compiled.usable(act, w_hh, c0) and (g_ys is None or compiled.usable(g_ys))
    back = 1 if reverse else -1  # the step that ran just before step t
    d_steps = xp.empty((steps, 4 * hidden, batch), dtype=act.dtype)  # each step's gate gradients, in place
    dh = xp.zeros((hidden, batch), dtype=act.dtype) + getattr(g_h, "T", g_h)
    dc = xp.zeros((hidden, batch), dtype=act.dtype) + getattr(g_c, "T", g_c)
    # BLAS reads the transposed view in place: ~3 us slower a step than a contiguous copy, which costs 0.3-0.4 ms
    w_hh_t = w_hh.T
    g_ys = _hidden_major(xp, g_ys)
    c_first = xp.ascontiguousarray(c0.T)  # the cell entering the first step run, hidden-major
    for t in reversed(_order(steps, reverse)):
        c_prev = cells[t + back] if 0 <= t + back < steps else c_first
        g_y = None if g_ys is None else g_ys[t]
        if fast:
            _cells(_kernels().lstm_backward, hidden * batch, act[t].reshape(4, -1), tanh_c[t].reshape(-1), c_prev.reshape(-1),
                   (dh if g_y is None else g_y).reshape(-1), g_y is not None, dh.reshape(-1), dc.reshape(-1),
                   d_steps[t].reshape(4, -1))
        else:
            dc = _lstm_step_grad(xp, act[t], tanh_c[t], c_prev, g_y, dh, dc, d_steps[t])
        xp.matmul(w_hh_t, d_steps[t], out=dh)
    need_x, need_w_ih, need_bias, need_h, need_c, need_w_hh = need
    d_gates, d_bias = gate_columns(xp, d_steps, need_bias)
    zero = xp.zeros((), dtype=act.dtype)
    d_w_hh = _recurrent_weight_grad(xp, d_gates, h0, ys, reverse) if need_w_hh else zero
    return (*_input_grads(xp, d_gates, x, w_ih, need_x, need_w_ih, zero), zero if d_bias is None else d_bias,
            xp.ascontiguousarray(dh.T) if need_h else zero, xp.ascontiguousarray(dc.T) if need_c else zero, d_w_hh)


def _hidden_major(xp, g_ys):
    """The outputs' gradient ``(T, B, H)`` as ``(T, H, B)`` in one copy: each step then reads a contiguous
    block (the kernel read the transposed view at 107 us a step against 25)."""
    return None if g_ys is None else xp.ascontiguousarray(g_ys.transpose(0, 2, 1))


def _input_grads(xp, d_gates, x, w_ih, need_x, need_w_ih, zero):
    """``(d x, d w_ih)`` from every step's input-side gate gradients ``(G, T * B)``: one GEMM each."""
    return xp.matmul(d_gates.T, w_ih) if need_x else zero, xp.matmul(d_gates, x) if need_w_ih else zero


def gate_columns(xp, d_steps, with_sums):
    """``(T, G, B)`` per-step gate gradients as one ``(G, T * B)`` matrix for the weight GEMMs, and (when
    ``with_sums``, else None) its row sums: a bias's gradient.

    Each step writes its own contiguous block and this one copy reorders them: writing each step straight
    into its column slice of ``(G, T * B)`` with NumPy missed the cache on every row (35 us a step against
    3). The kernel copies rows over both threads and sums each row while it is in cache: 0.32 ms against
    NumPy's 2.0 + 0.3 for the sums, for a (1024, 50 * 32) block."""
    steps, gates, batch = d_steps.shape
    if not compiled.usable(d_steps):
        columns = xp.ascontiguousarray(d_steps.transpose(1, 0, 2)).reshape(gates, steps * batch)
        return columns, columns.sum(1) if with_sums else None
    columns, sums = xp.empty((gates, steps * batch), dtype=d_steps.dtype), xp.empty(gates)
    compiled.parallel_rows(_kernels().steps_to_columns, gates, steps * batch, d_steps, columns, sums)
    return columns, sums.astype(d_steps.dtype) if with_sums else None


def _recurrent_weight_grad(xp, d_gates, h0, ys, reverse):
    """``sum_t d_gates_t^T h_{t-1}``: the hidden state entering each step is the previous step's output
    (already laid out as ``(T * B, H)`` rows in ``ys``), or ``h0`` for the first step run."""
    batch = h0.shape[0]
    rows = ys.reshape(-1, ys.shape[-1])
    if reverse:
        grad, first = xp.matmul(d_gates[:, :-batch], rows[batch:]), d_gates[:, -batch:]
    else:
        grad, first = xp.matmul(d_gates[:, batch:], rows[:-batch]), d_gates[:, :batch]
    if h0.any():  # the default zero initial state adds nothing
        grad += xp.matmul(first, h0)
    return grad


def _bias_or_none(bias):
    return bias if isinstance(bias, Tensor) else None


def _step_inputs(x, w, bias, batch):
    """The per-step pre-activations ``(T, B, G)`` of the flattened input, in ember ops (bias 0: none)."""
    gx = linear(x, w, _bias_or_none(bias))
    return gx.reshape(-1, batch, gx.shape[-1])


def _lstm_steps(alias, reverse):
    x, w_ih, bias, h, c, w_hh = alias
    gx = _step_inputs(x, w_ih, bias, h.shape[0])
    steps = gx.shape[0]
    ys = [None] * steps
    for t in _order(steps, reverse):
        h, c, _ = lstm_cell(gx[t] + h.mm(w_hh.t()), c)
        ys[t] = h
    return [stack(ys), h, c]


def _recompute(ctx, grads, run_steps):
    """Double-backward path: rebuild the sequence from the saved inputs with the per-step ember ops
    (``run_steps(inputs, reverse)`` gives the outputs) and differentiate it with a graph."""
    need = ctx.needs_input_grad
    # aliases of the inputs, so that the inner grad stops at them and leaves the outer graph alone
    alias = [x.view_as(x) if n else x for x, n in zip(ctx.saved_tensors, need)]
    outs = run_steps(alias, ctx.reverse)
    pairs = [(o, g) for o, g in zip(outs, grads) if g is not None]
    wanted = [a for a, n in zip(alias, need) if n]
    got = iter(autograd.grad([o for o, _ in pairs], wanted, [g for _, g in pairs], create_graph=True,
                                   allow_unused=True, materialize_grads=True))
    return tuple(next(got) if n else None for n in need)


@lstm_seq.derivative
def _(ctx, g_ys, g_h, g_c):
    if is_grad_enabled():
        return _recompute(ctx, (g_ys, g_h, g_c), _lstm_steps)
    x, w_ih, _, h0, c0, w_hh, ys = ctx.saved_tensors
    need = ctx.needs_input_grad
    grads = _lstm_seq_grad(g_ys, 0 if g_h is None else g_h, 0 if g_c is None else g_c, x, w_ih, w_hh, h0, c0, ys,
                           arrays=ctx.arrays, reverse=ctx.reverse, need=need)
    return tuple(g if n else None for g, n in zip(grads, need))


# GRU ----------------------------------------------------------------------------------------------------


@primitive("StackBackward0", save=(0, 1, 2, 3, 4, 5))
def gru_seq(ctx, xp, x, w_ih, b_ih, h0, w_hh, b_hh, reverse=False):
    """``x`` ``(T * B, I)`` time-major; ``w_ih`` ``(3H, I)``, ``w_hh`` ``(3H, H)``, biases ``(3H,)`` or 0;
    ``h0`` ``(B, H)``. Returns the outputs ``(T, B, H)`` and the final ``h``."""
    batch, hidden = h0.shape
    steps = x.shape[0] // batch if batch else 0
    dtype = x.dtype
    fast = compiled.usable(x, w_hh, h0)
    gx = input_preactivations(xp, w_ih, x, steps, batch)
    gx += _column(xp, b_ih)
    b_hh = xp.zeros(3 * hidden, dtype=dtype) + b_hh
    rz_all = xp.empty((steps, 2 * hidden, batch), dtype=dtype)
    n_all = xp.empty((steps, hidden, batch), dtype=dtype)
    hn_all = xp.empty((steps, hidden, batch), dtype=dtype)  # h W_hn^T + b_hn, the part r scales
    hs = xp.empty((steps, hidden, batch), dtype=dtype)  # the outputs hidden-major: contiguous per step
    gh = xp.empty((3 * hidden, batch), dtype=dtype)
    h = xp.ascontiguousarray(h0.T)
    for t in _order(steps, reverse):
        rz, n, hn = rz_all[t], n_all[t], hn_all[t]
        xp.matmul(w_hh, h, out=gh)
        gh += b_hh[:, None]
        h_prev, h = h, hs[t]
        if fast:  # the same arithmetic as below
            _cells(_kernels().gru_forward, hidden * batch, gx[t].reshape(3, -1), gh.reshape(3, -1),
                   h_prev.reshape(-1), rz.reshape(2, -1), hn.reshape(-1), n.reshape(-1), h.reshape(-1))
            continue
        xp.add(gx[t, :2 * hidden], gh[:2 * hidden], out=rz)
        rz *= 0.5  # sigmoid(x) = (1 + tanh(x / 2)) / 2
        xp.tanh(rz, out=rz)
        rz *= 0.5
        rz += 0.5
        hn[...] = gh[2 * hidden:]
        xp.multiply(rz[:hidden], hn, out=n)
        n += gx[t, 2 * hidden:]
        xp.tanh(n, out=n)
        new = xp.subtract(h_prev, n)  # h' = (h - n) z + n
        new *= rz[hidden:]
        xp.add(new, n, out=h)
    ctx.arrays = (rz_all, n_all, hn_all, hs)
    ctx.reverse = reverse
    return xp.ascontiguousarray(hs.transpose(0, 2, 1)), h.T.copy()


def _gru_step_grad(xp, rz, n, hn, h_prev, g_y, dh, d_gx, d_gh):
    """The NumPy reference of ``rnn_kernels.gru_backward``; returns ``dh z``."""
    hidden = n.shape[0]
    if g_y is not None:
        dh += g_y
    r, z = rz[:hidden], rz[hidden:]
    d_pre_n = dh * (1 - z) * (1 - n * n)
    d_rz = d_gx[:2 * hidden]
    xp.multiply(d_pre_n, hn, out=d_rz[:hidden])
    xp.multiply(dh, h_prev - n, out=d_rz[hidden:])
    d_rz *= rz * (1 - rz)
    d_gx[2 * hidden:] = d_pre_n
    d_gh[:2 * hidden] = d_rz
    xp.multiply(d_pre_n, r, out=d_gh[2 * hidden:])
    return dh * z


@primitive("StackBackward0")
def _gru_seq_grad(ctx, xp, g_ys, g_h, x, w_ih, w_hh, h0, arrays=None, reverse=False, need=None):
    """Backpropagation through time on arrays: ``(d x, d w_ih, d b_ih, d h0, d w_hh, d b_hh)``; the
    gradients not in ``need`` come back as 0-d zeros."""
    rz_all, n_all, hn_all, hs = arrays
    steps, hidden, batch = n_all.shape
    fast = compiled.usable(n_all, w_hh, h0) and (g_ys is None or compiled.usable(g_ys))
    back = 1 if reverse else -1  # the step that ran just before step t
    d_gx_steps = xp.empty((steps, 3 * hidden, batch), dtype=n_all.dtype)  # written a step at a time, in place
    d_gh_steps = xp.empty((steps, 3 * hidden, batch), dtype=n_all.dtype)
    dh = xp.zeros((hidden, batch), dtype=n_all.dtype) + getattr(g_h, "T", g_h)
    w_hh_t = w_hh.T
    g_ys = _hidden_major(xp, g_ys)
    h_first = xp.ascontiguousarray(h0.T)  # the state entering the first step run, hidden-major
    for t in reversed(_order(steps, reverse)):
        h_prev = hs[t + back] if 0 <= t + back < steps else h_first
        g_y = None if g_ys is None else g_ys[t]
        if fast:
            _cells(_kernels().gru_backward, hidden * batch, rz_all[t].reshape(2, -1), n_all[t].reshape(-1),
                   hn_all[t].reshape(-1), h_prev.reshape(-1), (dh if g_y is None else g_y).reshape(-1),
                   g_y is not None, dh.reshape(-1), d_gx_steps[t].reshape(3, -1), d_gh_steps[t].reshape(3, -1))
        else:
            dh = _gru_step_grad(xp, rz_all[t], n_all[t], hn_all[t], h_prev, g_y, dh, d_gx_steps[t], d_gh_steps[t])
        dh += xp.matmul(w_hh_t, d_gh_steps[t])
    need_x, need_w_ih, need_b_ih, need_h, need_w_hh, need_b_hh = need
    (d_gx, d_b_ih), (d_gh, d_b_hh) = gate_columns(xp, d_gx_steps, need_b_ih), gate_columns(xp, d_gh_steps, need_b_hh)
    zero = xp.zeros((), dtype=n_all.dtype)
    d_w_hh = _recurrent_weight_grad(xp, d_gh, h0, hs.transpose(0, 2, 1), reverse) if need_w_hh else zero
    return (*_input_grads(xp, d_gx, x, w_ih, need_x, need_w_ih, zero), zero if d_b_ih is None else d_b_ih,
            xp.ascontiguousarray(dh.T) if need_h else zero, d_w_hh, zero if d_b_hh is None else d_b_hh)


def _gru_steps(alias, reverse):
    x, w_ih, b_ih, h, w_hh, b_hh = alias
    gx = _step_inputs(x, w_ih, b_ih, h.shape[0])
    steps = gx.shape[0]
    ys = [None] * steps
    for t in _order(steps, reverse):
        gh = linear(h, w_hh, _bias_or_none(b_hh))
        h, _, _ = gru_cell(gx[t], gh, h)
        ys[t] = h
    return [stack(ys), h]


@gru_seq.derivative
def _(ctx, g_ys, g_h):
    if is_grad_enabled():
        return _recompute(ctx, (g_ys, g_h), _gru_steps)
    x, w_ih, _, h0, w_hh, _ = ctx.saved_tensors
    need = ctx.needs_input_grad
    grads = _gru_seq_grad(g_ys, 0 if g_h is None else g_h, x, w_ih, w_hh, h0, arrays=ctx.arrays,
                          reverse=ctx.reverse, need=need)
    return tuple(g if n else None for g, n in zip(grads, need))
