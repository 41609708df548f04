"""Nested containers of tensors (tuples, lists, dicts, namedtuples) flattened to a list of
leaves and rebuilt from one: the argument and result structures the transforms walk."""


class Spec:
    """The structure of a nested container: its kind, its keys and its children's specs."""

    __slots__ = ("kind", "keys", "children")

    def __init__(self, kind, keys, children):
        self.kind, self.keys, self.children = kind, keys, children

    @property
    def num_leaves(self):
        return 1 if self.kind is None else sum(c.num_leaves for c in self.children)

    def __eq__(self, other):
        return (isinstance(other, Spec) and self.kind == other.kind and self.keys == other.keys
                and self.children == other.children)

    def __repr__(self):
        if self.kind is None:
            return "*"
        name = getattr(self.kind, "__name__", str(self.kind))
        return f"TreeSpec({name}, {self.keys}, [{', '.join(map(repr, self.children))}])"


LEAF = Spec(None, None, ())


def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def tree_flatten(tree):
    """``(leaves, spec)``: ``tree_flatten(((a, b), {"c": c}))[0] == [a, b, c]``."""
    leaves = []
    return leaves, _flatten(tree, leaves)


def _flatten(tree, leaves):
    if isinstance(tree, dict):
        keys = list(tree)
        return Spec(type(tree), tuple(keys), tuple(_flatten(tree[k], leaves) for k in keys))
    if isinstance(tree, (tuple, list)):
        kind = type(tree) if _is_namedtuple(tree) or type(tree) in (tuple, list) else (list if isinstance(tree, list) else tuple)
        return Spec(kind, None, tuple(_flatten(x, leaves) for x in tree))
    leaves.append(tree)
    return LEAF


def tree_unflatten(leaves, spec):
    it = iter(leaves)
    return _build(spec, it)


def _build(spec, it):
    if spec.kind is None:
        return next(it)
    children = [_build(c, it) for c in spec.children]
    if issubclass(spec.kind, dict):
        return spec.kind(zip(spec.keys, children))
    if spec.kind is not tuple and issubclass(spec.kind, tuple):
        return spec.kind(*children)
    return spec.kind(children)


def broadcast_prefix(prefix, spec, is_leaf_value):
    """The leaves of ``prefix`` (a tree that matches ``spec`` down to some depth, with a
    value at each stopping point) repeated over the leaves of ``spec``; None if they don't match."""
    out = []
    return out if _broadcast(prefix, spec, is_leaf_value, out) else None


def _broadcast(prefix, spec, is_leaf_value, out):
    if is_leaf_value(prefix):
        out.extend([prefix] * spec.num_leaves)
        return True
    if spec.kind is None:
        return False
    if isinstance(prefix, dict):
        if not issubclass(spec.kind, dict) or set(prefix) != set(spec.keys):
            return False
        return all(_broadcast(prefix[k], c, is_leaf_value, out) for k, c in zip(spec.keys, spec.children))
    if isinstance(prefix, (tuple, list)):
        if issubclass(spec.kind, dict) or len(prefix) != len(spec.children):
            return False
        return all(_broadcast(p, c, is_leaf_value, out) for p, c in zip(prefix, spec.children))
    return False
