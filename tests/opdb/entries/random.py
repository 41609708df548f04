"""Random sampling: values differ from torch's, so results are compared by shape and
dtype, and each op must repeat itself after ``ember.manual_seed``."""
from opdb.core import FLOATS, DType, OpEntry, Sample, xfail

IGNORED_OUT = (xfail("variants", "ember bug: the sampler accepts out= and ignores it (returns a new tensor): "
                                 "o = ember.empty(2); ember.rand(2, out=o) is o  # False"),)
RANDOM = dict(random=True, differentiable=False, method=None, inplace=None)


def _sized(make):
    d = DType(make.dtype)
    return [Sample(2, 3, dtype=d), Sample((4,), dtype=d), Sample(0, dtype=d), Sample(3)]


def _randint(make):
    d = DType(make.dtype)
    return [Sample(5, (2, 3), dtype=d), Sample(-3, 4, (5,), dtype=d), Sample(10, (0,))]


def _like(*values):
    return lambda make: [Sample(make(2, 3), *values), Sample(make(3, 2, layout="transposed"), *values),
                         Sample(make(0, 2), *values)]


def _probabilities(make):
    return [Sample(make(3, 4, low=0.0, high=1.0)), Sample(make(4, 3, low=0.0, high=1.0, layout="transposed")),
            Sample(make(0, 2, low=0.0, high=1.0))]


def _normal(make):
    return [Sample(0.0, 1.0, (2, 3)), Sample(make(3, 4), 0.5), Sample(make(3, 4), make(3, 4, low=0.1, high=1.0)),
            Sample(1.0, make(2, 2, low=0.1, high=1.0))]


def _multinomial(make):
    return [Sample(make(5, low=0.1, high=1.0), 3), Sample(make(2, 5, low=0.1, high=1.0), 4, True)]


def _binomial(make):
    counts = make.rng.integers(0, 12, size=(3, 4)).astype(float)
    return [Sample(make(3, 4, values=counts), make(3, 4, low=0.0, high=1.0)),
            Sample(make(0, 2), make(0, 2, low=0.0, high=1.0))]


def _self(*calls):
    """In-place samplers ``x.op_(*args)`` on a fresh tensor."""
    return lambda make: [Sample(make(3, 4), *args) for args in calls] + [Sample(make(0, 3), *calls[0])]


def _dropout(make):
    return [Sample(make(4, 5)), Sample(make(4, 5), 0.3), Sample(make(2, 3, 4, layout="transposed"), 0.5, True),
            Sample(make(4, 5), 0.5, False), Sample(make(0, 3))]


def _feature_dropout(dims):
    return lambda make: [Sample(make(2, 3, *[4] * dims)), Sample(make(2, 3, *[4] * dims), 0.3, True),
                         Sample(make(2, 3, *[4] * dims), 0.5, False)]


ENTRIES = [
    OpEntry("rand", _sized, dtypes=FLOATS, skips=IGNORED_OUT, **RANDOM),
    OpEntry("randn", _sized, dtypes=FLOATS, skips=IGNORED_OUT, **RANDOM),
    OpEntry("randint", _randint, dtypes=("int64", "int32", "float32"), skips=IGNORED_OUT, **RANDOM),
    OpEntry("randperm", lambda make: [Sample(5, dtype=DType(make.dtype)), Sample(0), Sample(7)],
            dtypes=("int64", "int32", "float32"), skips=IGNORED_OUT, **RANDOM),
    OpEntry("rand_like", _like(), dtypes=FLOATS, **RANDOM), OpEntry("randn_like", _like(), dtypes=FLOATS, **RANDOM),
    OpEntry("randint_like", _like(5), dtypes=("int64", "float32"), **RANDOM),
    OpEntry("normal", _normal, dtypes=("float32", "float64"), skips=IGNORED_OUT, **RANDOM),
    OpEntry("bernoulli", _probabilities, dtypes=("float32", "float64"), skips=IGNORED_OUT, **RANDOM),
    OpEntry("poisson", lambda make: [Sample(make(3, 4, low=0.5, high=5.0)), Sample(make(0, 2))],
            dtypes=("float32", "float64"), **RANDOM),
    OpEntry("binomial", _binomial, dtypes=("float32", "float64"), **RANDOM),
    OpEntry("multinomial", _multinomial, dtypes=("float32", "float64"), skips=IGNORED_OUT, **RANDOM),
    OpEntry("Tensor.bernoulli_", _self((0.3,), ()), dtypes=("float32", "float64"), **RANDOM),
    OpEntry("Tensor.uniform_", _self((), (-1.0, 2.0)), dtypes=FLOATS, **RANDOM),
    OpEntry("Tensor.normal_", _self((), (1.0, 0.5)), dtypes=FLOATS, **RANDOM),
    OpEntry("Tensor.exponential_", _self((), (2.0,)), dtypes=("float32", "float64"), **RANDOM),
    OpEntry("Tensor.random_", _self((), (5,), (-2, 3)), dtypes=("float32", "int64", "int32"), **RANDOM),
    OpEntry("Tensor.cauchy_", _self((), (1.0, 0.5), (0.0, -1.0)), dtypes=("float32", "float64", "int64"), **RANDOM),
    OpEntry("Tensor.log_normal_", _self((), (0.0, 0.5), (1.0, 0.0)), dtypes=("float32", "float64", "int64"), **RANDOM),
    OpEntry("Tensor.geometric_", _self((0.3,), (0.9,), (1.0,)), dtypes=("float32", "float64", "int64", "bool"), **RANDOM),
    OpEntry("nn.functional.dropout", _dropout, dtypes=("float32", "float64"), **RANDOM),
    OpEntry("nn.functional.alpha_dropout", _dropout, dtypes=("float32", "float64"), **RANDOM),
    OpEntry("nn.functional.feature_alpha_dropout", _feature_dropout(2), dtypes=("float32", "float64"), **RANDOM),
    OpEntry("nn.functional.dropout1d", _feature_dropout(1), dtypes=("float32", "float64"), **RANDOM),
    OpEntry("nn.functional.dropout2d", _feature_dropout(2), dtypes=("float32", "float64"), **RANDOM),
    OpEntry("nn.functional.dropout3d", _feature_dropout(3), dtypes=("float32", "float64"), **RANDOM),
]
