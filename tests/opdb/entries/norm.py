"""Normalisation layers: batch, instance, layer, group, RMS and local response norms."""
from opdb.core import OpEntry, Sample

F32_64 = ("float32", "float64")
NORM_DTYPES = ("float32", "float64", "bfloat16")


def _stats(make, c):
    return make(c, grad=False), make(c, low=0.5, high=2.0, grad=False)


def _batch_norm(make):
    mean, var = _stats(make, 3)
    return [Sample(make(4, 3, 5), mean, var, make(3), make(3), training=True),
            Sample(make(4, 3, 2, 2, layout="transposed"), mean, var, make(3), make(3), training=False),
            Sample(make(4, 3), mean, var, training=True, momentum=0.3, eps=1e-3),
            Sample(make(2, 3, 2, 2, 2), None, None, make(3), None, training=True)]


def _batch_norm_positional(make):
    mean, var = _stats(make, 3)
    return [Sample(make(4, 3, 5), make(3), make(3), mean, var, True, 0.1, 1e-5, False),
            Sample(make(4, 3, 2, 2, layout="sliced"), make(3), make(3), mean, var, False, 0.1, 1e-5, False)]


def _instance_norm(make):
    mean, var = _stats(make, 3)
    return [Sample(make(2, 3, 5)), Sample(make(2, 3, 4, 3, layout="transposed"), weight=make(3), bias=make(3)),
            Sample(make(2, 3, 5), mean, var, use_input_stats=True, momentum=0.2)]


def _instance_norm_positional(make):
    return [Sample(make(2, 3, 5), make(3), make(3), None, None, True, 0.1, 1e-5, False)]


def _layer_norm(make):
    return [Sample(make(3, 4), (4,)), Sample(make(2, 3, 4, layout="transposed"), (3, 4), make(3, 4), make(3, 4)),
            Sample(make(3, 4), [4], make(4), None, 1e-3), Sample(make(0, 4), (4,)), Sample(make(40, 65), (65,))]


def _group_norm(make):
    return [Sample(make(2, 4, 3), 2), Sample(make(2, 6, 2, 2, layout="transposed"), 3, make(6), make(6)),
            Sample(make(3, 4), 4), Sample(make(2, 4, 5), 1, make(4), None, 1e-3)]


def _rms_norm(make):
    return [Sample(make(3, 4), (4,)), Sample(make(2, 3, 4, layout="sliced"), (3, 4), make(3, 4)),
            Sample(make(3, 4), [4], make(4), 1e-3), Sample(make(0, 4), (4,))]


def _lrn(make):
    return [Sample(make(2, 5, 4), 3), Sample(make(2, 4, 3, 3, layout="transposed"), 2, 1e-3, 0.5, 2.0),
            Sample(make(1, 6, 2, 2, 2), 3)]


ENTRIES = [
    OpEntry("nn.functional.batch_norm", _batch_norm, dtypes=NORM_DTYPES),
    OpEntry("batch_norm", _batch_norm_positional, dtypes=F32_64),
    OpEntry("nn.functional.instance_norm", _instance_norm, dtypes=F32_64),
    OpEntry("instance_norm", _instance_norm_positional, dtypes=F32_64),
    OpEntry("nn.functional.layer_norm", _layer_norm, dtypes=NORM_DTYPES),
    OpEntry("layer_norm", _layer_norm, dtypes=F32_64),
    OpEntry("nn.functional.group_norm", _group_norm, dtypes=NORM_DTYPES),
    OpEntry("group_norm", _group_norm, dtypes=F32_64),
    OpEntry("nn.functional.rms_norm", _rms_norm, dtypes=NORM_DTYPES), OpEntry("rms_norm", _rms_norm, dtypes=F32_64),
    OpEntry("nn.functional.local_response_norm", _lrn, dtypes=F32_64),
]
