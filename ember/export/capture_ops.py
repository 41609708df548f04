"""The one op capture adds: ``detach`` (the same values, no gradient), which eager code does
outside the dispatcher (``Tensor.detach`` shares memory) but a graph must record."""
from ember.ops.dispatch import primitive


@primitive("DetachBackward0", name="detach")
def detach(ctx, xp, x):
    return x  # no derivative: the dispatcher gives the result no history
