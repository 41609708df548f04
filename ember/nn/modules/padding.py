"""Padding layers: ``nn.ReflectionPad2d(2)`` and friends, thin modules over ``F.pad``."""
from ember.nn import functional as F  # noqa: N812 (torch convention)
from ember.nn.modules.module import Module

__all__ = []


class _PadNd(Module):
    """Pads the last ``dims`` dimensions; ``padding`` is an int or (left, right, top, bottom, front, back)[:2*dims]."""

    mode = "constant"
    dims = 1

    def __init__(self, padding, value=0.0):
        super().__init__()
        self.padding = (padding,) * (2 * self.dims) if isinstance(padding, int) else tuple(padding)
        if len(self.padding) != 2 * self.dims:
            raise ValueError(f"{type(self).__name__}: padding must be an int or a {2 * self.dims}-tuple, "
                             f"got {padding!r}")
        self.value = value

    def forward(self, input):
        if self.mode == "constant":
            return F.pad(input, self.padding, "constant", self.value)
        return F.pad(input, self.padding, self.mode)

    def extra_repr(self):
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value):
        super().__init__(padding, value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class _ZeroPadNd(_PadNd):
    def __init__(self, padding):
        super().__init__(padding, 0.0)


def _define(base, prefix, mode):
    for dims in (1, 2, 3):
        name = f"{prefix}{dims}d"
        cls = type(name, (base,), {"mode": mode, "dims": dims, "__module__": __name__,
                                   "__doc__": f"``F.pad(x, padding, {mode!r})`` over the last {dims} dimension(s)."})
        globals()[name] = cls
        __all__.append(name)


_define(_PadNd, "ReflectionPad", "reflect")
_define(_PadNd, "ReplicationPad", "replicate")
_define(_PadNd, "CircularPad", "circular")
_define(_ConstantPadNd, "ConstantPad", "constant")
_define(_ZeroPadNd, "ZeroPad", "constant")
