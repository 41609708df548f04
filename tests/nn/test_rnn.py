"""RNN / LSTM / GRU layers and cells against torch: outputs, final states, every gradient."""
import math

import numpy as np
import pytest
import torch

import ember
from tests.oracle import assert_same, gradcheck, rand


def _pair(name, *args, **kw):
    t = getattr(torch.nn, name)(*args, **kw)
    e = getattr(ember.nn, name)(*args, **kw)
    e.load_state_dict({k: ember.tensor(v.detach().cpu().numpy()) for k, v in t.state_dict().items()})
    return e, t


def _leaves(*arrays):
    return ([ember.tensor(a, requires_grad=True) for a in arrays], [torch.tensor(a, requires_grad=True) for a in arrays])


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [o for x in out for o in _flat(x)]
    return [out]


def _compare(e_mod, t_mod, e_out, t_out, e_in, t_in, atol=1e-5):
    """Outputs equal; then backprop the same random upstream gradient and compare every gradient."""
    e_flat, t_flat = _flat(e_out), _flat(t_out)
    assert len(e_flat) == len(t_flat)
    rng = np.random.default_rng(0)
    e_loss, t_loss = 0, 0
    for i, (e, t) in enumerate(zip(e_flat, t_flat)):
        assert_same(e, t, atol=atol, what=f"output {i}")
        up = rng.standard_normal(tuple(t.shape)).astype(np.float32)
        e_loss = e_loss + (e * ember.tensor(up)).sum()
        t_loss = t_loss + (t * torch.tensor(up)).sum()
    e_loss.backward()
    t_loss.backward()
    for i, (e, t) in enumerate(zip(e_in, t_in)):
        assert_same(e.grad, t.grad, atol=atol * 10, rtol=1e-3, what=f"grad of input {i}")
    for (name, ep), (_, tp) in zip(e_mod.named_parameters(), t_mod.named_parameters()):
        assert_same(ep.grad, tp.grad, atol=atol * 10, rtol=1e-3, what=name)


LAYERS = [("RNN", {}), ("RNN", {"nonlinearity": "relu"}), ("LSTM", {}), ("GRU", {})]


@pytest.mark.parametrize("name,kw", LAYERS, ids=["rnn", "rnn_relu", "lstm", "gru"])
@pytest.mark.parametrize("num_layers,bidirectional,batch_first,bias", [
    (1, False, False, True), (2, True, False, True), (2, False, True, False), (1, True, True, True)])
def test_layer_matches_torch(name, kw, num_layers, bidirectional, batch_first, bias):
    e, t = _pair(name, 5, 4, num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first,
                 bias=bias, **kw)
    shape = (3, 6, 5) if batch_first else (6, 3, 5)
    (ex,), (tx,) = _leaves(rand(*shape, seed=1))
    _compare(e, t, e(ex), t(tx), [ex], [tx])


@pytest.mark.parametrize("name,kw", LAYERS, ids=["rnn", "rnn_relu", "lstm", "gru"])
def test_layer_initial_state(name, kw):
    e, t = _pair(name, 5, 4, num_layers=2, bidirectional=True, **kw)
    arrays = [rand(6, 3, 5, seed=1), rand(4, 3, 4, seed=2)] + ([rand(4, 3, 4, seed=3)] if name == "LSTM" else [])
    ein, tin = _leaves(*arrays)
    state = (lambda s: tuple(s)) if name == "LSTM" else (lambda s: s[0])
    _compare(e, t, e(ein[0], state(ein[1:])), t(tin[0], state(tin[1:])), ein, tin)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("with_state", [False, True])
def test_layer_unbatched(name, with_state):
    e, t = _pair(name, 5, 4, num_layers=2)
    arrays = [rand(6, 5, seed=1)] + ([rand(2, 4, seed=2)] * (2 if name == "LSTM" else 1) if with_state else [])
    ein, tin = _leaves(*arrays)
    if not with_state:
        eo, to = e(ein[0]), t(tin[0])
    elif name == "LSTM":
        eo, to = e(ein[0], tuple(ein[1:])), t(tin[0], tuple(tin[1:]))
    else:
        eo, to = e(ein[0], ein[1]), t(tin[0], tin[1])
    _compare(e, t, eo, to, ein, tin)


