"""ember.nn: modules, parameters and initialisation (``import ember.nn as nn``)."""
from ember.nn import functional, init
from ember.nn.modules import *  # noqa: F403
from ember.nn.modules import __all__ as _modules
from ember.nn.modules import Module, ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from ember.nn.parameter import Buffer, Parameter

__all__ = ["Buffer", "Module", "ModuleDict", "ModuleList", "Parameter", "ParameterDict", "ParameterList",
           "Sequential", "functional", "init"]
__all__ += [name for name in _modules if name not in __all__]
