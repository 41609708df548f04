"""LayerNorm, GroupNorm, RMSNorm and LocalResponseNorm."""
import numbers

from ember.creation import empty, tensor, zeros_like
from ember.nn import functional as F  # noqa: N812 (torch convention)
from ember.nn import init
from ember.nn.modules._init_helpers import make_affine, reset_affine
from ember.nn.modules.module import Module
from ember.nn.parameter import Parameter
from ember.ops.join import cat

__all__ = ["GroupNorm", "LayerNorm", "LocalResponseNorm", "RMSNorm"]


def _as_shape(shape):
    return (shape,) if isinstance(shape, numbers.Integral) else tuple(shape)


class LayerNorm(Module):
    """Normalises over the trailing ``normalized_shape`` dims, then a learnt elementwise affine:
    ``nn.LayerNorm(8)(ember.randn(2, 8))``."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, device=None, dtype=None):
        super().__init__()
        self.normalized_shape = _as_shape(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        make_affine(self, self.normalized_shape, elementwise_affine, bias, device, dtype)
        self.reset_parameters()

    def reset_parameters(self):
        reset_affine(self)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class GroupNorm(Module):
    """Normalises each group of channels per sample, then a per-channel affine: ``nn.GroupNorm(2, 4)``."""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None, *, bias=True):
        super().__init__()
        if num_channels % num_groups:
            raise ValueError(f"num_channels ({num_channels}) must be divisible by num_groups ({num_groups})")
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        make_affine(self, num_channels, affine, bias, device, dtype)
        self.reset_parameters()

    def reset_parameters(self):
        reset_affine(self)

    def forward(self, input):
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


class RMSNorm(Module):
    """x / rms(x) over the trailing dims, times a learnt weight: ``nn.RMSNorm(8)(ember.randn(2, 8))``."""

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, device=None, dtype=None):
        super().__init__()
        self.normalized_shape = _as_shape(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(empty(self.normalized_shape, device=device, dtype=dtype))
        else:
            self.register_parameter("weight", None)
        self.reset_parameters()

    def reset_parameters(self):
        if self.weight is not None:
            init.ones_(self.weight)

    def forward(self, input):
        return F.rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class LocalResponseNorm(Module):
    """Normalises each channel by its ``size`` neighbours' energy: ``nn.LocalResponseNorm(2)``."""

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input):
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class CrossMapLRN2d(LocalResponseNorm):
    """torch's legacy cross-channel LRN of 4-d input: x * (k + alpha/size * W) ** -beta.

    W sums x² over channels [c - p + 1, c + p - 1] (p = (size - 1) // 2 + 1, clipped to the channels)
    and, as torch's running-sum kernel does, keeps channel 0 in the sum once the window has moved
    past it. Gradients are the exact derivative of these values (torch's hand-written backward
    assumes a symmetric window instead)."""

    def forward(self, input):
        if input.dim() != 4:
            raise ValueError(f"CrossMapLRN2d: Expected input to be 4D, got {input.dim()}D instead.")
        channels = input.shape[1]
        half = (self.size - 1) // 2 + 1
        square = input * input
        sums = cat([zeros_like(input[:, :1]), square.cumsum(1)], 1)
        ends = tensor([min(channels, c + half) for c in range(channels)], device=input.device)
        starts = tensor([max(0, c - half + 1) for c in range(channels)], device=input.device)
        window = sums.index_select(1, ends) - sums.index_select(1, starts)
        stuck = tensor([float(c >= half) for c in range(channels)], dtype=input.dtype, device=input.device)
        window = window + square[:, :1] * stuck.reshape(1, -1, 1, 1)
        return input * (self.k + self.alpha / self.size * window) ** -self.beta


__all__ += ["CrossMapLRN2d"]
