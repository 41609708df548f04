"""``convert_conv2d_weight_memory_format`` / ``convert_conv3d_...``: give the weights of every (transposed)
convolution under a module a memory format.

ember stores every tensor in one row-major layout and its convolutions choose their own working
layout, so the conversion leaves values and shapes unchanged: each weight is made contiguous.
"""
from ember.nn.modules.conv import Conv2d, Conv3d, ConvTranspose2d, ConvTranspose3d

__all__ = ["convert_conv2d_weight_memory_format", "convert_conv3d_weight_memory_format"]


def _convert(module, memory_format, kinds):
    if isinstance(module, kinds):
        module.weight.data = module.weight.detach().contiguous(memory_format=memory_format)
    for child in module.children():
        _convert(child, memory_format, kinds)
    return module


def convert_conv2d_weight_memory_format(module, memory_format):
    """Convert the weights of the Conv2d/ConvTranspose2d layers in ``module`` (returned)."""
    return _convert(module, memory_format, (Conv2d, ConvTranspose2d))


def convert_conv3d_weight_memory_format(module, memory_format):
    """Convert the weights of the Conv3d/ConvTranspose3d layers in ``module`` (returned)."""
    return _convert(module, memory_format, (Conv3d, ConvTranspose3d))
