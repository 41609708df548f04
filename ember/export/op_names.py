"""Registry names of primitives: how a call node names its op, and the op a name means on load.

``ember.ops.registry.PRIMITIVES`` (name -> Primitive, unique names) is the registry. Where it is
not present yet, the table is built from every Primitive record alive (all are made when
``ember`` is imported), and a name shared by two different records is made unique with its node name.
"""
import gc

from ember.ops import registry
from ember.ops.dispatch import Primitive

_table = {}
_name_of = {}


def _scan():
    return [o for o in gc.get_objects() if type(o) is Primitive]


def _build():
    prims = getattr(registry, "PRIMITIVES", None)
    if prims is not None:
        _table.update(prims)
        _name_of.update({id(p): name for name, p in prims.items()})
        return
    records = _scan()
    by_name = {}
    for p in records:
        by_name.setdefault(p.name, []).append(p)
    for name, group in by_name.items():
        keys = [_key(p, len(group) == 1 and name != "<lambda>", group) for p in group]
        for key, p in zip(keys, group):
            if keys.count(key) == 1:  # a name that is still ambiguous can't be saved (name_of says so)
                _table[key] = p
                _name_of[id(p)] = key


def _key(p, unique, group):
    if unique:
        return p.name
    if sum(q.node_name == p.node_name for q in group) == 1:
        return f"{p.name}.{p.node_name}"
    return f"{p.forward.__module__}.{p.forward.__qualname__}.{p.node_name}"


def name_of(prim):
    """The registry name a call node stores for ``prim``."""
    name = _name_of.get(id(prim))
    if name is None:
        _table.clear()
        _name_of.clear()
        _build()
        name = _name_of.get(id(prim))
        if name is None:
            raise RuntimeError(f"op {prim.name} ({prim.node_name}) is not in the op registry, so a graph can't name it")
    return name


def lookup(name):
    """The Primitive a registry name means, or None."""
    if not _table:
        _build()
    return _table.get(name)
