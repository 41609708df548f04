"""Recurrent layers: RNN, LSTM, GRU and their single-step cells RNNCell, LSTMCell, GRUCell."""
import math

from ember.creation import empty, zeros
from ember.nn import init
from ember.nn.functional import recurrent
from ember.nn.modules.module import Module
from ember.nn.parameter import Parameter
from ember.nn.utils.rnn import PackedSequence

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def _nonlinearity_mode(nonlinearity):
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
    return "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"


class RNNBase(Module):
    """The shared machinery of RNN, LSTM and GRU: parameters named like torch's, the checks, the loop."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        if not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an "
                             "element being zeroed")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bidirectional, proj_size
        dirs = 2 if bidirectional else 1
        real_hidden = proj_size or hidden_size
        gate_size = _GATES[mode] * hidden_size
        self._flat_weights_names = []
        for layer in range(num_layers):
            for d in range(dirs):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                layer_in = input_size if layer == 0 else real_hidden * dirs
                shapes = [("weight_ih", (gate_size, layer_in)), ("weight_hh", (gate_size, real_hidden))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                for name, shape in shapes:
                    setattr(self, name + sfx, Parameter(empty(*shape, device=device, dtype=dtype)))
                    self._flat_weights_names.append(name + sfx)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def flatten_parameters(self):
        """A no-op kept for torch code that calls it (there is no cuDNN weight buffer to compact)."""

    @property
    def _flat_weights(self):
        return [getattr(self, name) for name in self._flat_weights_names]

    @property
    def all_weights(self):
        per = len(self._flat_weights_names) // (self.num_layers * (2 if self.bidirectional else 1))
        w = self._flat_weights
        return [w[i:i + per] for i in range(0, len(w), per)]

    def _direction_params(self):
        out = []
        for layer in range(self.num_layers):
            for d in range(2 if self.bidirectional else 1):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                get = lambda name: getattr(self, name + sfx, None)  # noqa: E731
                out.append(recurrent.DirectionParams(self.mode, get("weight_ih"), get("weight_hh"),
                                                get("bias_ih"), get("bias_hh"), get("weight_hr")))
        return out

    def _state_sizes(self, batch):
        lead = self.num_layers * (2 if self.bidirectional else 1)
        if self.mode == "LSTM":
            return [(lead, batch, self.proj_size or self.hidden_size), (lead, batch, self.hidden_size)]
        return [(lead, batch, self.hidden_size)]

    def _check_hidden(self, hx, sizes):
        names = ["hidden[0]", "hidden[1]"] if len(sizes) == 2 else ["hidden"]
        for h, size, name in zip(hx, sizes, names):
            if tuple(h.shape) != size:
                raise RuntimeError(f"Expected {name} size {size}, got {list(h.shape)}")

    def forward(self, input, hx=None):
        is_lstm = self.mode == "LSTM"
        packed = isinstance(input, PackedSequence)
        batch_sizes = sorted_idx = None
        unbatched = False
        if packed:
            x, batch_sizes = input.data, input.batch_sizes.tolist()
            sorted_idx, batch = input.sorted_indices, batch_sizes[0]
        else:
            if input.dim() not in (2, 3):
                raise ValueError(f"{type(self).__name__}: Expected input to be 2D or 3D, got {input.dim()}D instead")
            unbatched = input.dim() == 2
            x = input.unsqueeze(1) if unbatched else (input.transpose(0, 1) if self.batch_first else input)
            batch = x.shape[1]
        if x.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                               f"got {x.shape[-1]}")
        weight_dtype = self.weight_ih_l0.dtype
        if x.dtype != weight_dtype:
            raise ValueError(f"RNN input dtype ({x.dtype}) does not match weight dtype ({weight_dtype}). Convert "
                             f"input: input.to({weight_dtype}), or convert model: model.to({x.dtype})")
        sizes = self._state_sizes(batch)
        if hx is None:
            hx = tuple(zeros(s, dtype=x.dtype, device=x.device) for s in sizes)
        else:
            hx = tuple(hx) if is_lstm else (hx,)
            if not packed:
                want = 2 if unbatched else 3
                if any(h.dim() != want for h in hx):
                    dims = ", ".join(f"{h.dim()}-D" for h in hx)
                    what = "hx and cx" if is_lstm else "hx"
                    what_dims = f"({dims}) tensors" if is_lstm else f"{dims} tensor"
                    raise RuntimeError(f"For {'unbatched 2-D' if unbatched else 'batched 3-D'} input, {what} "
                                       f"should also be {want}-D but got {what_dims}")
            if unbatched:
                hx = tuple(h.unsqueeze(1) for h in hx)
            if sorted_idx is not None:
                hx = tuple(h.index_select(1, sorted_idx) for h in hx)
            self._check_hidden(hx, sizes)
        out, hn = recurrent.rnn_forward(self.mode, x, batch_sizes, hx, self._direction_params(), self.num_layers,
                                   self.bidirectional, self.dropout, self.training)
        if packed:
            if input.unsorted_indices is not None:
                hn = tuple(h.index_select(1, input.unsorted_indices) for h in hn)
            out = PackedSequence(out, input.batch_sizes, input.sorted_indices, input.unsorted_indices)
        elif unbatched:
            out, hn = out.squeeze(1), tuple(h.squeeze(1) for h in hn)
        elif self.batch_first:
            out = out.transpose(0, 1)
        return out, (hn if is_lstm else hn[0])

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s


class RNN(RNNBase):
    """Elman RNN, h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu):
    ``out, h = nn.RNN(10, 20)(ember.ones(5, 3, 10))`` gives ``(5, 3, 20)`` and ``(1, 3, 20)``."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None, proj_size=0):
        super().__init__(_nonlinearity_mode(nonlinearity), input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device, dtype)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """Long short-term memory: ``out, (h, c) = nn.LSTM(10, 20)(ember.ones(5, 3, 10))``."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device, dtype)


class GRU(RNNBase):
    """Gated recurrent unit: ``out, h = nn.GRU(10, 20)(ember.ones(5, 3, 10))``."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, device=None, dtype=None, proj_size=0):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device, dtype)


class RNNCellBase(Module):
    """One time step: weight_ih (G*H, I), weight_hh (G*H, H) and optional biases, like torch's cells."""

    def __init__(self, mode, input_size, hidden_size, bias, device=None, dtype=None):
        super().__init__()
        self.mode, self.input_size, self.hidden_size, self.bias = mode, input_size, hidden_size, bias
        g = _GATES[mode] * hidden_size
        self.weight_ih = Parameter(empty(g, input_size, device=device, dtype=dtype))
        self.weight_hh = Parameter(empty(g, hidden_size, device=device, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(empty(g, device=device, dtype=dtype))
            self.bias_hh = Parameter(empty(g, device=device, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _run(self, input, hx):
        if input.dim() not in (1, 2):
            raise ValueError(f"{type(self).__name__}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[-1]} expected "
                               f"{self.input_size}")
        unbatched = input.dim() == 1
        x = input.unsqueeze(0) if unbatched else input
        n_state = 2 if self.mode == "LSTM" else 1
        if hx is None:
            hx = tuple(zeros(x.shape[0], self.hidden_size, dtype=x.dtype, device=x.device)
                       for _ in range(n_state))
        else:
            hx = tuple(hx) if n_state == 2 else (hx,)
            hx = tuple(h.unsqueeze(0) for h in hx) if unbatched else hx
            for i, h in enumerate(hx):
                if h.shape[0] != x.shape[0]:
                    raise RuntimeError(f"Input batch size {x.shape[0]} doesn't match hidden{i} batch size "
                                       f"{h.shape[0]}")
                if h.shape[-1] != self.hidden_size:
                    raise RuntimeError(f"hidden{i} has inconsistent hidden_size: got {h.shape[-1]}, expected "
                                       f"{self.hidden_size}")
        out = recurrent.cell_forward(self.mode, x, hx, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return tuple(h.squeeze(0) for h in out) if unbatched else out

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        nonlinearity = getattr(self, "nonlinearity", "tanh")
        return s + (f", nonlinearity={nonlinearity}" if nonlinearity != "tanh" else "")


class RNNCell(RNNCellBase):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh): ``nn.RNNCell(10, 20)(ember.ones(3, 10)).shape == (3, 20)``."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        super().__init__(_nonlinearity_mode(nonlinearity), input_size, hidden_size, bias, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        return self._run(input, hx)[0]


class LSTMCell(RNNCellBase):
    """One LSTM step: ``h, c = nn.LSTMCell(10, 20)(ember.ones(3, 10))``."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, bias, device, dtype)

    def forward(self, input, hx=None):
        return self._run(input, hx)


class GRUCell(RNNCellBase):
    """One GRU step: ``nn.GRUCell(10, 20)(ember.ones(3, 10)).shape == (3, 20)``."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, bias, device, dtype)

    def forward(self, input, hx=None):
        return self._run(input, hx)[0]
