"""ember.nn: modules, parameters and initialisation (``import ember.nn as nn``)."""
from ember.nn import init
from ember.nn.modules import Module, ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from ember.nn.parameter import Buffer, Parameter

__all__ = ["Buffer", "Module", "ModuleDict", "ModuleList", "Parameter", "ParameterDict", "ParameterList",
           "Sequential", "init"]
