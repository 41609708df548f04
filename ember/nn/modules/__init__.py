"""nn modules: the Module base class and its containers."""
from ember.nn.modules.activation import *  # noqa: F403
from ember.nn.modules.activation import __all__ as _activations
from ember.nn.modules.container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from ember.nn.modules.linear import Flatten, Identity, Linear, Unflatten
from ember.nn.modules.loss import *  # noqa: F403
from ember.nn.modules.loss import __all__ as _losses
from ember.nn.modules.module import Module

__all__ = ["Module", "ModuleDict", "ModuleList", "ParameterDict", "ParameterList", "Sequential",
           "Flatten", "Identity", "Linear", "Unflatten"] + _activations + _losses
from ember.nn.modules.attention import MultiheadAttention  # noqa: E402
__all__ += ["MultiheadAttention"]
