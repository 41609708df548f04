"""The array behind a sparse CSR matrix: row pointers, column indices and values of a 2-D tensor.

``crow_indices`` (``rows + 1``, int64) delimits each row's run in ``col_indices`` / ``values``
(``nnz``). Like ``CooArray`` it answers NumPy only where a CSR result is meaningful (scaling
by a scalar, negation) and raises ``LayoutError`` (backend ``SparseCsrCPU``) otherwise.
"""
import numpy as np

from ember.backend.layout import sparse_csr
from ember.backend.sparse_coo import CooArray, LayoutError, SparseStorage


class CsrArray(SparseStorage):
    """Compressed sparse row storage of a 2-D matrix."""

    __slots__ = ("crow_indices", "col_indices", "values", "shape")
    layout = sparse_csr
    backend = "SparseCsrCPU"

    def __init__(self, crow_indices, col_indices, values, shape):
        self.crow_indices, self.col_indices, self.values, self.shape = crow_indices, col_indices, values, tuple(shape)

    @property
    def nnz(self):
        return self.col_indices.shape[0]

    def row_indices(self):
        """Each stored entry's row."""
        return np.repeat(np.arange(self.shape[0], dtype=np.int64), np.diff(self.crow_indices))

    def to_coo(self):
        return CooArray(np.stack([self.row_indices(), self.col_indices]), self.values, self.shape, True)

    def to_dense(self):
        out = np.zeros(self.shape, dtype=self.values.dtype)
        np.add.at(out, (self.row_indices(), self.col_indices), self.values)
        return out

    def with_values(self, values):
        return CsrArray(self.crow_indices, self.col_indices, values, self.shape)

    def mask_dense(self, dense):
        """``dense`` read at this matrix's stored positions, as a CsrArray of the same pattern."""
        return self.with_values(np.asarray(dense)[self.row_indices(), self.col_indices])

    def astype(self, dtype, copy=True):
        return self.with_values(self.values.astype(dtype, copy=copy))

    def copy(self):
        return CsrArray(self.crow_indices.copy(), self.col_indices.copy(), self.values.copy(), self.shape)

    @classmethod
    def from_coo(cls, coo):
        """The CSR form of a coalesced 2-D COO array (its indices are sorted row-major)."""
        rows, cols = coo.indices
        crow = np.zeros(coo.shape[0] + 1, dtype=np.int64)
        np.add.at(crow, rows + 1, 1)
        return cls(np.cumsum(crow), cols.astype(np.int64), coo.values, coo.shape)


def _scale(a, b):
    if isinstance(b, CsrArray):
        a, b = b, a
    if isinstance(b, CsrArray) or np.ndim(b) != 0:
        raise LayoutError("mul", CsrArray.backend)
    return a.with_values(a.values * b)


CsrArray.ufunc_rules = {
    "multiply": _scale,
    "negative": lambda a: a.with_values(-a.values),
    "positive": lambda a: a,
}
