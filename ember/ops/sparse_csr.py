"""Sparse CSR matrices: construction, conversion to and from dense and COO, and the index queries.

A CSR tensor holds a ``CsrArray`` (ember/backend/sparse_csr.py). As for COO, gradients keep
PyTorch's layouts: a CSR input's gradient is CSR with its pattern, the values' gradient is the
upstream gradient read at each stored position, a dense input's gradient is dense.
"""
import numpy as np

from ember._tensor import Tensor
from ember.backend import to_device
from ember.backend.dtype import get_default_dtype, int64, to_dtype
from ember.backend.layout import sparse_csr
from ember.backend.sparse_csr import CsrArray
from ember.creation import as_tensor
from ember.ops.dispatch import primitive
from ember.ops.registry import method, public
from ember.ops.sparse import (
    _invariant_checks, _values, coalesce, to_dense as _coo_to_dense, to_sparse as _coo_to_sparse, values as _coo_values,
)


def is_csr(t):
    return isinstance(t, Tensor) and type(t._data) is CsrArray


@primitive("SparseCompressedTensorBackward0")
def _csr(ctx, xp, crow, col, values, shape):
    """``values`` stored at the CSR positions ``crow``/``col`` (read, not differentiated)."""
    ctx.pattern = CsrArray(crow.astype(np.int64, copy=False), col.astype(np.int64, copy=False), values, shape)
    return ctx.pattern


def _read_at(pattern, g):
    """The gradient ``g`` (dense, COO or CSR) read at a CsrArray's stored positions, differentiably."""
    dense = to_dense(g)
    return dense[as_tensor(pattern.row_indices(), device=g.device), as_tensor(pattern.col_indices, device=g.device)]


@_csr.derivative
def _(ctx, g):
    return None, None, _read_at(ctx.pattern, g)


@primitive("ToDenseBackward0", name="csr_to_dense")
def _csr_to_dense(ctx, xp, csr):
    ctx.pattern = csr
    return csr.to_dense()


_csr_to_dense.derivative(lambda ctx, g: _csr_like(ctx.pattern, _read_at(ctx.pattern, g)))


def _csr_like(pattern, values):
    """A CSR tensor with ``pattern``'s positions (a CsrArray) and ``values`` (differentiated)."""
    crow = Tensor._make(pattern.crow_indices, int64, values.device)
    col = Tensor._make(pattern.col_indices, int64, values.device)
    return _csr(crow, col, values, shape=pattern.shape)


@primitive("ToSparseCsrBackward0")
def _dense_to_csr(ctx, xp, dense):
    rows, cols = np.nonzero(dense)
    crow = np.zeros(dense.shape[0] + 1, dtype=np.int64)
    np.add.at(crow, rows + 1, 1)
    return CsrArray(np.cumsum(crow), cols.astype(np.int64), dense[rows, cols], dense.shape)


_dense_to_csr.derivative(lambda ctx, g: to_dense(g))


@primitive("ValuesBackward0", name="csr_values", save=(0,))
def _csr_values(ctx, xp, csr):
    return csr.values


@_csr_values.derivative
def _(ctx, g):
    (t,) = ctx.saved_tensors
    return _csr_like(t._data, g)


@public(method=False)
def sparse_csr_tensor(crow_indices, col_indices, values, size=None, *, dtype=None, device=None, pin_memory=False,
                      requires_grad=False, check_invariants=None):
    """A 2-D sparse CSR matrix: row ``i`` stores ``values[crow[i]:crow[i+1]]`` at columns ``col_indices[...]``.

    >>> ember.sparse_csr_tensor([0, 1, 2], [1, 0], [1., 2.], (2, 2)).to_dense()
    tensor([[0., 1.],
            [2., 0.]])
    """
    dev = to_device(device) if device is not None else (values.device if isinstance(values, Tensor) else None)
    crow = as_tensor(crow_indices, dtype=int64, device=dev).detach()
    col = as_tensor(col_indices, dtype=int64, device=dev).detach()
    if isinstance(values, Tensor):
        values = values if dtype is None else values.to(to_dtype(dtype))
    else:
        values = as_tensor(values, dtype=None if dtype is None else to_dtype(dtype), device=dev)
        if values.dtype.is_floating_point and dtype is None:
            values = values.to(get_default_dtype())
    if crow.dim() != 1 or col.dim() != 1 or values.dim() != 1:
        raise NotImplementedError("sparse_csr_tensor: ember builds 2-D CSR matrices (1-D crow_indices, col_indices "
                                  f"and values), got {crow.dim()}-D, {col.dim()}-D and {values.dim()}-D")
    if size is None:
        size = (crow.shape[0] - 1, int(col._data.max()) + 1 if col.shape[0] else 0)
    size = tuple(int(n) for n in size)
    if len(size) != 2:
        raise NotImplementedError(f"sparse_csr_tensor: ember builds 2-D CSR matrices, got size {list(size)}")
    if col.shape[0] != values.shape[0]:
        raise RuntimeError(f"col_indices and values must have the same number of elements, but got "
                           f"{col.shape[0]} and {values.shape[0]}")
    if check_invariants or (check_invariants is None and _invariant_checks[0]):
        _check_csr(crow._data, col._data, size)
    out = _csr(crow, col, values, shape=size)
    if requires_grad:
        out.requires_grad_(True)
    return out


