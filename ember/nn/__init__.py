"""ember.nn: modules, parameters and initialisation (``import ember.nn as nn``)."""
from ember.nn import attention, common_types, functional, grad, init, utils
from ember.nn.modules import *  # noqa: F403
from ember.nn.modules import __all__ as _modules
from ember.nn.modules import Module, ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from ember.nn.parameter import Buffer, Parameter, UninitializedBuffer, UninitializedParameter

__all__ = ["Buffer", "Module", "UninitializedBuffer", "UninitializedParameter", "attention", "common_types", "grad",
           "utils", "ModuleDict", "ModuleList", "Parameter", "ParameterDict", "ParameterList",
           "Sequential", "functional", "init"]
__all__ += [name for name in _modules if name not in __all__]
