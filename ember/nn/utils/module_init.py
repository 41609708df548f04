"""``skip_init``: build a module without running its parameter initialisation.

>>> import ember
>>> from ember import nn
>>> nn.utils.skip_init(nn.Linear, 5, 1).weight.shape
ember.Size([1, 5])
"""
import inspect

from ember.nn.modules.module import Module

__all__ = ["skip_init"]


def skip_init(module_cls, *args, **kwargs):
    """``module_cls(*args, **kwargs)`` built on the meta device (no values computed), then given
    uninitialised memory on ``device`` (default cpu)."""
    if not (isinstance(module_cls, type) and issubclass(module_cls, Module)):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    device = kwargs.pop("device", "cpu")
    kwargs["device"] = "meta"
    return module_cls(*args, **kwargs).to_empty(device=device)
