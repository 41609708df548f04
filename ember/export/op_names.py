"""Registry names of primitives: how a call node names its op, and the op a name means on load.

A call node's ``target`` is the record's unique name in ``ember.ops.registry.PRIMITIVES`` (or, for a
custom op of ``ember.library``, its ``"namespace.name"`` in ``ember.ops.registry.CUSTOM_OPS``).
A record used in one of its variants (the same forward and derivative recorded under
another PyTorch node name, ``MmBackward0``/``BmmBackward0``) also keeps that node name in
``meta["node_name"]``, and replay uses that variant (made on load where the op makes it
lazily: variants made on first use keep their record's flags).
"""
from ember.ops.registry import CUSTOM_OPS, PRIMITIVES


def name_of(prim):
    """The registry name a call node stores for ``prim`` (a record or a variant of one)."""
    record = getattr(prim, "base", prim)
    if PRIMITIVES.get(prim.name) is not record and CUSTOM_OPS.get(prim.name) is not record:
        raise RuntimeError(f"op {prim.name} ({prim.node_name}) is not in the op registry, so a graph can't name it")
    return prim.name


def variant_name(prim):
    """The node name to keep in the metadata when ``prim`` is a variant, else None."""
    return prim.node_name if getattr(prim, "base", None) is not None else None


def lookup(name, node_name=None):
    """The record (or its variant) a call node names, or None."""
    prim = PRIMITIVES.get(name) or CUSTOM_OPS.get(name)
    if prim is None or node_name is None:
        return prim
    try:
        return prim.named(node_name)
    except KeyError:  # a variant its op makes on first use (AvgPool2DBackward0): make it now
        if not (node_name.isidentifier() and len(node_name) <= 80):
            return None
        return prim.variant(node_name)


def draws_random(node):
    """Whether a call node draws random numbers (ember's random records, or an op given a generator)."""
    return node.meta["_prim"].forward.__module__ in ("ember.ops.random", "ember.random") or "generator" in node.kwargs


# ops whose output shape depends on their input's values: a compiled graph, specialised to the
# shapes it saw, can't hold them (``ember.compile`` breaks the graph there, as torch._dynamo does)
VALUE_DEPENDENT_SHAPES = frozenset({"nonzero", "masked_select", "unique"})