@pytest.mark.filterwarnings("ignore:LSTM with projections")
@pytest.mark.parametrize("bidirectional,num_layers", [(False, 1), (True, 2)])
def test_lstm_proj_size(bidirectional, num_layers):
    e, t = _pair("LSTM", 5, 6, num_layers=num_layers, bidirectional=bidirectional, proj_size=3)
    assert [(k, tuple(v.shape)) for k, v in e.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in t.state_dict().items()]
    d = 2 if bidirectional else 1
    ein, tin = _leaves(rand(4, 2, 5, seed=1), rand(num_layers * d, 2, 3, seed=2), rand(num_layers * d, 2, 6, seed=3))
    _compare(e, t, e(ein[0], (ein[1], ein[2])), t(tin[0], (tin[1], tin[2])), ein, tin)


@pytest.mark.parametrize("name,kw", [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}), ("LSTMCell", {}),
                                     ("GRUCell", {}), ("GRUCell", {"bias": False}), ("LSTMCell", {"bias": False})])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_state", [False, True])
def test_cell_matches_torch(name, kw, batched, with_state):
    e, t = _pair(name, 5, 4, **kw)
    lead = (3,) if batched else ()
    arrays = [rand(*lead, 5, seed=1)]
    if with_state:
        arrays += [rand(*lead, 4, seed=2)] + ([rand(*lead, 4, seed=3)] if name == "LSTMCell" else [])
    ein, tin = _leaves(*arrays)
    if not with_state:
        eo, to = e(ein[0]), t(tin[0])
    elif name == "LSTMCell":
        eo, to = e(ein[0], (ein[1], ein[2])), t(tin[0], (tin[1], tin[2]))
    else:
        eo, to = e(ein[0], ein[1]), t(tin[0], tin[1])
    _compare(e, t, eo, to, ein, tin)
    assert _flat(eo)[0].grad_fn.name() == _flat(to)[0].grad_fn.name()


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("enforce_sorted", [True, False])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_layer_packed_input(name, enforce_sorted, bidirectional):
    e, t = _pair(name, 5, 4, num_layers=2, bidirectional=bidirectional)
    lengths = [6, 4, 4, 1] if enforce_sorted else [4, 6, 1, 4]
    ein, tin = _leaves(rand(6, 4, 5, seed=1))
    e_rnn = ember.nn.utils.rnn
    t_rnn = torch.nn.utils.rnn
    ep = e_rnn.pack_padded_sequence(ein[0], lengths, enforce_sorted=enforce_sorted)
    tp = t_rnn.pack_padded_sequence(tin[0], lengths, enforce_sorted=enforce_sorted)
    eo, eh = e(ep)
    to, th = t(tp)
    assert isinstance(eo, e_rnn.PackedSequence)
    assert eo.batch_sizes.tolist() == to.batch_sizes.tolist()
    e_pad, e_len = e_rnn.pad_packed_sequence(eo)
    t_pad, t_len = t_rnn.pad_packed_sequence(to)
    assert e_len.tolist() == t_len.tolist()
    _compare(e, t, (eo.data, e_pad, eh), (to.data, t_pad, th), ein, tin)


def test_packed_with_initial_state():
    e, t = _pair("LSTM", 3, 4, bidirectional=True)
    lengths = [2, 5, 3]
    ein, tin = _leaves(rand(5, 3, 3, seed=1), rand(2, 3, 4, seed=2), rand(2, 3, 4, seed=3))
    ep = ember.nn.utils.rnn.pack_padded_sequence(ein[0], lengths, enforce_sorted=False)
    tp = torch.nn.utils.rnn.pack_padded_sequence(tin[0], lengths, enforce_sorted=False)
    eo, eh = e(ep, (ein[1], ein[2]))
    to, th = t(tp, (tin[1], tin[2]))
    _compare(e, t, (eo.data, eh), (to.data, th), ein, tin)


