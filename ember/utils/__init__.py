"""Utilities that sit beside the core: ``ember.utils.data`` (datasets, samplers, DataLoader),
``ember.utils.cpp_extension`` (C/C++ functions on tensors, built with cffi)
and ``ember.utils.hooks`` (``RemovableHandle``)."""
from ember.utils import cpp_extension, data, hooks  # noqa: F401