def _check_csr(crow, col, size):
    if crow.shape[0] != size[0] + 1:
        raise RuntimeError(f"crow_indices.size(-1) == nrows + 1 is unsatisfied: {crow.shape[0]} != {size[0] + 1}")
    if crow[0] != 0:
        raise RuntimeError("`crow_indices[..., 0] == 0` is not satisfied.")
    if crow[-1] != col.shape[0]:
        raise RuntimeError("`crow_indices[..., -1] == nnz` is not satisfied.")
    if np.any(np.diff(crow) < 0):
        raise RuntimeError("`0 <= crow_indices[..., 1:] - crow_indices[..., :-1] <= ncols` is not satisfied.")
    if col.shape[0] and (col.min() < 0 or col.max() >= size[1]):
        raise RuntimeError("`0 <= col_indices < ncols` is not satisfied.")


@method("to_sparse_csr")
def to_sparse_csr(self, dense_dim=None):
    """The CSR form of a 2-D dense or sparse COO matrix."""
    if is_csr(self):
        return self
    if dense_dim:
        raise NotImplementedError("to_sparse_csr(dense_dim=...): ember builds CSR matrices without dense dims")
    if self.dim() != 2:
        raise RuntimeError(f"to_sparse_csr: expected a 2-D tensor, got {self.dim()}-D")
    if self.is_sparse:
        c = coalesce(self)
        from_coo = CsrArray.from_coo(c._data)
        return _csr_like(from_coo, _values(c))
    return _dense_to_csr(self)


@method("to_dense")
def to_dense(self, dtype=None, *, masked_grad=None):
    """The dense (strided) tensor of a sparse COO or CSR tensor; a dense tensor is returned as it is."""
    if is_csr(self):
        out = _csr_to_dense(self)
        return out if dtype is None else out.to(to_dtype(dtype))
    return _coo_to_dense(self, dtype)


@method("to_sparse")
def to_sparse(self, sparse_dim=None, *, layout=None, blocksize=None, dense_dim=None):
    """The sparse COO form (``layout=ember.sparse_csr``: the CSR form) of a dense, COO or CSR tensor."""
    if layout is sparse_csr:
        return to_sparse_csr(self)
    if is_csr(self):
        return _coo_to_sparse(to_dense(self), sparse_dim, layout=layout)
    return _coo_to_sparse(self, sparse_dim, layout=layout, blocksize=blocksize, dense_dim=dense_dim)


@method("to_sparse_coo")
def to_sparse_coo(self):
    return to_sparse(self)


def _require_csr(self, what):
    if not is_csr(self):
        raise RuntimeError(f"{what} expected sparse row compressed tensor layout but got {self.layout}")


@method("crow_indices")
def crow_indices(self):
    _require_csr(self, "crow_indices")
    return Tensor._make(self._data.crow_indices, int64, self.device)


@method("col_indices")
def col_indices(self):
    _require_csr(self, "col_indices")
    return Tensor._make(self._data.col_indices, int64, self.device)


@method("values")
def values(self):
    """The stored values (of a coalesced COO tensor, or of a CSR matrix); differentiable."""
    return _csr_values(self) if is_csr(self) else _coo_values(self)


def sampled_addmm(input, mat1, mat2, *, beta=1.0, alpha=1.0, out=None):
    """``beta * input + alpha * (mat1 @ mat2)`` computed only at the stored positions of the CSR ``input``:
    a CSR result with ``input``'s pattern."""
    if out is not None:
        raise NotImplementedError("sampled_addmm(out=...) is not supported")
    if not is_csr(input):
        raise RuntimeError(f"sampled_addmm: Expected input to be a sparse CSR matrix, got layout {input.layout}")
    if mat1.dim() != 2 or mat2.dim() != 2 or mat1.shape[1] != mat2.shape[0] or \
            (mat1.shape[0], mat2.shape[1]) != tuple(input.shape):
        raise RuntimeError(f"sampled_addmm: expected input {list(input.shape)} = mat1 {list(mat1.shape)} @ mat2 "
                           f"{list(mat2.shape)}")
    pattern = input._data
    rows = as_tensor(pattern.row_indices(), device=mat1.device)
    cols = as_tensor(pattern.col_indices, device=mat1.device)
    product = (mat1[rows] * mat2.mT[cols]).sum(-1)
    return _csr_like(pattern, beta * _csr_values(input) + alpha * product)


Tensor.is_sparse_csr = property(is_csr)


def _unbuilt(name, layout):
    def query(self, *args, **kwargs):
        raise RuntimeError(f"{name} expected sparse column compressed tensor layout but got {self.layout} (ember "
                           f"builds COO and CSR only: the {layout} layout is not built)")
    query.__name__ = name
    return query


def _unbuilt_conversion(name, layout):
    def convert(self, *args, **kwargs):
        raise NotImplementedError(f"{name}: ember builds sparse COO tensors and CSR matrices only (the {layout} "
                                  "layout is not built); use to_sparse() or to_sparse_csr()")
    convert.__name__ = name
    return convert


for _name in ("ccol_indices", "row_indices"):
    setattr(Tensor, _name, _unbuilt(_name, "CSC/BSC"))
for _name, _layout in (("to_sparse_csc", "CSC"), ("to_sparse_bsr", "BSR"), ("to_sparse_bsc", "BSC")):
    setattr(Tensor, _name, _unbuilt_conversion(_name, _layout))
