"""Issue 15's shape builders, order statistics and linear algebra additions (real dtypes)."""
import numpy as np

from opdb.core import OpEntry, Sample

F = ("float32", "float64")
TOL = dict(tol={"float32": (1e-4, 1e-4)})


def _square(make, n, *batch):
    v = make.rng.uniform(-1, 1, size=(*batch, n, n)) + n * np.eye(n)
    return make(*batch, n, n, values=np.round(v, 2))


def _matrices(make):
    return [Sample(make(3, 4)), Sample(make(2, 5, layout="transposed")), Sample(make(4, 3, layout="sliced"))]


ENTRIES = [
    OpEntry("meshgrid", lambda make: [Sample(make(3), make(4), indexing="ij"), Sample(make(2), make(5), indexing="xy")],
            dtypes=F),
    OpEntry("broadcast_tensors", lambda make: [Sample(make(3, 1), make(4)), Sample(make(2, 1, 3), make(5, 1))],
            dtypes=F),
    OpEntry("cartesian_prod", lambda make: [Sample(make(3), make(2))], dtypes=F),
    OpEntry("block_diag", lambda make: [Sample(make(2, 3), make(4), make(1, 1))], dtypes=F),
    OpEntry("diagflat", lambda make: [Sample(make(3)), Sample(make(2, 2), 1)], dtypes=F),
    OpEntry("column_stack", lambda make: [Sample([make(3), make(3, 2)])], dtypes=F),
    OpEntry("ravel", _matrices, dtypes=F),
    OpEntry("aminmax", lambda make: [Sample(make(3, 4), dim=1)], dtypes=F, differentiable=False),
    OpEntry("nanquantile", lambda make: [Sample(make(3, 5), 0.25, dim=0)], dtypes=F, supports_out=True),
    OpEntry("logaddexp", lambda make: [Sample(make(2, 3), make(3))], dtypes=F, name_suffix="broadcast"),
    OpEntry("pdist", lambda make: [Sample(make(4, 3))], dtypes=F, gradgrad=False),
    OpEntry("cumulative_trapezoid", lambda make: [Sample(make(3, 5))], dtypes=F),
    OpEntry("corrcoef", lambda make: [Sample(make(3, 6))], dtypes=F, **TOL),
    OpEntry("matrix_exp", lambda make: [Sample(make(3, 3, low=-0.5, high=0.5))], dtypes=F, **TOL),
    OpEntry("linalg.solve_triangular", lambda make: [Sample(_square(make, 3), make(3, 2), upper=True),
                                                     Sample(_square(make, 3, 2), make(2, 3, 1), upper=False)],
            dtypes=F, supports_out=True, **TOL),
    OpEntry("linalg.lu_factor", lambda make: [Sample(_square(make, 3)), Sample(_square(make, 4, 2))], dtypes=F, **TOL),
    OpEntry("linalg.matrix_exp", lambda make: [Sample(make(2, 3, 3, low=-0.3, high=0.3))], dtypes=F,
            name_suffix="batched", **TOL),
    OpEntry("linalg.householder_product", lambda make: [Sample(make(4, 3), make(2))], dtypes=F, gradgrad=False,
            supports_out=True, **TOL),
    OpEntry("linalg.tensorinv", lambda make: [Sample(make(4, 2, 2, values=_square(make, 4).values.reshape(4, 2, 2)),
                                                     ind=1)],
            dtypes=F, supports_out=True, **TOL),
    OpEntry("linalg.cond", lambda make: [Sample(_square(make, 3))], dtypes=F, **TOL),
]
