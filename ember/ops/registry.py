"""Public names: each op module declares its functions here once, and the registry
attaches them to ``Tensor`` (method and in-place forms) and to ``ember``'s namespace."""
from ember._tensor import Tensor
from ember.ops.dispatch import inplace as run_inplace

PUBLIC = {}


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
