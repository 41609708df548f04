"""Every tensor operation. Importing this package defines the ops and attaches
their Tensor methods; ``registry.PUBLIC`` holds the names ``ember`` re-exports."""
from ember.ops import binary, convert, indexing, reduce, shape, unary  # noqa: F401
from ember.ops.registry import PUBLIC

__all__ = ["PUBLIC"]