@pytest.mark.parametrize("name,size", [("RNN", 1), ("LSTM", 4), ("GRU", 3)])
def test_parameters_init_and_repr(name, size):
    ember.manual_seed(0)
    e = getattr(ember.nn, name)(10, 16, num_layers=2, bidirectional=True)
    t = getattr(torch.nn, name)(10, 16, num_layers=2, bidirectional=True)
    assert [(k, tuple(v.shape)) for k, v in e.named_parameters()] == \
        [(k, tuple(v.shape)) for k, v in t.named_parameters()]
    assert e.weight_ih_l0.shape == (size * 16, 10) and e.weight_ih_l1_reverse.shape == (size * 16, 32)
    bound = 1 / math.sqrt(16)
    for p in e.parameters():
        v = p.detach().cpu().numpy()
        assert np.abs(v).max() <= bound and v.std() > 0.4 * bound
    assert repr(e) == repr(t)
    e.flatten_parameters()
    assert len(e.all_weights) == 4 and len(e.all_weights[0]) == 4


@pytest.mark.parametrize("args,kw", [
    ((10, 20), {}), ((10, 20), {"nonlinearity": "relu", "num_layers": 2, "bias": False, "batch_first": True,
                                "dropout": 0.5, "bidirectional": True})])
def test_rnn_repr(args, kw):
    assert repr(ember.nn.RNN(*args, **kw)) == repr(torch.nn.RNN(*args, **kw))
    assert repr(ember.nn.LSTM(10, 20, proj_size=5)) == repr(torch.nn.LSTM(10, 20, proj_size=5))
    assert repr(ember.nn.RNNCell(3, 4, bias=False, nonlinearity="relu")) == \
        repr(torch.nn.RNNCell(3, 4, bias=False, nonlinearity="relu"))
    assert repr(ember.nn.GRUCell(3, 4)) == repr(torch.nn.GRUCell(3, 4)) == "GRUCell(3, 4)"


def test_dropout_between_layers():
    e, t = _pair("LSTM", 5, 8, num_layers=2, dropout=0.5)
    x = rand(4, 3, 5, seed=1)
    e.eval()
    t.eval()
    assert_same(e(ember.tensor(x))[0], t(torch.tensor(x))[0])
    e.train()
    ember.manual_seed(0)
    out = e(ember.tensor(x))[0].detach().cpu().numpy()
    assert not np.allclose(out, e.eval()(ember.tensor(x))[0].detach().cpu().numpy())
    e, t = _pair("GRU", 5, 8, num_layers=3, dropout=1.0)  # every activation between layers dropped
    ein, tin = _leaves(x)
    _compare(e, t, e(ein[0]), t(tin[0]), ein, tin)


@pytest.mark.parametrize("mode,gates", [("LSTM", 4), ("GRU", 3), ("RNN_TANH", 1), ("RNN_RELU", 1)])
@pytest.mark.parametrize("batch_sizes", [None, [2, 2, 1]])
def test_gradcheck_layer(mode, gates, batch_sizes):
    """float64 gradcheck and gradgradcheck of a bidirectional layer w.r.t. input, initial state, weights."""
    n_state = 2 if mode == "LSTM" else 1
    dirs = 1 if batch_sizes is None else 2  # packed: both directions, first-order only (keeps this fast)
    x = rand(3, 2, 2, seed=1) if batch_sizes is None else rand(5, 2, seed=1)
    states = [rand(dirs, 2, 2, seed=2 + i) for i in range(n_state)]
    weights = [rand(*shape, seed=10 + i, low=-0.7, high=0.7)
               for i, shape in enumerate([(gates * 2, 2), (gates * 2, 2), (gates * 2,), (gates * 2,)] * dirs)]

    def fn(lib, x, *rest):
        hx, ws = rest[:n_state], rest[n_state:]
        params = [ember.nn.functional.recurrent.DirectionParams(mode, *ws[i:i + 4], None) for i in range(0, 4 * dirs, 4)]
        return ember.nn.functional.recurrent.rnn_forward(mode, x, batch_sizes, hx, params, 1, dirs == 2, 0.0, False)

    gradcheck(fn, x, *states, *weights, gradgrad=mode != "RNN_RELU" and dirs == 1)


