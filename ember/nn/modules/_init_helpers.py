"""Parameter set-up shared by several layers: a weight with an optional bias, and their default inits."""
import math

from ember.creation import empty
from ember.nn import init
from ember.nn.parameter import Parameter


def make_weight_and_bias(module, weight_shape, bias_shape, bias, device=None, dtype=None):
    """Registers ``module.weight`` (uninitialised, ``weight_shape``) and ``module.bias`` (``bias_shape``), or
    ``bias = None`` when ``bias`` is false: ``make_weight_and_bias(self, (out, in), out, True)``."""
    module.weight = Parameter(empty(weight_shape, device=device, dtype=dtype))
    if bias:
        module.bias = Parameter(empty(bias_shape, device=device, dtype=dtype))
    else:
        module.register_parameter("bias", None)


def reset_kaiming_uniform(weight, bias):
    """torch's default for Linear and Conv: kaiming_uniform(a=sqrt(5)) weight, bias ~ U(+-1/sqrt(fan_in))
    (zeros when fan_in is 0): ``reset_kaiming_uniform(self.weight, self.bias)``."""
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = init._calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        init.uniform_(bias, -bound, bound)


def make_affine(module, shape, affine, bias, device=None, dtype=None):
    """The norm layers' optional affine: weight and bias of ``shape`` (ones and zeros after
    ``reset_affine``), bias only when ``bias``; both None when not ``affine``."""
    if affine:
        make_weight_and_bias(module, shape, shape, bias, device, dtype)
    else:
        module.register_parameter("weight", None)
        module.register_parameter("bias", None)


def reset_affine(module):
    """Weight to ones and bias to zeros, where present: ``reset_affine(self)``."""
    if module.weight is not None:
        init.ones_(module.weight)
    if module.bias is not None:
        init.zeros_(module.bias)
