"""The math of ``ember.sparse``: sparse @ dense products, sums, softmax over stored entries, diagonal
construction and solving, with PyTorch's gradient layouts (a sparse input's gradient is sparse, with
the input's own pattern).
"""
import numpy as np
import scipy.sparse
import scipy.sparse.linalg

from ember._tensor import Tensor
from ember.backend.dtype import int64
from ember.backend.layout import sparse_coo
from ember.backend.sparse_coo import CooArray
from ember.creation import as_tensor, zeros
from ember.ops.dispatch import primitive
from ember.ops.sparse import _coo, _values, coalesce, coalesced_pattern, require_sparse, sparse_mask


def _indices_tensor(s):
    return Tensor._make(s._data.indices, int64, s.device)


def _with_values(s, values):
    """A sparse tensor with ``s``'s pattern (not differentiated) and ``values`` (differentiated)."""
    return _coo(_indices_tensor(s), values, shape=s._data.shape, coalesced=s._data.coalesced)


def _scipy(coo):
    rows, cols = coo.indices
    return scipy.sparse.coo_array((coo.values, (rows, cols)), shape=coo.shape).tocsr()


# sparse @ dense ----------------------------------------------------------------------------

@primitive("SparseMmBackward0", save=(0, 1))
def _spmm(ctx, xp, s, d):
    return np.asarray(_scipy(s) @ d).astype(np.result_type(s.dtype, d.dtype), copy=False)


@_spmm.derivative
def _(ctx, g):
    s, d = ctx.saved_tensors
    need_s, need_d = ctx.needs_input_grad
    gs = gd = None
    if need_s:  # (g @ d.T) read only at s's (coalesced) stored positions
        pattern = coalesced_pattern(s)
        rows, cols = _indices_tensor(pattern)
        gs = _with_values(pattern, (g[rows] * d[cols]).sum(-1))
    if need_d:
        st = _coo(_indices_tensor(s).flip(0), _values(s.detach()), shape=s._data.shape[::-1], coalesced=False)
        gd = _spmm(st, g)
    return gs, gd


def mm(mat1, mat2, reduce="sum"):
    """``mat1 @ mat2`` for a sparse COO ``mat1`` (2-D) and a dense ``mat2``: a dense result.

    The gradient of ``mat1`` is sparse with ``mat1``'s pattern, that of ``mat2`` dense.

    >>> s = ember.eye(2).to_sparse()
    >>> ember.sparse.mm(s, ember.ones(2, 3)).sum().item()
    6.0
    """
    if reduce != "sum":
        raise NotImplementedError(f"sparse.mm(reduce={reduce!r}): ember supports reduce='sum' only")
    if not mat1.is_sparse:
        if mat2.is_sparse:
            raise NotImplementedError("sparse.mm(dense, sparse): ember multiplies a sparse COO first operand only")
        return mat1 @ mat2
    if mat1.dim() != 2 or mat1._data.sparse_dim != 2 or mat2.dim() != 2:
        raise RuntimeError(f"sparse.mm: expected a 2-D sparse matrix with 2 sparse dims and a 2-D dense matrix, "
                           f"got sizes {list(mat1.shape)} and {list(mat2.shape)}")
    if mat2.is_sparse:
        raise NotImplementedError("sparse.mm(sparse, sparse): ember multiplies a sparse COO matrix by a dense one")
    if mat1.shape[1] != mat2.shape[0]:
        raise RuntimeError(f"addmm: Argument #3 (dense): Expected dim 0 size {mat1.shape[1]}, got {mat2.shape[0]}")
    if mat1.dtype is not mat2.dtype:
        raise RuntimeError(f"expected mat1 and mat2 to have the same dtype, but got: {mat1.dtype} != {mat2.dtype}")
    return _spmm(mat1, mat2)


def addmm(mat, mat1, mat2, *, beta=1.0, alpha=1.0):
    """``beta * mat + alpha * (mat1 @ mat2)`` with a sparse COO ``mat1`` (``sparse.mm``'s gradients)."""
    require_sparse(mat1, "sparse.addmm")
    product = mm(mat1, mat2)
    return (mat if beta == 1 else beta * mat) + (product if alpha == 1 else alpha * product)


# sums ------------------------------------------------------------------------------------