@pytest.mark.parametrize("call,msg,exc", [
    (lambda lib: lib.nn.LSTM(10, 20)(lib.ones(5, 3, 7)),
     r"input.size\(-1\) must be equal to input_size. Expected 10, got 7", RuntimeError),
    (lambda lib: lib.nn.GRU(10, 20)(lib.ones(5, 3, 10), lib.ones(2, 3, 20)),
     r"Expected hidden size \(1, 3, 20\), got \[2, 3, 20\]", RuntimeError),
    (lambda lib: lib.nn.LSTM(10, 20)(lib.ones(5, 3, 10), (lib.ones(1, 3, 20), lib.ones(1, 3, 21))),
     r"Expected hidden\[1\] size \(1, 3, 20\), got \[1, 3, 21\]", RuntimeError),
    (lambda lib: lib.nn.GRU(10, 20)(lib.ones(3, 10), lib.ones(1, 3, 20)),
     "For unbatched 2-D input, hx should also be 2-D but got 3-D tensor", RuntimeError),
    (lambda lib: lib.nn.GRU(10, 20)(lib.ones(2, 5, 3, 10)), "GRU: Expected input to be 2D or 3D, got 4D instead",
     ValueError),
    (lambda lib: lib.nn.LSTMCell(10, 20)(lib.ones(3, 7)), "input has inconsistent input_size: got 7 expected 10",
     RuntimeError),
    (lambda lib: lib.nn.LSTMCell(10, 20)(lib.ones(3, 10), (lib.ones(2, 20), lib.ones(2, 20))),
     "Input batch size 3 doesn't match hidden0 batch size 2", RuntimeError),
    (lambda lib: lib.nn.RNN(3, 4, nonlinearity="sig"), "Unknown nonlinearity 'sig'. Select from 'tanh' or 'relu'.",
     ValueError),
    (lambda lib: lib.nn.GRU(3, 4, proj_size=2), "proj_size argument is only supported for LSTM", ValueError),
])
def test_errors(call, msg, exc):
    for lib in (torch, ember):
        with pytest.raises(exc, match=msg):
            call(lib)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_loss_on_last_step_only(name):
    """Only the last output / final state feed the loss: most steps get no output gradient."""
    e, t = _pair(name, 5, 4, num_layers=2)
    (ex,), (tx,) = _leaves(rand(6, 3, 5, seed=1))
    eo, eh = e(ex)
    to, th = t(tx)
    _compare(e, t, (eo[-1], eh[1] if name == "LSTM" else eh), (to[-1], th[1] if name == "LSTM" else th), [ex], [tx])


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_double_backward_matches_torch(name):
    """create_graph=True: the gradient's norm is differentiated again w.r.t. the weights and the input."""
    e, t = _pair(name, 3, 4)
    (ex,), (tx,) = _leaves(rand(5, 2, 3, seed=1))
    results = []
    for lib, m, x in ((ember, e, ex), (torch, t, tx)):
        out = m(x)[0]
        grads = lib.autograd.grad((out * out).sum(), [x] + list(m.parameters()), create_graph=True)
        sum((g * g).sum() for g in grads).backward()
        results.append([x.grad] + [p.grad for p in m.parameters()])
    for i, (eg, tg) in enumerate(zip(*results)):
        assert_same(eg, tg, atol=1e-4, rtol=1e-3, what=f"second-order grad {i}")


def test_frozen_weights_and_no_grad():
    e, t = _pair("LSTM", 5, 4)
    e.weight_hh_l0.requires_grad_(False)
    t.weight_hh_l0.requires_grad_(False)
    (ex,), (tx,) = _leaves(rand(6, 3, 5, seed=1))
    _compare(e, t, e(ex), t(tx), [ex], [tx])
    assert e.weight_hh_l0.grad is None
    with ember.no_grad():
        out, (h, c) = e(ember.tensor(rand(6, 3, 5, seed=1)))
    assert not out.requires_grad and out.grad_fn is None
    assert_same(out, t(torch.tensor(rand(6, 3, 5, seed=1)))[0])


@pytest.mark.parametrize("reverse", [False, True])
def test_fused_lstm_sequence_gradcheck(reverse):
    """The whole-sequence LSTM node: float64 gradcheck (array BPTT) and gradgradcheck (recomputed graph)."""
    from ember.ops.rnn_seq import lstm_seq
    x, w_ih, bias = rand(8, 3, seed=1), rand(8, 3, seed=5, low=-0.7, high=0.7), rand(8, seed=6)
    h0, c0, w_hh = rand(2, 2, seed=2), rand(2, 2, seed=3), rand(8, 2, seed=4, low=-0.7, high=0.7)
    gradcheck(lambda lib, *a: lstm_seq(*a, reverse=reverse), x, w_ih, bias, h0, c0, w_hh)


