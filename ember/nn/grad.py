"""``nn.grad``: the gradients of a convolution with respect to its input or its weight, by themselves.

>>> import ember
>>> from ember.nn import grad
>>> grad.conv1d_input((1, 1, 5), ember.ones(1, 1, 3), ember.ones(1, 1, 3)).tolist()
[[[1.0, 2.0, 3.0, 2.0, 1.0]]]
"""
from ember.autograd import enable_grad, grad
from ember.creation import zeros
from ember.ops import conv as _conv

__all__ = ["conv1d_input", "conv1d_weight", "conv2d_input", "conv2d_weight", "conv3d_input", "conv3d_weight"]


def _with_respect_to(nd, which, known, size, grad_output, stride, padding, dilation, groups):
    fn = getattr(_conv, f"conv{nd}d")
    free = zeros(tuple(size), dtype=known.dtype, device=known.device, requires_grad=True)
    keep = known.requires_grad or grad_output.requires_grad
    with enable_grad():
        args = (free, known) if which == "input" else (known, free)
        out = fn(*args, None, stride, padding, dilation, groups)
        return grad(out, free, grad_output, create_graph=keep)[0]


def _pair(nd):
    def input_grad(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
        return _with_respect_to(nd, "input", weight, input_size, grad_output, stride, padding, dilation, groups)

    def weight_grad(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1):
        return _with_respect_to(nd, "weight", input, weight_size, grad_output, stride, padding, dilation, groups)
    input_grad.__name__, weight_grad.__name__ = f"conv{nd}d_input", f"conv{nd}d_weight"
    input_grad.__doc__ = f"The gradient of conv{nd}d with respect to an input of ``input_size``."
    weight_grad.__doc__ = f"The gradient of conv{nd}d with respect to a weight of ``weight_size``."
    return input_grad, weight_grad


conv1d_input, conv1d_weight = _pair(1)
conv2d_input, conv2d_weight = _pair(2)
conv3d_input, conv3d_weight = _pair(3)
