"""What the batching rules share: logical ranks, dims shifted past the batch dim, and
operands broadcast along the batch. A rule gets the physical operands (batch first where
``batched``), the batch size and the primitive's params, and returns the physical result."""
from ember._tensor import Tensor
from ember.func._batched import RULES


def rank(a, batched):
    """The logical rank of an operand."""
    return a.ndim - 1 if batched else getattr(a, "ndim", 0)


def shift(d, nd):
    """Logical dim ``d`` of a rank-``nd`` tensor as a physical dim (past the batch dim)."""
    n = max(nd, 1)
    if not -n <= d < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {d})")
    return d % n + 1


def shift_dims(dims, nd):
    """A reduction's ``dims`` (None: all, an int, or a sequence) as physical dims."""
    if dims is None:
        return tuple(range(1, nd + 1))
    if isinstance(dims, int):
        return (shift(dims, nd),)
    return tuple(shift(d, nd) for d in dims)


def batch(a, batched, size):
    """``a`` with its batch dim first: an unbatched operand is broadcast along the batch (a view)."""
    if batched or not isinstance(a, Tensor):
        return a
    return a.unsqueeze(0).expand(size, *a.shape)


def register(names, rule):
    for name in names.split():
        RULES[name] = rule


def call(prim, args, batched, size, params):
    """The rule of primitives that act on trailing dims and accept any leading ones."""
    return prim(*args, **params)
