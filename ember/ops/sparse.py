"""Sparse COO tensors: construction, conversion to and from dense, and the storage queries.

A sparse tensor is an ordinary ``Tensor`` whose array is a ``CooArray`` (ember/backend/
sparse_coo.py). Four primitives carry every gradient between the layouts, with PyTorch's
gradient layouts: ``coo`` (indices + values -> sparse; the values' gradient is the
upstream gradient read at each index), ``to_dense`` (sparse -> dense; its gradient is
sparse with the input's pattern), ``sparse_mask`` (a dense tensor read at a sparse
pattern) and ``values`` (the stored values; its gradient is sparse).
"""
import numpy as np

from ember._tensor import Tensor
from ember.backend import to_device
from ember.backend.dtype import get_default_dtype, int64, to_dtype
from ember.backend.layout import sparse_coo, sparse_csr
from ember.backend.sparse_coo import CooArray
from ember.creation import as_tensor
from ember.ops.dispatch import primitive
from ember.ops.registry import method, public

_invariant_checks = [False]  # ember.sparse.check_sparse_tensor_invariants switches it


def require_sparse(t, op):
    if not isinstance(t, Tensor) or not t.is_sparse:
        layout = t.layout if isinstance(t, Tensor) else type(t).__name__
        raise RuntimeError(f"{op}: expected a sparse COO tensor, got layout {layout}")


# the four primitives -----------------------------------------------------------------

@primitive("SparseCooTensorWithDimsAndTensorsBackward0")
def _coo(ctx, xp, indices, values, shape, coalesced):
    """``values`` stored at ``indices`` in a sparse tensor of ``shape`` (``indices`` is read, not differentiated)."""
    ctx.indices = indices
    return CooArray(indices.astype(np.int64, copy=False), values, shape, coalesced)


@_coo.derivative
def _(ctx, g):
    dense = g.to_dense() if g.is_sparse else g
    index = as_tensor(ctx.indices, device=g.device)
    return None, dense[tuple(index[i] for i in range(index.shape[0]))]


def coalesced_pattern(x):
    """A sparse tensor holding ``x``'s coalesced pattern: where PyTorch puts a sparse input's gradient."""
    return Tensor._make(x._data.coalesce(), x.dtype, x.device)


@primitive("ToDenseBackward0")
def _to_dense(ctx, xp, coo):
    ctx.pattern = coo.coalesce()
    return coo.to_dense()


@_to_dense.derivative
def _(ctx, g):
    pattern = Tensor._make(ctx.pattern, g.dtype, g.device)
    return _sparse_mask(g.to_dense() if g.is_sparse else g, pattern)


@primitive("SparseMaskBackward0")
def _sparse_mask(ctx, xp, dense, mask):
    return mask.mask_dense(dense)


@_sparse_mask.derivative
def _(ctx, g):
    return (g.to_dense() if g.is_sparse else g), None


@primitive("ValuesBackward0", save=(0,))
def _values(ctx, xp, coo):
    return coo.values


@_values.derivative
def _(ctx, g):
    (x,) = ctx.saved_tensors
    return _coo(Tensor._make(x._data.indices, int64, x.device), g, shape=x._data.shape, coalesced=x._data.coalesced)


@primitive("CoalesceBackward0")
def _coalesce(ctx, xp, coo):
    return coo.coalesce()


_coalesce.derivative(lambda ctx, g: g)  # PyTorch passes the (coalesced-pattern) gradient through as is


@primitive("ToSparseBackward0")
def _to_sparse(ctx, xp, dense, sparse_dim):
    """The nonzero entries of ``dense`` (rows of its first ``sparse_dim`` dims with any nonzero)."""
    if sparse_dim == 0:
        return CooArray(np.zeros((0, 1), dtype=np.int64), dense[None].copy(), dense.shape, True)
    if sparse_dim == dense.ndim:
        where = np.nonzero(dense)
        return CooArray(np.stack(where).astype(np.int64).reshape(dense.ndim, -1), dense[where], dense.shape, True)
    lead = dense.reshape(dense.shape[:sparse_dim] + (-1,))
    where = np.nonzero(np.any(lead != 0, axis=-1))
    indices = np.stack(where).astype(np.int64).reshape(sparse_dim, -1)
    return CooArray(indices, dense[where], dense.shape, True)


