"""Utilities that sit beside the core: ``ember.utils.data`` (datasets, samplers, DataLoader)
and ``ember.utils.hooks`` (``RemovableHandle``)."""
from ember.utils import data, hooks  # noqa: F401
