"""Argument normalisation shared by ops: dims, shapes, sizes."""
from ember._tensor import _wrap_dim, shape_arg

__all__ = ["infer_shape", "shape_arg", "wrap_dim", "wrap_dims"]

wrap_dim = _wrap_dim


def wrap_dims(dim, ndim):
    """``dim`` (None, int or sequence) as a sorted tuple of non-negative dims; None and [] mean all."""
    if dim is None or not isinstance(dim, int) and len(dim) == 0:
        return tuple(range(ndim))
    if isinstance(dim, int):
        return (_wrap_dim(dim, ndim),)
    dims = tuple(sorted(_wrap_dim(d, ndim) for d in dim))
    for a, b in zip(dims, dims[1:]):
        if a == b:
            raise RuntimeError(f"dim {a} appears multiple times in the list of dims")
    return dims


def infer_shape(shape, numel):
    """Resolve one -1 in ``shape`` for a tensor of ``numel`` elements."""
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise RuntimeError(f"invalid shape dimension {s}")
            known *= s
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape
