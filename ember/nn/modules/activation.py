"""Activation modules, each generated from its functional form in ember.nn.functional."""
from ember.nn import functional as F  # noqa: N812 (torch convention)
from ember.nn.modules.module import Module


def _activation(name, fn, params=(), inplace=False):
    """A Module class whose ``forward(x)`` is ``fn(x, **its constructor arguments)``.

    ``params`` are (name, default) pairs, always shown by ``extra_repr``; ``inplace`` adds an
    ``inplace=False`` argument, shown only when true (as torch does)."""
    names = [p for p, _ in params] + (["inplace"] if inplace else [])
    defaults = dict(params, **({"inplace": False} if inplace else {}))

    def init(self, *args, **kwargs):
        Module.__init__(self)
        if len(args) > len(names):
            raise TypeError(f"{name}() takes at most {len(names)} arguments ({len(args)} given)")
        values = dict(defaults, **dict(zip(names, args)))
        for key, value in kwargs.items():
            if key not in defaults:
                raise TypeError(f"{name}() got an unexpected keyword argument '{key}'")
            values[key] = value
        for key, value in values.items():
            setattr(self, key, value)

    def forward(self, input):
        return fn(input, **{key: getattr(self, key) for key in names})

    def extra_repr(self):
        parts = [f"{key}={getattr(self, key)!r}" if isinstance(getattr(self, key), str)
                 else f"{key}={getattr(self, key)}" for key, _ in params]
        if inplace and self.inplace:
            parts.append("inplace=True")
        return ", ".join(parts)

    doc = f"Module form of ``ember.nn.functional.{fn.__name__}``: ``nn.{name}()(x) == F.{fn.__name__}(x)``."
    return type(name, (Module,), {"__init__": init, "forward": forward, "extra_repr": extra_repr,
                                  "__doc__": doc, "__module__": __name__})


ReLU = _activation("ReLU", F.relu, inplace=True)
ReLU6 = _activation("ReLU6", F.relu6, inplace=True)
LeakyReLU = _activation("LeakyReLU", F.leaky_relu, (("negative_slope", 0.01),), inplace=True)
ELU = _activation("ELU", F.elu, (("alpha", 1.0),), inplace=True)
SELU = _activation("SELU", F.selu, inplace=True)
CELU = _activation("CELU", F.celu, (("alpha", 1.0),), inplace=True)
GELU = _activation("GELU", F.gelu, (("approximate", "none"),))
SiLU = _activation("SiLU", F.silu, inplace=True)
Mish = _activation("Mish", F.mish, inplace=True)
Sigmoid = _activation("Sigmoid", F.sigmoid)
Tanh = _activation("Tanh", F.tanh)
Hardtanh = _activation("Hardtanh", F.hardtanh, (("min_val", -1.0), ("max_val", 1.0)), inplace=True)
Hardsigmoid = _activation("Hardsigmoid", F.hardsigmoid, inplace=True)
Hardswish = _activation("Hardswish", F.hardswish, inplace=True)
Softplus = _activation("Softplus", F.softplus, (("beta", 1.0), ("threshold", 20.0)))
Softsign = _activation("Softsign", F.softsign)
LogSigmoid = _activation("LogSigmoid", F.logsigmoid)
Softmax = _activation("Softmax", F.softmax, (("dim", None),))
LogSoftmax = _activation("LogSoftmax", F.log_softmax, (("dim", None),))
Softmin = _activation("Softmin", F.softmin, (("dim", None),))
GLU = _activation("GLU", F.glu, (("dim", -1),))
Threshold = _activation("Threshold", F.threshold, (("threshold", None), ("value", None)), inplace=True)



class Hardshrink(Module):
    """``F.hardshrink(x, lambd)``: x where |x| > lambd, else 0."""

    def __init__(self, lambd=0.5):
        super().__init__()
        self.lambd = lambd

    def forward(self, input):
        return F.hardshrink(input, self.lambd)

    def extra_repr(self):
        return f"{self.lambd}"


class Softshrink(Hardshrink):
    """``F.softshrink(x, lambd)``: x shrunk towards 0 by lambd."""

    def forward(self, input):
        return F.softshrink(input, self.lambd)

    def extra_repr(self):
        return str(self.lambd)


class RReLU(Module):
    """Randomized leaky ReLU: a slope from U(lower, upper) per element in training, their mean in eval."""

    def __init__(self, lower=1.0 / 8, upper=1.0 / 3, inplace=False):
        super().__init__()
        self.lower, self.upper, self.inplace = lower, upper, inplace

    def forward(self, input):
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self):
        return f"lower={self.lower}, upper={self.upper}" + (", inplace=True" if self.inplace else "")


class Softmax2d(Module):
    """Softmax over the channels of each spatial position of a (C, H, W) or (N, C, H, W) input."""

    def forward(self, input):
        if input.dim() not in (3, 4):
            raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {input.dim()}D instead")
        return F.softmax(input, -3)


class ChannelShuffle(Module):
    """``F.channel_shuffle(x, groups)``: interleave the channels of ``groups`` groups."""

    def __init__(self, groups):
        super().__init__()
        self.groups = groups

    def forward(self, input):
        return F.channel_shuffle(input, self.groups)

    def extra_repr(self):
        return f"groups={self.groups}"


Tanhshrink = _activation("Tanhshrink", F.tanhshrink)

__all__ = [
    "CELU", "ChannelShuffle", "ELU", "GELU", "GLU", "Hardshrink", "Hardsigmoid", "Hardswish", "Hardtanh",
    "LeakyReLU", "LogSigmoid", "LogSoftmax", "Mish", "RReLU", "ReLU", "ReLU6", "SELU", "SiLU", "Sigmoid", "Softmax",
    "Softmax2d", "Softmin", "Softplus", "Softshrink", "Softsign", "Tanh", "Tanhshrink", "Threshold",
]
