"""The affine layers of ``nn.functional``: ``linear`` (one node, in ``ember.ops.linear``) and ``bilinear``.

>>> import ember
>>> import ember.nn.functional as F
>>> F.linear(ember.ones(4, 3), ember.ones(2, 3)).shape
ember.Size([4, 2])
"""
from ember.ops.einsum import einsum
from ember.ops.linear import linear

__all__ = ["bilinear", "linear"]


def bilinear(input1, input2, weight, bias=None):
    """``y_o = x1^T W_o x2 + b_o``: ``F.bilinear(ember.ones(4, 2), ember.ones(4, 3), ember.ones(5, 2, 3)).shape``."""
    if input1.shape[-1] != weight.shape[1] or input2.shape[-1] != weight.shape[2]:
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {input1.shape[-1]} and "
                           f"{input2.shape[-1]}, weight expects {weight.shape[1]} and {weight.shape[2]}")
    out = einsum("...i,oij,...j->...o", input1, weight, input2)
    return out if bias is None else out + bias
