"""Every tensor operation. Importing this package defines the ops and attaches
their Tensor methods; ``registry.PUBLIC`` holds the names ``ember`` re-exports."""
from ember.ops import (  # noqa: F401
    binary, convert, decomp, einsum, indexing, join, linalg, pointwise, rearrange, reduce, scan, scatter, shape, sort, unary,
)
from ember.ops import embedding  # noqa: F401,E402
from ember.ops import norm  # noqa: F401,E402
from ember.ops import conv, pad  # noqa: F401,E402
from ember.ops import adaptive_pool, pool, resample  # noqa: F401,E402
from ember.ops import activation_kernels  # noqa: F401,E402
from ember.ops.registry import PUBLIC

__all__ = ["PUBLIC"]
