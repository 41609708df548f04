"""The array behind a sparse COO tensor: an ``indices`` array, a ``values`` array and the dense shape.

A tensor with ``layout == ember.sparse_coo`` holds a ``CooArray`` where a dense one holds
an ndarray. ``indices`` is ``(sparse_dim, nnz)`` int64, ``values`` is ``(nnz, *dense_shape)``;
element ``indices[:, k]`` of the tensor is ``values[k]`` and repeated positions add up
(an uncoalesced tensor). It answers NumPy's array protocol only for the elementwise
ops that keep a sparse result meaningful (``+``, ``-``, ``*`` by a scalar or a same-shaped
array, ``/`` by a scalar, negation); every other NumPy call or array attribute raises
``LayoutError``, which the dispatcher reports as PyTorch's NotImplementedError naming the op.
"""
import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from ember.backend.layout import sparse_coo


class LayoutError(NotImplementedError):
    """An operation that has no sparse form was given a sparse array."""

    def __init__(self, op):
        super().__init__(unsupported_message(op))
        self.op = op


def unsupported_message(op):
    return (f"Could not run '{op}' with arguments from the 'SparseCPU' backend. ember implements '{op}' for "
            "strided (dense) tensors only: convert with .to_dense() first, or use an ember.sparse function")


class CooArray(NDArrayOperatorsMixin):
    """Sparse COO storage (see the module docstring); ``coalesced`` promises sorted, unique indices."""

    __slots__ = ("indices", "values", "shape", "coalesced")
    layout = sparse_coo

    def __init__(self, indices, values, shape, coalesced=False):
        self.indices, self.values, self.shape, self.coalesced = indices, values, tuple(shape), coalesced

    # what the tensor core and the dispatcher read off any array -----------------------
    @property
    def dtype(self):
        return self.values.dtype

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def sparse_dim(self):
        return self.indices.shape[0]

    @property
    def dense_dim(self):
        return self.values.ndim - 1

    @property
    def nnz(self):
        return self.indices.shape[1]

    def astype(self, dtype, copy=True):
        return CooArray(self.indices, self.values.astype(dtype, copy=copy), self.shape, self.coalesced)

    def copy(self):
        return CooArray(self.indices.copy(), self.values.copy(), self.shape, self.coalesced)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise LayoutError(name)

    def __getitem__(self, key):
        raise LayoutError("index")

    def __setitem__(self, key, value):
        raise LayoutError("index_put_")

    def __array__(self, dtype=None, copy=None):
        raise LayoutError("__array__")

    def __array_function__(self, func, types, args, kwargs):
        raise LayoutError(func.__name__)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__" or kwargs.get("out") is not None:
            raise LayoutError(f"{ufunc.__name__}.{method}" if method != "__call__" else f"{ufunc.__name__}_")
        rule = _UFUNCS.get(ufunc.__name__)
        if rule is None:
            raise LayoutError(ufunc.__name__)
        return rule(*inputs)

    # the arithmetic that stays sparse ---------------------------------------------------
    def with_values(self, values):
        return CooArray(self.indices, values, self.shape, self.coalesced)

    def linear_index(self):
        """Each stored element's position in the flattened sparse dims (row-major)."""
        if self.sparse_dim == 0:
            return np.zeros(self.nnz, dtype=np.int64)
        return np.ravel_multi_index(tuple(self.indices), self.shape[:self.sparse_dim])

    def coalesce(self):
        """Sorted unique indices with duplicates summed (self when already coalesced)."""
        if self.coalesced:
            return self
        keys = self.linear_index()
        unique, inverse = np.unique(keys, return_inverse=True)
        values = np.zeros((len(unique),) + self.values.shape[1:], dtype=self.values.dtype)
        np.add.at(values, inverse, self.values)
        if self.sparse_dim:
            indices = np.stack(np.unravel_index(unique, self.shape[:self.sparse_dim])).astype(np.int64)
        else:
            indices = np.zeros((0, len(unique)), dtype=np.int64)
        return CooArray(indices.reshape(self.sparse_dim, len(unique)), values, self.shape, True)

    def to_dense(self):
        out = np.zeros(self.shape, dtype=self.values.dtype)
        if self.nnz:
            flat = out.reshape((-1,) + self.shape[self.sparse_dim:])
            np.add.at(flat, self.linear_index(), self.values)
        return out

    def rows_of(self, dense):
        """View of ``dense`` with the sparse dims flattened: row ``linear_index()[k]`` is entry k's block."""
        return dense.reshape((-1,) + self.shape[self.sparse_dim:])

    def add_into(self, dense, values=None):
        """``dense[indices[:, k]] += values[k]`` for every stored entry, in place (repeats add up)."""
        np.add.at(self.rows_of(dense), self.linear_index(), self.values if values is None else values)

    def mask_dense(self, dense):
        """``dense``'s entries at this array's stored positions, as a CooArray of the same pattern."""
        if self.sparse_dim == 0:
            return self.with_values(np.broadcast_to(dense, self.values.shape).copy())
        picked = np.asarray(dense)[tuple(self.indices)]
        return self.with_values(picked.astype(dense.dtype, copy=False))


def _same_shape(op, a, b):
    if tuple(a.shape) != tuple(b.shape):
        raise RuntimeError(f"{op}: expected sizes of the sparse and the other operand to match, "
                           f"got {list(a.shape)} and {list(b.shape)}")


def _add(a, b, sign=1):
    op = "add" if sign == 1 else "sub"
    if _scalar(a) or _scalar(b):
        raise LayoutError(f"{op} (a sparse tensor and a scalar)")
    if isinstance(a, CooArray) and isinstance(b, CooArray):
        _same_shape(op, a, b)
        dtype = np.result_type(a.dtype, b.dtype)
        values = np.concatenate([a.values.astype(dtype, copy=False), sign * b.values.astype(dtype, copy=False)])
        out = CooArray(np.concatenate([a.indices, b.indices], axis=1), values, a.shape)
        if not (a.coalesced or b.coalesced):  # PyTorch concatenates two uncoalesced operands ...
            return out
        merged = out.coalesce()  # ... and merges when either is coalesced (flagged so only when both are)
        merged.coalesced = a.coalesced and b.coalesced
        return merged
    if isinstance(a, CooArray):  # sparse +- dense: PyTorch takes only dense +- sparse
        raise RuntimeError(f"{op}(sparse, dense) is not supported. Use {op}(dense, sparse) instead.")
    _same_shape(op, b, a)
    out = np.array(a, dtype=np.result_type(a, b.dtype), copy=True)
    flat = out.reshape((-1,) + b.shape[b.sparse_dim:])
    np.add.at(flat, b.linear_index(), sign * b.values)
    return out


def _scalar(x):
    return not isinstance(x, CooArray) and np.ndim(x) == 0


def _multiply(a, b):
    if isinstance(b, CooArray):
        a, b = b, a
    if isinstance(b, CooArray):
        raise LayoutError("mul (sparse * sparse)")
    if _scalar(b):
        return a.with_values(a.values * b)
    _same_shape("mul", a, b)
    return a.with_values(a.values * a.mask_dense(b).values)


def _divide(a, b):
    if isinstance(a, CooArray) and _scalar(b):
        return a.with_values(a.values / b)
    raise LayoutError("div (only a sparse tensor divided by a scalar stays sparse)")


_UFUNCS = {
    "add": _add,
    "subtract": lambda a, b: _add(a, b, -1),
    "multiply": _multiply,
    "divide": _divide,
    "negative": lambda a: a.with_values(-a.values),
    "positive": lambda a: a,
}