@primitive("SparseSumBackward0")
def _sparse_sum(ctx, xp, s, sparse_dims, dense_dims):
    """Sum over the given sparse and dense dims (dense-dim numbers count within the values' trailing dims)."""
    ctx.shape, ctx.sparse_dims, ctx.dense_dims = s.shape, sparse_dims, dense_dims
    ctx.indices = s.coalesce().indices  # the gradient's pattern
    values = s.values.sum(axis=tuple(1 + d for d in dense_dims)) if dense_dims else s.values
    keep = [d for d in range(s.sparse_dim) if d not in sparse_dims]
    if not keep:
        return values.sum(axis=0)
    dense_shape = tuple(n for i, n in enumerate(s.shape[s.sparse_dim:]) if i not in dense_dims)
    return CooArray(s.indices[keep], values, tuple(s.shape[d] for d in keep) + dense_shape).coalesce()


@_sparse_sum.derivative
def _(ctx, g):
    dense = g.to_dense() if g.is_sparse else g
    keep = [d for d in range(ctx.indices.shape[0]) if d not in ctx.sparse_dims]
    index = as_tensor(ctx.indices, device=g.device)
    rows = dense[tuple(index[d] for d in keep)] if keep else dense.unsqueeze(0).expand(index.shape[1], *dense.shape)
    for d in sorted(ctx.dense_dims):
        rows = rows.unsqueeze(1 + d)
    values_shape = (index.shape[1],) + tuple(ctx.shape[len(ctx.indices):])
    values = rows.expand(*values_shape)
    return _coo(index, values, shape=ctx.shape, coalesced=True)


def sum(input, dim=None, dtype=None):  # noqa: A001  (PyTorch's name: ember.sparse.sum)
    """Sum of a sparse COO tensor: all of it (a 0-d dense tensor), or over ``dim`` (sparse while sparse
    dims remain, else dense).

    >>> ember.sparse.sum(ember.eye(3).to_sparse()).item()
    3.0
    """
    require_sparse(input, "sparse.sum")
    if dtype is not None:
        input = input.to(dtype)
    n = input.dim()
    dims = range(n) if dim is None else ([dim] if isinstance(dim, int) else list(dim))
    dims = sorted({d + n if d < 0 else d for d in dims})
    if any(not 0 <= d < n for d in dims):
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    k = input._data.sparse_dim
    return _sparse_sum(input, sparse_dims=tuple(d for d in dims if d < k), dense_dims=tuple(d - k for d in dims
                                                                                           if d >= k))


# softmax over the stored entries ---------------------------------------------------------

def _groups(coo, dim):
    """For each stored entry, the id of its slice along sparse dim ``dim`` (entries sharing the other indices)."""
    other = np.delete(coo.indices, dim, axis=0)
    if other.shape[0] == 0:
        return np.zeros(coo.nnz, dtype=np.int64), 1
    _, group = np.unique(other, axis=1, return_inverse=True)
    group = group.reshape(-1)
    return group.astype(np.int64), int(group.max()) + 1 if group.size else 0


@primitive("SparseSoftmaxBackward0", save_output=True)
def _sparse_softmax(ctx, xp, s, dim, log):
    ctx.dim, ctx.log = dim, log
    values = s.values
    if dim >= s.sparse_dim:  # a dense dim: an ordinary softmax inside each stored value
        axis = 1 + dim - s.sparse_dim
        shifted = values - values.max(axis=axis, keepdims=True)
        total = np.exp(shifted).sum(axis=axis, keepdims=True)
        out = shifted - np.log(total) if log else np.exp(shifted) / total
        ctx.group = None
        return s.with_values(out.astype(values.dtype, copy=False))
    group, n = _groups(s, dim)
    ctx.group, ctx.ngroups = group, n
    top = np.full((n,) + values.shape[1:], -np.inf, dtype=values.dtype)
    np.maximum.at(top, group, values)
    shifted = values - top[group]
    total = np.zeros_like(top)
    np.add.at(total, group, np.exp(shifted))
    out = shifted - np.log(total[group]) if log else np.exp(shifted) / total[group]
    return s.with_values(out.astype(values.dtype, copy=False))


@_sparse_softmax.derivative
def _(ctx, g):
    (y,) = ctx.saved_tensors
    yv = _values(y)
    if g.is_sparse and g._data.indices is y._data.indices:
        gv = _values(g)
    else:
        gv = _values(sparse_mask(g.to_dense() if g.is_sparse else g, y))
    if ctx.group is None:
        axis = 1 + ctx.dim - y._data.sparse_dim
        if ctx.log:
            return _with_values(y, gv - yv.exp() * gv.sum(axis, keepdim=True))
        return _with_values(y, yv * (gv - (gv * yv).sum(axis, keepdim=True)))
    group = as_tensor(ctx.group, device=g.device)
    shape = (ctx.ngroups,) + tuple(yv.shape[1:])

    def per_group(v):
        return zeros(shape, dtype=v.dtype, device=v.device).index_add(0, group, v)[group]

    if ctx.log:
        return _with_values(y, gv - yv.exp() * per_group(gv))
    return _with_values(y, yv * (gv - per_group(gv * yv)))


