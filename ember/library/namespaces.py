"""Op namespaces: ``ember.ops.<namespace>`` objects and the rules for ``"namespace::name"``."""
import keyword

from ember import ops as _ops_package
from ember.ops.registry import NAMESPACES

_RESERVED = {"aten", "prim", "prims", "ember", "torch"}


class OpNamespace:
    """``ember.ops.<namespace>``: its ops as attributes."""

    def __init__(self, name):
        self.__dict__["_name"], self.__dict__["_ops"] = name, {}

    def __getattr__(self, op):
        try:
            return self.__dict__["_ops"][op]
        except KeyError:
            raise AttributeError(f"'_OpNamespace' '{self._name}' object has no attribute '{op}'") from None

    def __dir__(self):
        return sorted(self._ops)

    def __repr__(self):
        return f"ember.ops.{self._name}"


def split_qualname(qualname):
    """``("mylib", "swish")`` of ``"mylib::swish"``; ValueError for anything else."""
    if not isinstance(qualname, str) or qualname.count("::") != 1:
        raise ValueError(f"expected a qualified op name 'namespace::name', got {qualname!r}")
    namespace, name = qualname.split("::")
    for part, what in ((namespace, "namespace"), (name, "name")):
        if not part.isidentifier() or keyword.iskeyword(part):
            raise ValueError(f"invalid op {what} {part!r} in {qualname!r}: it must be a Python identifier")
    if namespace in _RESERVED or (namespace not in NAMESPACES and hasattr(_ops_package, namespace)):
        raise ValueError(f"the namespace {namespace!r} is reserved (ember's own ops live there); "
                         f"pick another, e.g. 'mylib::{name}'")
    if name == "default":
        raise ValueError(f"{qualname!r}: 'default' names an op's overload, not an op")
    return namespace, name


def namespace(name):
    ns = NAMESPACES.get(name)
    if ns is None:
        ns = NAMESPACES[name] = OpNamespace(name)
    return ns
