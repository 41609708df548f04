"""Matrix products and linear algebra (``ember.*`` and ``ember.linalg.*``)."""
import numpy as np

from opdb.core import FLOATS, OpEntry, Sample, skip, xfail
from opdb.samples import views

LINALG_DTYPES = ("float32", "float64", "int64")  # int64 checks torch's error for integer matrices
BOOL_EMPTY_MATMUL = xfail("values", "ember raises NotImplementedError for a bool product with an empty operand "
                          "(torch returns an empty bool result)", ("bool",), sample="[empty]")
INT_BETA = xfail("values", "ember bug: addmm-style ops on integer tensors with a float beta raise NumPy's "
                 "UFuncTypeError (torch computes): ember.addmm(ember.ones(2, dtype=ember.int64), "
                 "ember.ones(3, 4, dtype=ember.int64), ember.ones(4, 2, dtype=ember.int64), beta=0.5)",
                 ("int64", "int32"), sample="beta=0.5")
NOT_IMPLEMENTED = xfail("values", "ember raises RuntimeError where torch raises its subclass NotImplementedError "
                        "for integer input", ("int64",))
BOOL_CROSS = xfail("values", "ember bug: cross of bool tensors leaks NumPy's TypeError (torch raises "
                   "NotImplementedError): ember.linalg.cross(ember.ones(3, dtype=ember.bool), ember.ones(3, dtype=ember.bool))",
                   ("bool",))


def _square(make, n, *batch, layout="contiguous"):
    """A well-conditioned matrix: random plus ``n`` on the diagonal."""
    v = make.rng.uniform(-1, 1, size=(*batch, n, n)) + n * np.eye(n)
    return make(*batch, n, n, values=np.round(v, 2) if make.floating else np.round(v), layout=layout)


def _squares(make):
    return [Sample(_square(make, 3)), Sample(_square(make, 3, 2)), Sample(_square(make, 4, layout="transposed")),
            Sample(_square(make, 1)), Sample(_square(make, 2, 0))]


def _symmetric(lib, op, **kw):
    """``op`` of a symmetric positive definite matrix built from any square input, so that
    gradients only see the symmetric part (as torch's do)."""
    def fn(a, *args):
        n = a.shape[-1]
        return op(lib)(a @ a.mT + n * lib.eye(n, dtype=a.dtype, device=a.device), *args, **kw)
    return fn


def _powers(make):
    return [Sample(_square(make, 3), n) for n in (0, 1, 3, -2)]


def _matmuls(make):
    return [Sample(make(3, 4), make(4, 5)), Sample(make(4), make(4, 2)), Sample(make(3, 4), make(4)), Sample(make(4), make(4)),
            Sample(make(2, 3, 4), make(4, 2)), Sample(make(2, 1, 3, 4, layout="transposed"), make(3, 4, 2, layout="sliced")),
            Sample(make(0, 3), make(3, 2)), Sample(make(3, 0), make(0, 2)), Sample(make(40, 65), make(65, 30))]


def _addmm(shapes):
    def gen(make):
        a, b, c = shapes
        return [Sample(make(*a), make(*b), make(*c)), Sample(make(a[-1]), make(*b), make(*c), beta=0.5, alpha=2),
                Sample(make(*a), make(*b, layout="transposed"), make(*c, layout="sliced"))]
    return gen


def _mm(a, b):
    return lambda make: views(make, a, make(*b)) + [Sample(make(0, a[-1]), make(*b))]


def _vectors(make):
    return [Sample(make(4), make(4)), Sample(make(3, layout="sliced"), make(3)), Sample(make(0), make(0))]


def _outer(make):
    return [Sample(make(3), make(4)), Sample(make(3, layout="sliced"), make(0)), Sample(make(1), make(2))]


