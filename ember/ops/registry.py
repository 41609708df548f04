"""The registries: ``PUBLIC`` maps each public name to its function (``ember.<name>``;
the registry also attaches method and in-place forms to ``Tensor``), ``PRIMITIVES``
maps each primitive record's unique name to the record (filled as records are created)."""
from ember._tensor import Tensor
from ember.ops.dispatch import PRIMITIVES
from ember.ops.inplace import inplace as run_inplace

__all__ = ["CUSTOM_OPS", "NAMESPACES", "PRIMITIVES", "PUBLIC", "method", "public"]

PUBLIC = {}
NAMESPACES = {}  # custom-op namespace -> its ops (``ember.ops.<namespace>``; ember.library fills it)
CUSTOM_OPS = {}  # "namespace.name" -> a custom op's dispatcher record (kept apart from the built-in PRIMITIVES)


def public(fn=None, *, method=True, inplace=False, aliases=(), namespace=True):
    """Export ``fn`` as ``ember.<name>`` and, when asked, ``Tensor.<name>`` and ``Tensor.<name>_``."""
    def register(fn):
        for name in (fn.__name__, *aliases):
            if namespace:
                PUBLIC[name] = fn
            if method:
                setattr(Tensor, name, fn)
            if inplace:
                setattr(Tensor, name + "_", _inplace_method(fn, name + "_"))
        return fn
    return register(fn) if fn is not None else register


def _inplace_method(fn, name):
    def method(self, *args, **kwargs):
        return run_inplace(self, fn, *args, **kwargs)
    method.__name__ = name
    method.__doc__ = f"In-place version of :func:`ember.{fn.__name__}`."
    return method


def method(name):
    """Attach a function as ``Tensor.<name>`` only."""
    def register(fn):
        setattr(Tensor, name, fn)
        return fn
    return register
