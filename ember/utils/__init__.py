"""Utilities that sit beside the core: ``ember.utils.data`` (datasets, samplers, DataLoader),
``ember.utils.cpp_extension`` (C/C++ functions on tensors, built with cffi),
``ember.utils.hooks`` (``RemovableHandle``) and ``ember.utils.checkpoint`` (activation checkpointing).
``ember.utils.tensorboard`` loads only when imported (it needs tensorboard)."""
from ember.utils import checkpoint, cpp_extension, data, hooks  # noqa: F401
