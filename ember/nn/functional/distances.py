"""Distances of ``nn.functional``: the cosine similarity and the pairwise p-norm distance.

>>> import ember
>>> import ember.nn.functional as F
>>> F.pairwise_distance(ember.zeros(1, 2), ember.ones(1, 2)).shape
ember.Size([1])
"""
import numpy as np

from ember.linalg import vector_norm
from ember.ops import pointwise
from ember.ops.dispatch import check_broadcast


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """Cosine of the angle between x1 and x2 along dim: ``F.cosine_similarity(a, a, dim=0)`` -> ``1.``."""
    check_broadcast((x1, x2))
    shape = np.broadcast_shapes(x1.shape, x2.shape)
    x1, x2 = x1.expand(shape), x2.expand(shape)
    n1 = pointwise.clamp(vector_norm(x1, dim=dim, keepdim=True), min=eps)
    n2 = pointwise.clamp(vector_norm(x2, dim=dim, keepdim=True), min=eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """p-norm of ``x1 - x2 + eps`` over the last dim: ``F.pairwise_distance(zeros(1, 2), ember.ones(1, 2))``."""
    dim = max(x1.dim(), x2.dim()) - 1
    return vector_norm(x1 - x2 + eps, ord=p, dim=max(dim, 0), keepdim=keepdim)