_to_sparse.derivative(lambda ctx, g: (g.to_dense() if g.is_sparse else g))


# construction --------------------------------------------------------------------------

def check_coo_invariants(indices, shape, nnz_values):
    """PyTorch's checks of a COO tensor's indices against its size (with ``check_invariants``)."""
    data = indices._data
    if data.shape[1] != nnz_values:
        raise RuntimeError(f"indices and values must have same nnz, but got nnz from indices: {data.shape[1]}, "
                           f"nnz from values: {nnz_values}")
    for d in range(data.shape[0]):
        if data.shape[1] == 0:
            break
        low, high = int(data[d].min()), int(data[d].max())
        if low < 0:
            raise RuntimeError(f"found negative index {low} for dim {d}")
        if high >= shape[d]:
            raise RuntimeError(f"size is inconsistent with indices: for dim {d}, size is {shape[d]} but found "
                               f"index {high}")


@public(method=False)
def sparse_coo_tensor(indices, values, size=None, *, dtype=None, device=None, pin_memory=False,
                      requires_grad=False, check_invariants=None, is_coalesced=None):
    """A sparse COO tensor with ``values[k]`` at position ``indices[:, k]`` (repeats add up).

    >>> s = ember.sparse_coo_tensor([[0, 1], [2, 0]], [3., 4.], (2, 3))
    >>> s.to_dense()
    tensor([[0., 0., 3.],
            [4., 0., 0.]])
    """
    dev = to_device(device) if device is not None else (values.device if isinstance(values, Tensor) else None)
    indices = as_tensor(indices, dtype=int64, device=dev).detach()
    if isinstance(values, Tensor):
        values = values if dtype is None else values.to(to_dtype(dtype))
    else:
        values = as_tensor(values, dtype=None if dtype is None else to_dtype(dtype), device=dev)
        if values.dtype.is_floating_point and dtype is None:
            values = values.to(get_default_dtype())
    if indices.dim() != 2:
        raise RuntimeError(f"indices must be sparse_dim x nnz, but got: {list(indices.shape)}")
    sparse_dim = indices.shape[0]
    if size is None:
        high = indices._data.max(axis=1) + 1 if indices.shape[1] else np.zeros(sparse_dim, np.int64)
        size = tuple(int(n) for n in high) + tuple(values.shape[1:])
    size = tuple(int(n) for n in size)
    dense_dim = values.dim() - 1
    if len(size) != sparse_dim + dense_dim:
        raise RuntimeError(f"'len(size) == sparse_dim + dense_dim' is not satisfied: len(size) = {len(size)}, "
                           f"sparse_dim = {sparse_dim}, dense_dim = {dense_dim}")
    if tuple(values.shape[1:]) != size[sparse_dim:]:
        raise RuntimeError(f"values has incorrect size, expected {[values.shape[0], *size[sparse_dim:]]}, "
                           f"got {list(values.shape)}")
    if values.shape[0] != indices.shape[1]:
        raise RuntimeError(f"indices and values must have same nnz, but got nnz from indices: {indices.shape[1]}, "
                           f"nnz from values: {values.shape[0]}")
    if check_invariants or (check_invariants is None and _invariant_checks[0]):
        check_coo_invariants(indices, size, values.shape[0])
    out = _coo(indices, values, shape=size, coalesced=bool(is_coalesced))
    if requires_grad:
        out.requires_grad_(True)
    return out


# conversion and queries ------------------------------------------------------------------