ENTRIES = [
    OpEntry("matmul", _matmuls, operators=("__matmul__", "__rmatmul__"), aliases=("linalg.matmul",),
            skips=(BOOL_EMPTY_MATMUL,)),
    OpEntry("mm", _mm((3, 4), (4, 2)), skips=(BOOL_EMPTY_MATMUL,)),
    OpEntry("bmm", _mm((2, 3, 4), (2, 4, 2))),
    OpEntry("mv", _mm((3, 4), (4,)), skips=(BOOL_EMPTY_MATMUL,)),
    OpEntry("dot", _vectors), OpEntry("vdot", _vectors),
    OpEntry("inner", lambda make: _vectors(make) + [Sample(make(2, 3), make(4, 3)), Sample(make(), make(2, 3))],
            skips=(BOOL_EMPTY_MATMUL, xfail("values", "ember raises NotImplementedError for bool inner products "
                                                               "that torch computes (0-d or strided operands)", ("bool",)),
                            xfail("*", "ember bug: inner of two empty vectors raises RuntimeError "
                                                          "(torch: 0): ember.inner(ember.ones(0), ember.ones(0))",
                                                          ("float32", "float64", "float16", "bfloat16", "int64", "int32"),
                                                          sample="(0), (0)"))),
    OpEntry("outer", _outer), OpEntry("ger", _outer),
    OpEntry("kron", lambda make: [Sample(make(2, 3), make(2, 2)), Sample(make(3, layout="sliced"), make(2, 2)),
                                  Sample(make(0, 2), make(2))]),
    OpEntry("tensordot", lambda make: [Sample(make(2, 3, 4), make(3, 4, 5)), Sample(make(3, 4), make(4, 3), 1),
                                       Sample(make(2, 3), make(3, 2), ([0, 1], [1, 0]))],
            skips=(xfail("values", "ember raises NotImplementedError for bool tensordot contractions that torch "
                                  "computes", ("bool",)),)),
    OpEntry("addmm", _addmm(((3, 2), (3, 4), (4, 2))), skips=(INT_BETA,)),
    OpEntry("addmv", _addmm(((3,), (3, 4), (4,))), skips=(INT_BETA,)),
    OpEntry("baddbmm", _addmm(((2, 3, 2), (2, 3, 4), (2, 4, 2))), skips=(INT_BETA,)),
    OpEntry("addbmm", _addmm(((3, 2), (2, 3, 4), (2, 4, 2))),
            skips=(INT_BETA, skip("variants", "torch's addbmm_ resizes a self that only broadcasts to the "
                                                       "result (ember raises, as addmm_ does)", sample="beta=0.5"))),
    OpEntry("cross", lambda make: [Sample(make(4, 3), make(4, 3), 1), Sample(make(3, 2, layout="transposed"), make(3, 2), 0)],
            skips=(BOOL_CROSS,)),
    OpEntry("linalg.cross", lambda make: [Sample(make(4, 3), make(4, 3)), Sample(make(2, 1, 3), make(1, 4, 3))],
            skips=(BOOL_CROSS,)),
    OpEntry("linalg.vecdot", lambda make: [Sample(make(4, 3), make(4, 3)), Sample(make(2, 1, 3), make(4, 3), dim=-1)],
            dtypes=FLOATS),
    OpEntry("linalg.multi_dot", lambda make: [Sample([make(2, 3), make(3, 4), make(4, 2)]),
                                              Sample([make(3), make(3, 4), make(4)])], dtypes=FLOATS),
    OpEntry("einsum", lambda make: [Sample("ij,jk->ik", make(2, 3), make(3, 4)), Sample("bij->bji", make(2, 3, 4)),
                                    Sample("i,i->", make(3), make(3)), Sample("ii->i", make(3, 3, layout="transposed")),
                                    Sample("...j,j", make(2, 3, 4), make(4))],
            skips=(xfail("values", "ember computes bool einsum products where torch raises NotImplementedError",
                                  ("bool",)),)),
    OpEntry("det", _squares, dtypes=LINALG_DTYPES), OpEntry("linalg.det", _squares, dtypes=LINALG_DTYPES),
    OpEntry("logdet", lambda make: [Sample(_square(make, 3)), Sample(_square(make, 2, 2))], dtypes=LINALG_DTYPES),
    OpEntry("slogdet", _squares, dtypes=LINALG_DTYPES),
    OpEntry("linalg.slogdet", _squares, dtypes=LINALG_DTYPES),
    OpEntry("inverse", _squares, dtypes=LINALG_DTYPES), OpEntry("linalg.inv", _squares, dtypes=LINALG_DTYPES),
    OpEntry("pinverse", _squares, dtypes=LINALG_DTYPES), OpEntry("linalg.pinv", _squares, dtypes=LINALG_DTYPES),
    OpEntry("matrix_power", _powers, dtypes=LINALG_DTYPES), OpEntry("linalg.matrix_power", _powers, dtypes=LINALG_DTYPES),
    OpEntry("linalg.solve", lambda make: [Sample(_square(make, 3), make(3, 2)), Sample(_square(make, 3, 2), make(3)),
                                          Sample(_square(make, 3), make(2, 3), left=False)], dtypes=LINALG_DTYPES),
    OpEntry("cholesky", _squares, op=lambda lib: _symmetric(lib, lambda lib: lib.cholesky), dtypes=LINALG_DTYPES,
            skips=(NOT_IMPLEMENTED,)),
    OpEntry("linalg.cholesky", _squares, op=lambda lib: _symmetric(lib, lambda lib: lib.linalg.cholesky),
            dtypes=LINALG_DTYPES),
    OpEntry("linalg.eigvalsh", _squares, op=lambda lib: _symmetric(lib, lambda lib: lib.linalg.eigvalsh),
            dtypes=LINALG_DTYPES, skips=(NOT_IMPLEMENTED,)),
    OpEntry("linalg.eigh", _squares, op=lambda lib: _symmetric(lib, lambda lib: _abs_vectors(lib.linalg.eigh)),
            dtypes=LINALG_DTYPES, skips=(NOT_IMPLEMENTED,)),
    OpEntry("qr", _squares, dtypes=LINALG_DTYPES), OpEntry("linalg.qr", _squares, dtypes=LINALG_DTYPES),
    OpEntry("svd", _squares, op=lambda lib: _abs_vectors(lib.svd, 0, 2), dtypes=LINALG_DTYPES),
    OpEntry("linalg.svd", _squares, op=lambda lib: _abs_vectors(lib.linalg.svd, 0, 2), dtypes=LINALG_DTYPES),
    OpEntry("Tensor.cholesky", _squares, op=lambda lib: _symmetric(lib, lambda lib: lib.Tensor.cholesky),
            dtypes=LINALG_DTYPES, skips=(NOT_IMPLEMENTED,)),
    OpEntry("Tensor.svd", _squares, op=lambda lib: _abs_vectors(lib.Tensor.svd, 0, 2), dtypes=LINALG_DTYPES),
    OpEntry("linalg.svdvals", _squares, dtypes=LINALG_DTYPES),
    OpEntry("linalg.matrix_rank", _squares, dtypes=LINALG_DTYPES, differentiable=False),
    OpEntry("linalg.vector_norm", lambda make: [Sample(make(3, 4)), Sample(make(3, 4), 1, 1), Sample(make(3, 4), 3.0, (0, 1)),
                                                Sample(make(3, 4, layout="transposed"), float("inf"), -1, keepdim=True)],
            dtypes=FLOATS),
    OpEntry("linalg.matrix_norm", lambda make: [Sample(make(3, 4)), Sample(make(2, 3, 3), 1),
                                                Sample(make(3, 4, layout="transposed"), float("inf")),
                                                Sample(make(3, 3), "nuc")], dtypes=("float32", "float64")),
    OpEntry("linalg.norm", lambda make: [Sample(make(3, 4)), Sample(make(5), 3), Sample(make(3, 4), "fro"),
                                         Sample(make(3, 4, layout="sliced"), 2, 1)], dtypes=("float32", "float64")),
]


def _abs_vectors(fn, *which):
    """Singular/eigen vectors are defined up to sign: compare their absolute values."""
    which = which or (1,)

    def op(*args, **kw):
        out = list(fn(*args, **kw))
        return tuple(o.abs() if i in which else o for i, o in enumerate(out))
    return op
