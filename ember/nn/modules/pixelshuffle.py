"""PixelShuffle and PixelUnshuffle: channels to space and back."""
from ember.nn import functional as F  # noqa: N812 (torch convention)
from ember.nn.modules.module import Module


class PixelShuffle(Module):
    """(*, C*r*r, H, W) -> (*, C, H*r, W*r): ``nn.PixelShuffle(2)(ember.ones(1, 4, 3, 3)).shape == (1, 1, 6, 6)``."""

    def __init__(self, upscale_factor):
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input):
        return F.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self):
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(*, C, H*r, W*r) -> (*, C*r*r, H, W): ``nn.PixelUnshuffle(2)(ember.ones(1, 1, 6, 6)).shape == (1, 4, 3, 3)``."""

    def __init__(self, downscale_factor):
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input):
        return F.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self):
        return f"downscale_factor={self.downscale_factor}"


__all__ = ["PixelShuffle", "PixelUnshuffle"]
