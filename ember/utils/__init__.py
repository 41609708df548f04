"""Utilities that sit beside the core: ``ember.utils.data`` (datasets, samplers, DataLoader),
``ember.utils.hooks`` (``RemovableHandle``) and ``ember.utils.checkpoint`` (activation
checkpointing). ``ember.utils.tensorboard`` loads only when imported (it needs tensorboard)."""
from ember.utils import checkpoint, data, hooks  # noqa: F401
