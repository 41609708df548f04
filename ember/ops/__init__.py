"""Every tensor operation. Importing this package defines the ops and attaches
their Tensor methods; ``registry.PUBLIC`` holds the names ``ember`` re-exports."""
from ember.ops import (  # noqa: F401
    activation_kernels, adaptive_pool, binary, conv, convert, decomp, einsum, embedding, indexing, join, linalg, norm,
    pad, pointwise, pool, rearrange, reduce, resample, scan, scatter, shape, sort, unary,
)
from ember.ops import ctc  # noqa: F401
from ember.ops import linear  # noqa: F401
from ember.ops import rnn  # noqa: F401
from ember.ops import rnn_seq  # noqa: F401
from ember.ops.registry import PUBLIC

__all__ = ["PUBLIC"]