def _softmax(input, dim, dtype, log):
    require_sparse(input, "sparse.log_softmax" if log else "sparse.softmax")
    if dtype is not None:
        input = input.to(dtype)
    n = input.dim()
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return _sparse_softmax(coalesce(input), dim=dim % n, log=log)


def softmax(input, dim, *, dtype=None):
    """Softmax along ``dim`` over the stored entries only (unstored ones count as -inf): a sparse
    tensor with the coalesced input's pattern."""
    return _softmax(input, dim, dtype, log=False)


def log_softmax(input, dim, *, dtype=None):
    """Log-softmax along ``dim`` over the stored entries only, as :func:`softmax`."""
    return _softmax(input, dim, dtype, log=True)


# construction and solving ------------------------------------------------------------------

def spdiags(diagonals, offsets, shape, layout=None):
    """A sparse 2-D matrix with row ``k`` of ``diagonals`` on diagonal ``offsets[k]`` (SciPy's convention:
    the entry in column ``j`` comes from ``diagonals[k, j]``).

    >>> ember.sparse.spdiags(ember.tensor([[1., 2.]]), ember.tensor([0]), (2, 2)).to_dense()
    tensor([[1., 0.],
            [0., 2.]])
    """
    if layout not in (None, sparse_coo):
        raise NotImplementedError(f"spdiags(layout={layout}): ember builds sparse COO tensors only")
    if diagonals.dim() != 2 or offsets.dim() != 1 or diagonals.shape[0] != offsets.shape[0]:
        raise RuntimeError(f"spdiags: expected a 2-D diagonals tensor with one row per offset, got diagonals "
                           f"{list(diagonals.shape)} and offsets {list(offsets.shape)}")
    rows, cols = int(shape[0]), int(shape[1])
    if len(set(offsets.tolist())) != offsets.shape[0]:
        raise RuntimeError("spdiags: offset tensor contains duplicate values")
    which, where_row, where_col = [], [], []
    for k, off in enumerate(offsets.tolist()):
        col = np.arange(max(0, off), min(cols, rows + off, diagonals.shape[1]))
        which.append(np.full(len(col), k))
        where_col.append(col)
        where_row.append(col - off)
    k_idx = np.concatenate(which).astype(np.int64)
    col_idx = np.concatenate(where_col).astype(np.int64)
    indices = as_tensor(np.stack([np.concatenate(where_row), col_idx]).astype(np.int64), device=diagonals.device)
    values = diagonals[as_tensor(k_idx, device=diagonals.device), as_tensor(col_idx, device=diagonals.device)]
    return _coo(indices, values, shape=(rows, cols), coalesced=False)


@primitive("SparseSolveBackward0", save=(0,), save_output=True)
def _spsolve(ctx, xp, a, b):
    x = scipy.sparse.linalg.spsolve(_scipy(a).tocsc(), b)
    return np.asarray(x, dtype=np.result_type(a.dtype, b.dtype)).reshape(b.shape)


@_spsolve.derivative
def _(ctx, g):
    a, x = ctx.saved_tensors
    at = _coo(_indices_tensor(a).flip(0), _values(a.detach()), shape=a._data.shape[::-1], coalesced=False)
    gb = _spsolve(at, g)
    need_a = ctx.needs_input_grad[0]
    if not need_a:
        return None, gb
    rows, cols = _indices_tensor(a)
    gb2, x2 = (gb.unsqueeze(-1), x.unsqueeze(-1)) if x.dim() == 1 else (gb, x)
    return _with_values(a, -(gb2[rows] * x2[cols]).sum(-1)), gb


def solve(A, B, *, left=True):  # noqa: N803  (PyTorch's argument names)
    """Solve ``A @ X = B`` for a square sparse COO ``A`` and a dense ``B`` (a vector or a matrix), with
    SciPy's sparse direct solver; the gradient of ``A`` is sparse with ``A``'s pattern."""
    require_sparse(A, "sparse.solve")
    if not left:
        raise NotImplementedError("sparse.solve(left=False) is not supported; transpose the system instead")
    if A.dim() != 2 or A.shape[0] != A.shape[1] or A._data.dense_dim:
        raise RuntimeError(f"sparse.solve: A must be a square 2-D sparse matrix, got size {list(A.shape)}")
    if B.is_sparse or B.dim() not in (1, 2) or B.shape[0] != A.shape[0]:
        raise RuntimeError(f"sparse.solve: B must be dense with {A.shape[0]} rows, got size {list(B.shape)}")
    return _spsolve(coalesce(A), B)


spsolve = solve
