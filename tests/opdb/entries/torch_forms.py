"""PyTorch's top-level forms of functionals (``torch.celu_``, ``torch.dropout_(x, p, train)``,
``torch.feature_dropout``, ``torch.max_pool1d_with_indices``)."""
from opdb.core import OpEntry, Sample
from opdb.samples import unary

F32_64 = ("float32", "float64")
RANDOM = dict(random=True, differentiable=False, method=None, inplace=None, dtypes=F32_64)


def _on_copy(name):
    """``lib.<name>(copy of x, ...)``, returned with the copy (which it changed in place)."""
    def recipe(lib):
        def call(x, *args):
            out = x.clone()
            return getattr(lib, name)(out, *args), out
        return call
    return recipe


def _positional(*args):
    """``unary`` samples with positional parameters."""
    def gen(make):
        return [Sample(*s.args, *args) for s in unary()(make)]
    return gen


def _dropped(make):
    return [Sample(make(4, 5), 0.3, True), Sample(make(2, 3, 4, layout="transposed"), 0.5, False),
            Sample(make(0, 3), 0.5, True), Sample(make(4, 5), 1.5, True)]  # p > 1: RuntimeError


def _channels(make):
    return [Sample(make(2, 3, 4), 0.3, True), Sample(make(2, 3, 2, 2), 0.5, False), Sample(make(2, 3), 0.5, True),
            Sample(make(3), 0.5, True), Sample(make(2, 3), -0.5, True)]  # one dim, p < 0: RuntimeError


def _pool_samples(make):
    return [Sample(make(2, 3, 8), 2), Sample(make(1, 2, 9, layout="transposed"), 3, 2, 1),
            Sample(make(3, 8), 2, 1, 0, 2, True), Sample(make(2, 3, 8), 4, [])]


INPLACE = dict(differentiable=False, method=None, inplace=None)
ENTRIES = [
    OpEntry("celu_", _positional(0.5), op=_on_copy("celu_"), dtypes=F32_64, **INPLACE),
    OpEntry("selu_", _positional(), op=_on_copy("selu_"), dtypes=F32_64, **INPLACE),
    OpEntry("threshold_", _positional(0.3, -1.0), op=_on_copy("threshold_"), dtypes=F32_64, **INPLACE),
    OpEntry("dropout_", _dropped, op=_on_copy("dropout_"), **RANDOM),
    OpEntry("alpha_dropout_", _dropped, op=_on_copy("alpha_dropout_"), **RANDOM),
    OpEntry("feature_alpha_dropout_", _channels, op=_on_copy("feature_alpha_dropout_"), **RANDOM),
    OpEntry("feature_dropout", _channels, **RANDOM),
    OpEntry("feature_dropout_", _channels, op=_on_copy("feature_dropout_"), **RANDOM),
    OpEntry("max_pool1d_with_indices", _pool_samples, dtypes=F32_64, method=None, inplace=None),
]
