"""The one table of classes and functions a checkpoint may name, shared by the encoder and the decoder.

``object`` nodes may name a module class (ember's own ``nn.Module`` subclasses) or a class the user
allowlisted; ``global`` nodes may name those classes or a function of ``ember.nn.functional``. The encoder
writes nothing outside this table and the decoder accepts nothing outside it, so a file cannot ask for more
than ``ember.save`` could have written. A module's state may not hold hook stores (hooks are never saved)
nor an instance attribute that hides one of its class's methods (such as ``forward``).

With ``trusted=True`` (``ember.load(..., weights_only=False)``) the caller vouches for the file, and the
lookups import the named module as pickle would.
"""
import importlib
import inspect
import types

from ember._checkpoint import allowlist
from ember.nn import functional
from ember.nn.modules.module import Module

_MODULE_STATE = ("_parameters", "_buffers", "_modules")


def _module_classes():
    found, todo = {}, [Module]
    while todo:
        cls = todo.pop()
        if cls.__module__.split(".")[0] == "ember" and "<" not in cls.__qualname__:
            found[allowlist.class_path(cls)] = cls
        todo.extend(cls.__subclasses__())
    return found


def _functions():
    return {allowlist.class_path(f): f for f in vars(functional).values()
            if isinstance(f, types.FunctionType) and f.__module__.split(".")[0] == "ember" and "<" not in f.__qualname__}


_CACHE = {}


def _lookup(path, table):
    """``path`` in the user's allowlist or in ``table()`` (rebuilt on a miss: classes defined since count)."""
    found = allowlist.lookup(path)
    if found is None:
        if path not in _CACHE.get(table, {}):
            _CACHE[table] = table()
        found = _CACHE[table].get(path)
    return found


def _import(path):
    for cut in range(path.count("."), 0, -1):
        module, qualname = ".".join(path.split(".")[:cut]), ".".join(path.split(".")[cut:])
        try:
            obj = importlib.import_module(module)
        except ImportError:
            continue
        for attr in qualname.split("."):
            obj = getattr(obj, attr, None)
        return obj
    return None


def object_class(path, trusted=False):
    """The class an ``object`` node names, or None when the table does not hold it."""
    cls = _import(path) if trusted else _lookup(path, _module_classes)
    return cls if isinstance(cls, type) else None


def global_object(path, trusted=False):
    """The function or class a ``global`` node names, or None when the table does not hold it."""
    if trusted:
        obj = _import(path)
    else:
        obj = _lookup(path, _functions) or _lookup(path, _module_classes)
    return obj if isinstance(obj, (type, types.FunctionType, types.BuiltinFunctionType)) else None


def saveable_object(obj):
    """Whether the encoder writes ``obj`` as an ``object`` node."""
    return isinstance(obj, Module) or (hasattr(obj, "__dict__") and allowlist.is_allowed(type(obj)))


def saveable_global(obj):
    """Whether the encoder writes ``obj`` (a function or class) as a ``global`` node."""
    path = allowlist.class_path(obj)
    return "<" not in obj.__qualname__ and global_object(path) is obj


def module_state_key(cls, key):
    """Why a module of class ``cls`` may not hold the instance attribute ``key``, or None when it may."""
    if "hook" in key:
        return "hooks are never saved"
    if key not in _MODULE_STATE and callable(inspect.getattr_static(cls, key, None)):
        return f"it would hide the method {cls.__name__}.{key}"
    return None
