"""The two ops capture adds.

``detach`` (the same values, no gradient): eager code detaches outside the dispatcher
(``Tensor.detach`` shares memory), but a graph must record it.

``input_alias`` (the same array, gradient passed through): what capture feeds the program in
place of a float input, so that ops see a tensor that needs a gradient (and take their
differentiable form) with the input's very memory layout (a copy would be contiguous, and
ops pick views or copies by layout); it is not a leaf, so an in-place write into it is
reported rather than refused. It never appears in a graph."""
from ember.ops.dispatch import primitive


@primitive("DetachBackward0", name="detach")
def detach(ctx, xp, x):
    return x  # no derivative: the dispatcher gives the result no history


@primitive("AliasBackward0", name="input_alias")
def input_alias(ctx, xp, x):
    return x


input_alias.derivative(lambda ctx, g: g)