@public(method=False)
def sparse_mask(dense, mask):
    """``dense``'s entries at the stored positions of the sparse ``mask``, as a sparse tensor."""
    require_sparse(mask, "sparse_mask")
    if tuple(dense.shape) != tuple(mask.shape):
        raise RuntimeError(f"sparse_mask(): operands have incompatible sizes; self has size {list(dense.shape)} "
                           f"but mask has size {list(mask.shape)}")
    return _sparse_mask(dense, mask.detach())


Tensor.sparse_mask = sparse_mask


@method("to_dense")
def to_dense(self, dtype=None, *, masked_grad=None):
    """The dense (strided) tensor; a dense tensor is returned as it is."""
    out = _to_dense(self) if self.is_sparse else self
    return out if dtype is None else out.to(to_dtype(dtype))


@method("to_sparse")
def to_sparse(self, sparse_dim=None, *, layout=None, blocksize=None, dense_dim=None):
    """The sparse COO form: ``x.to_sparse()`` (all dims sparse) or ``x.to_sparse(1)`` (rows of dense values)."""
    if layout not in (None, sparse_coo):
        if layout is sparse_csr or str(layout).startswith("ember.sparse_"):
            raise NotImplementedError(f"to_sparse(layout={layout}): ember builds sparse COO tensors only "
                                      "(the compressed layouts CSR, CSC, BSR and BSC are not built)")
        raise RuntimeError(f"to_sparse: unexpected layout {layout}")
    if self.is_sparse:
        return self
    n = self.dim() if sparse_dim is None else int(sparse_dim)
    if n == 0 and self.dim() > 0:
        raise RuntimeError("dense_to_sparse: sparse_dim argument must be in >0 when self.dim()>0")
    if not 0 <= n <= self.dim():
        raise RuntimeError(f"sparse_dim must be between 0 and {self.dim()}, got {n}")
    return _to_sparse(self, sparse_dim=n)


@method("to_sparse_coo")
def to_sparse_coo(self):
    return to_sparse(self)


@method("to_sparse_csr")
def to_sparse_csr(self, dense_dim=None):
    raise NotImplementedError("to_sparse_csr: ember builds sparse COO tensors only (the CSR layout is not built); "
                              "use to_sparse()")


@method("coalesce")
def coalesce(self):
    """Sorted, unique indices with repeated entries summed."""
    require_sparse(self, "coalesce")
    return self if self._data.coalesced else _coalesce(self)


@method("is_coalesced")
def is_coalesced(self):
    require_sparse(self, "is_coalesced")
    return bool(self._data.coalesced)


def _require_coalesced(self, what):
    require_sparse(self, what)
    if not self._data.coalesced:
        raise RuntimeError(f"Cannot get {what} on an uncoalesced tensor, please call .coalesce() first")


@method("_indices")
def _indices(self):
    require_sparse(self, "_indices")
    return Tensor._make(self._data.indices, int64, self.device)


@method("indices")
def indices(self):
    """The ``(sparse_dim, nnz)`` int64 positions (coalesced tensors only, as PyTorch)."""
    _require_coalesced(self, "indices")
    return _indices(self)


@method("_values")
def _values_method(self):
    """The stored values of any sparse tensor, outside autograd (as PyTorch's ``_values``)."""
    require_sparse(self, "_values")
    return Tensor._make(self._data.values, self.dtype, self.device)


@method("values")
def values(self):
    """The ``(nnz, *dense_shape)`` stored values (coalesced tensors only); differentiable."""
    _require_coalesced(self, "values")
    return _values(self)


@method("_nnz")
def _nnz(self):
    require_sparse(self, "_nnz")
    return self._data.nnz


@method("sparse_dim")
def sparse_dim(self):
    return self._data.sparse_dim if self.is_sparse else 0


@method("dense_dim")
def dense_dim(self):
    return self._data.dense_dim if self.is_sparse else self.dim()


Tensor.is_sparse_csr = property(lambda self: False)