@pytest.mark.parametrize("reverse", [False, True])
def test_fused_gru_sequence_gradcheck(reverse):
    """The whole-sequence GRU node: float64 gradcheck (array BPTT) and gradgradcheck (recomputed graph)."""
    from ember.ops.rnn_seq import gru_seq
    x, w_ih, b_ih = rand(8, 3, seed=1), rand(6, 3, seed=5, low=-0.7, high=0.7), rand(6, seed=6)
    h0, w_hh, b_hh = rand(2, 2, seed=2), rand(6, 2, seed=4, low=-0.7, high=0.7), rand(6, seed=7)
    gradcheck(lambda lib, *a: gru_seq(*a, reverse=reverse), x, w_ih, b_ih, h0, w_hh, b_hh)


@pytest.mark.parametrize("name,use", [("LSTM", "out"), ("LSTM", "h"), ("LSTM", "c"), ("GRU", "out"), ("GRU", "h")])
def test_fused_single_output_used(name, use):
    """Only one of (output, h_n[, c_n]) reaches the loss: the others' gradients arrive as None."""
    e, t = _pair(name, 5, 4, num_layers=2, bidirectional=True)
    (ex,), (tx,) = _leaves(rand(6, 3, 5, seed=1))
    pick = {"out": lambda r: r[0], "h": lambda r: r[1][0] if name == "LSTM" else r[1],
            "c": lambda r: r[1][1]}[use]
    _compare(e, t, pick(e(ex)), pick(t(tx)), [ex], [tx])


@pytest.mark.parametrize("name,bias", [("LSTM", True), ("GRU", True), ("GRU", False)])
def test_fused_double_backward_bidirectional_with_state(name, bias):
    """create_graph=True through a 2-layer bidirectional batch_first layer with initial states matches torch."""
    e, t = _pair(name, 3, 4, num_layers=2, bidirectional=True, batch_first=True, bias=bias)
    n_state = 2 if name == "LSTM" else 1
    arrays = [rand(2, 5, 3, seed=1)] + [rand(4, 2, 4, seed=2 + i) for i in range(n_state)]
    ein, tin = _leaves(*arrays)
    results = []
    for lib, m, (x, *state) in ((ember, e, ein), (torch, t, tin)):
        out, hn = m(x, tuple(state) if name == "LSTM" else state[0])
        loss = (out * out).sum() + ((hn[0] * hn[1]).sum() if name == "LSTM" else (hn * hn * hn).sum())
        grads = lib.autograd.grad(loss, [x, *state] + list(m.parameters()), create_graph=True)
        sum((g * g).sum() for g in grads).backward()
        results.append([x.grad] + [s.grad for s in state] + [p.grad for p in m.parameters()])
    for i, (eg, tg) in enumerate(zip(*results)):
        assert_same(eg, tg, atol=1e-4, rtol=1e-3, what=f"second-order grad {i}")


def test_fused_lstm_output_modified_in_place():
    """The fused LSTM node reads its outputs in backward (the hidden states entering each step), like torch's."""
    for lib in (torch, ember):
        x = lib.tensor(rand(5, 2, 3, seed=1), requires_grad=True)
        out, _ = lib.nn.LSTM(3, 4)(x)
        out.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            out.sum().backward()


def test_fused_gru_output_modified_in_place():
    """torch's GRU output may be edited in place before backward; so may ember's."""
    e, t = _pair("GRU", 3, 4)
    (ex,), (tx,) = _leaves(rand(5, 2, 3, seed=1))
    eo, to = e(ex)[0], t(tx)[0]
    eo.mul_(2)
    to.mul_(2)
    _compare(e, t, eo, to, [ex], [tx])


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_input_dtype_must_match_weights(name):
    """A float64 input into float32 weights is refused (torch's ValueError), not silently promoted."""
    for lib in (torch, ember):
        layer = getattr(lib.nn, name)(3, 4)
        with pytest.raises(ValueError, match=r"RNN input dtype \((torch|ember)\.float64\) does not match weight "
                                             r"dtype \((torch|ember)\.float32\)"):
            layer(lib.ones(2, 1, 3, dtype=lib.float64))
    out, _ = getattr(ember.nn, name)(3, 4).double()(ember.ones(2, 1, 3, dtype=ember.float64))
    assert out.dtype == ember.float64
