"""Every tensor operation. Importing this package defines the ops and attaches
their Tensor methods; ``registry.PUBLIC`` holds the names ``ember`` re-exports."""
from ember.ops import (  # noqa: F401
    activation_kernels, adaptive_pool, arithmetic, binary, complex, conv, convert, decomp, einsum, embedding, fft,
    fill, grids, indexing, inplace, join, linalg, norm, pad, pointwise, polynomials, pool, random, rearrange, reduce,
    resample, scan, scatter, shape, sort, special, spectral, statistics, strided, tensor_methods, unary, vector_norm,
)
from ember.ops import ctc  # noqa: F401
from ember.ops import linear  # noqa: F401
from ember.ops import rnn  # noqa: F401
from ember.ops import rnn_seq  # noqa: F401
from ember.ops import sparse, sparse_math  # noqa: F401
from ember.ops import inplace_forms  # noqa: F401  (last: it reads the methods the others attached)
from ember.ops.registry import NAMESPACES, PUBLIC

__all__ = ["PUBLIC"]


def __getattr__(name):
    """``ember.ops.<namespace>``: the custom ops defined in that namespace (``ember.library``)."""
    try:
        return NAMESPACES[name]
    except KeyError:
        raise AttributeError(f"module 'ember.ops' has no attribute {name!r}") from None
