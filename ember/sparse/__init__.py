"""``ember.sparse``: functions on sparse COO tensors (``ember.sparse_coo_tensor``, ``Tensor.to_sparse``).

>>> s = ember.sparse_coo_tensor([[0, 1], [1, 0]], [2., 3.], (2, 2))
>>> ember.sparse.mm(s, ember.eye(2)).tolist()
[[0.0, 2.0], [3.0, 0.0]]

Compressed layouts (CSR, CSC, BSR, BSC) and the CUDA-only 2:4 semi-structured tensors are not
built: the functions that need them raise a NotImplementedError or PyTorch's CPU RuntimeError.
"""
import functools

from ember.autograd.gradcheck import gradcheck as _gradcheck
from ember.ops import sparse as _sparse
from ember.ops.sparse import sparse_coo_tensor as _sparse_coo_tensor
from ember.ops.sparse_math import addmm, log_softmax, mm, softmax, solve, spdiags, spsolve, sum  # noqa: A004

__all__ = ["addmm", "check_sparse_tensor_invariants", "mm", "sum", "softmax", "solve", "log_softmax",
           "SparseSemiStructuredTensor", "SparseSemiStructuredTensorCUTLASS", "SparseSemiStructuredTensorCUSPARSELT",
           "to_sparse_semi_structured", "as_sparse_gradcheck", "spdiags", "spsolve", "sampled_addmm"]


class check_sparse_tensor_invariants:  # noqa: N801  (PyTorch's name)
    """Check the indices of every sparse tensor built while enabled (as ``check_invariants=True``).

    Use as a context manager or decorator (``with ember.sparse.check_sparse_tensor_invariants(): ...``) or
    switch it with the static ``enable()`` / ``disable()`` / ``is_enabled()``.
    """

    def __init__(self, enable=True):
        self.state = enable
        self.saved = None

    @staticmethod
    def is_enabled():
        return _sparse._invariant_checks[0]

    @staticmethod
    def enable():
        _sparse._invariant_checks[0] = True

    @staticmethod
    def disable():
        _sparse._invariant_checks[0] = False

    def __enter__(self):
        if self.saved is not None:
            raise RuntimeError("This context manager instance is already activated. Use a different context "
                               "manager instance for context nesting.")
        self.saved = self.is_enabled()
        _sparse._invariant_checks[0] = self.state
        return self

    def __exit__(self, *exc):
        _sparse._invariant_checks[0] = self.saved
        self.saved = None

    def __call__(self, func):
        @functools.wraps(func)
        def checked(*args, **kwargs):
            with check_sparse_tensor_invariants(self.state):
                return func(*args, **kwargs)
        return checked


def sampled_addmm(input, mat1, mat2, *, beta=1.0, alpha=1.0, out=None):
    """Needs a sparse CSR ``input``, a layout ember does not build."""
    raise NotImplementedError(
        "sparse.sampled_addmm needs a sparse CSR input, and ember builds sparse COO tensors only (the CSR layout "
        "is not built). The same values: (beta * input + alpha * (mat1 @ mat2).sparse_mask(input)) on COO tensors"
    )


_SEMI_STRUCTURED = ("Error original_tensor.device= {} is not supported! Only CUDA tensors are currently supported. "
                    "(ember has no 2:4 semi-structured sparse kernels on any device)")


class SparseSemiStructuredTensor:
    """The 2:4 semi-structured sparse matrix of PyTorch's CUDA kernels; ember has no such kernels,
    so building one raises PyTorch's CPU error."""

    def __init__(self, *args, **kwargs):
        raise RuntimeError(_SEMI_STRUCTURED.format("cpu"))

    @classmethod
    def from_dense(cls, original_tensor):
        raise RuntimeError(_SEMI_STRUCTURED.format(getattr(original_tensor, "device", "cpu")))


class SparseSemiStructuredTensorCUTLASS(SparseSemiStructuredTensor):
    """The CUTLASS-backed 2:4 form (CUDA only; see :class:`SparseSemiStructuredTensor`)."""


class SparseSemiStructuredTensorCUSPARSELT(SparseSemiStructuredTensor):
    """The cuSPARSELt-backed 2:4 form (CUDA only; see :class:`SparseSemiStructuredTensor`)."""


def to_sparse_semi_structured(original_tensor, transposed=False):
    """Raises PyTorch's error for a CPU tensor: 2:4 sparsity needs CUDA kernels ember does not have."""
    raise RuntimeError(_SEMI_STRUCTURED.format(original_tensor.device))


def as_sparse_gradcheck(gradcheck=_gradcheck):
    """``gradcheck`` that also takes sparse COO inputs: each is checked through its values (its pattern
    held fixed), and a sparse output is compared densely.

    >>> s = ember.sparse_coo_tensor([[0, 1]], [1., 2.], (3,), dtype=ember.float64, requires_grad=True)
    >>> ember.sparse.as_sparse_gradcheck()(lambda t: t.to_dense() * 2, (s,))
    True
    """
    def checker(func, inputs, **kwargs):
        inputs = (inputs,) if not isinstance(inputs, (tuple, list)) else tuple(inputs)
        patterns = [(t._indices(), tuple(t.shape), t.requires_grad) if getattr(t, "is_sparse", False) else None
                    for t in inputs]
        flat = tuple(t._values().detach().requires_grad_(p[2]) if p else t for t, p in zip(inputs, patterns))

        def dense_func(*args):
            rebuilt = [_sparse_coo_tensor(p[0], a, p[1]) if p else a for a, p in zip(args, patterns)]
            out = func(*rebuilt)
            if isinstance(out, (tuple, list)):
                return type(out)(o.to_dense() if o.is_sparse else o for o in out)
            return out.to_dense() if out.is_sparse else out

        return gradcheck(dense_func, flat, **kwargs)

    return checker
