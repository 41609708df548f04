"""``ember.utils.hooks.RemovableHandle``, where PyTorch users look for it (defined in ``ember.autograd.hooks``)."""
from ember.autograd.hooks import RemovableHandle

__all__ = ["RemovableHandle"]
