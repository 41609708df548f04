"""Dropout modules: thin wrappers over the functional dropout family."""
from ember.nn import functional as F  # noqa: N812 (torch convention)
from ember.nn.functional.dropouts import check_p
from ember.nn.modules.module import Module

__all__ = ["AlphaDropout", "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "FeatureAlphaDropout"]


class _DropoutNd(Module):
    _fn = None

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        check_p(p)
        self.p = p
        self.inplace = inplace

    def forward(self, input):
        return type(self)._fn(input, self.p, self.training, self.inplace)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zeroes elements with probability p in training, scaling the rest by 1/(1-p): ``nn.Dropout(0.1)``."""
    _fn = staticmethod(F.dropout)


class Dropout1d(_DropoutNd):
    """Zeroes whole channels of (N, C, L) input: ``nn.Dropout1d(0.1)``."""
    _fn = staticmethod(F.dropout1d)


class Dropout2d(_DropoutNd):
    """Zeroes whole channels of (N, C, H, W) input: ``nn.Dropout2d(0.1)``."""
    _fn = staticmethod(F.dropout2d)


class Dropout3d(_DropoutNd):
    """Zeroes whole channels of (N, C, D, H, W) input: ``nn.Dropout3d(0.1)``."""
    _fn = staticmethod(F.dropout3d)


class AlphaDropout(_DropoutNd):
    """Dropout for SELU networks (keeps mean and variance): ``nn.AlphaDropout(0.1)``."""
    _fn = staticmethod(F.alpha_dropout)


class FeatureAlphaDropout(_DropoutNd):
    """Alpha dropout of whole channels: ``nn.FeatureAlphaDropout(0.1)``."""
    _fn = staticmethod(F.feature_alpha_dropout)
