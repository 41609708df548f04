"""Helpers the distributions share: broadcasting parameters, probabilities <-> logits,
lazily computed parameters, and packing lower-triangular matrices into vectors."""
import numbers

import numpy as np
from functools import update_wrapper

from ember._tensor import Tensor
from ember.autograd import enable_grad
from ember.backend.typeinfo import finfo
from ember.creation import tensor
from ember.nn.functional import softmax
from ember.ops.grids import broadcast_tensors

euler_constant = 0.57721566490153286060  # Euler-Mascheroni


def broadcast_all(*values):
    """Broadcast tensors and numbers to tensors of one shape (numbers take the tensors' dtype).

    >>> loc, scale = broadcast_all(ember.zeros(3), 1.0)
    """
    if not all(isinstance(v, (Tensor, numbers.Number)) for v in values):
        raise ValueError("Input arguments must all be instances of numbers.Number, ember.Tensor or objects "
                         "implementing __torch_function__.")
    ref = next((v for v in values if isinstance(v, Tensor)), None)
    if ref is None:
        return tuple(tensor(float(v)) for v in values)
    values = tuple(v if isinstance(v, Tensor) else tensor(v, dtype=ref.dtype, device=ref.device) for v in values)
    return broadcast_tensors(*values)


def _sum_rightmost(value, dim):
    """Sum out the ``dim`` rightmost dimensions of ``value``."""
    return value if dim == 0 else value.reshape(*value.shape[:value.dim() - dim], -1).sum(-1)


def logits_to_probs(logits, is_binary=False):
    """Probabilities from logits: sigmoid for a binary variable, softmax over the last dim otherwise."""
    return logits.sigmoid() if is_binary else softmax(logits, dim=-1)


def clamp_probs(probs):
    """Probabilities kept inside (0, 1) by the dtype's eps, so their logs are finite."""
    eps = finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs, is_binary=False):
    """Logits from probabilities (log-odds when ``is_binary``)."""
    p = clamp_probs(probs)
    return p.log() - (-p).log1p() if is_binary else p.log()


class lazy_property:
    """A property computed on first access and then stored in the instance's ``__dict__``.

    Distributions built from ``probs`` compute their ``logits`` this way (and back)."""

    def __init__(self, wrapped):
        self.wrapped = wrapped
        update_wrapper(self, wrapped)

    def __get__(self, instance, obj_type=None):
        if instance is None:
            return _lazy_property_and_property(self.wrapped)
        with enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value


class _lazy_property_and_property(lazy_property, property):
    """What the class attribute looks like: both a lazy_property and a property (for introspection)."""

    def __init__(self, wrapped):
        property.__init__(self, wrapped)


def _tril_positions(n, diag):
    rows, cols = np.nonzero(np.tril(np.ones((n, n), dtype=bool), diag))
    return rows * n + cols


def tril_matrix_to_vec(mat, diag=0):
    """The lower triangle (offset ``diag``) of the last two dims, row by row, as a vector."""
    n = mat.shape[-1]
    if diag < -n or diag >= n:
        raise ValueError(f"diag ({diag}) provided is outside [{-n}, {n - 1}].")
    flat = mat.reshape(*mat.shape[:-2], n * n)
    return flat[..., tensor(_tril_positions(n, diag), device=mat.device)]


def vec_to_tril_matrix(vec, diag=0):
    """The inverse of ``tril_matrix_to_vec``: a square matrix with ``vec`` in its lower triangle."""
    m = vec.shape[-1]
    n = (-(1 + 2 * diag) + ((1 + 2 * diag) ** 2 + 8 * m + 4 * abs(diag) * (diag + 1)) ** 0.5) / 2
    eps = finfo(vec.dtype).eps
    if not round(n) - eps <= n <= round(n) + eps:
        raise ValueError(f"The size of last dimension is {m} which cannot be expressed as "
                         "the lower triangular part of a square D x D matrix.")
    n = int(round(n))
    pos = _tril_positions(n, diag)
    source = np.zeros(n * n, dtype=np.int64)  # where each matrix entry comes from; the mask zeroes the rest
    source[pos] = np.arange(len(pos))
    mask = np.zeros(n * n, dtype=bool)
    mask[pos] = True
    out = vec[..., tensor(source, device=vec.device)] * tensor(mask, device=vec.device)
    return out.reshape(*vec.shape[:-1], n, n)
