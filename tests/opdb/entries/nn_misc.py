"""The rest of ``nn.functional``: linear maps, embeddings, padding, resampling, one-hot
and attention."""
import numpy as np

from opdb.core import OpEntry, Sample, skip

F32_64 = ("float32", "float64")


def _f(name, samples, **kw):
    return OpEntry(f"nn.functional.{name}", samples, dtypes=kw.pop("dtypes", F32_64), **kw)


def _linear(make):
    return [Sample(make(3, 4), make(5, 4), make(5)), Sample(make(2, 3, 4, layout="transposed"), make(5, 4)),
            Sample(make(4), make(2, 4), make(2)), Sample(make(0, 4), make(5, 4, layout="transposed"), make(5)),
            Sample(make(40, 65), make(30, 65), make(30))]


def _bilinear(make):
    return [Sample(make(3, 4), make(3, 2), make(5, 4, 2), make(5)), Sample(make(2, 3, 4), make(2, 3, 2), make(5, 4, 2))]


def _ids(make, *shape, high):
    return make(*shape, values=make.rng.integers(0, high, size=shape), dtype="int64", grad=False)


def _embedding(make):
    return [Sample(_ids(make, 2, 3, high=5), make(5, 4)), Sample(_ids(make, 6, high=5), make(5, 4, layout="transposed")),
            Sample(_ids(make, 2, 3, high=5), make(5, 4), padding_idx=1),
            Sample(_ids(make, 8, high=3), make(3, 4), scale_grad_by_freq=True), Sample(_ids(make, 0, high=5), make(5, 4))]


def _embedding_top(make):
    return [Sample(make(5, 4), _ids(make, 2, 3, high=5)), Sample(make(5, 4), _ids(make, 6, high=5), 2)]


def _embedding_bag(make):
    offsets = make(3, values=[0, 2, 5], dtype="int64", grad=False)
    return [Sample(_ids(make, 2, 3, high=5), make(5, 4)), Sample(_ids(make, 7, high=5), make(5, 4), offsets, mode="sum"),
            Sample(_ids(make, 2, 3, high=5), make(5, 4), mode="max"),
            Sample(_ids(make, 6, high=5), make(5, 4), make(2, values=[0, 3], dtype="int64", grad=False),
                   per_sample_weights=make(6), mode="sum")]


def _pad(make):
    return [Sample(make(2, 3), (1, 2)), Sample(make(2, 3, 4, layout="transposed"), (1, 0, 2, 1), value=0.5),
            Sample(make(1, 2, 4), (2, 1), mode="reflect"), Sample(make(1, 2, 3, 3), (1, 1, 2, 0), mode="replicate"),
            Sample(make(1, 2, 4), (3, 2), mode="circular"), Sample(make(2, 3), (-1, 1)), Sample(make(0, 3), (1, 1))]


def _constant_pad(make):
    return [Sample(make(2, 3), (1, 2)), Sample(make(2, 3, 4, layout="transposed"), (1, 0, 2, 1), 0.5), Sample(make(3), (0, 0))]


def _interpolate(make):
    return [Sample(make(1, 2, 5), size=7), Sample(make(1, 2, 4, 5), scale_factor=2, mode="bilinear"),
            Sample(make(1, 2, 4, 5, layout="transposed"), size=(3, 7), mode="bicubic", align_corners=True),
            Sample(make(1, 2, 6), scale_factor=0.5, mode="linear"), Sample(make(1, 2, 3, 3, 2), size=(4, 4, 3), mode="trilinear"),
            Sample(make(1, 2, 5, 6), size=(3, 4), mode="area"), Sample(make(1, 2, 4, 5), size=(6, 7), mode="nearest-exact"),
            Sample(make(1, 2, 8, 8), size=(3, 5), mode="bilinear", antialias=True)]


def _upsample(make):
    return [Sample(make(1, 2, 4, 5), size=(6, 7)), Sample(make(1, 2, 3, 4, layout="transposed"), scale_factor=2)]


def _one_hot(make):
    return [Sample(_ids(make, 5, high=4)), Sample(_ids(make, 2, 3, high=4), 6), Sample(_ids(make, high=3), 3)]


def _sdpa(make):
    q, k, v = make(2, 3, 4), make(2, 5, 4), make(2, 5, 6)
    mask = make(3, 5, values=np.random.default_rng(1).random((3, 5)) > 0.3, dtype="bool", grad=False)
    return [Sample(q, k, v), Sample(make(2, 4, 4), make(2, 4, 4), make(2, 4, 3), is_causal=True),
            Sample(q, k, v, attn_mask=mask), Sample(q, k, v, attn_mask=make(3, 5), scale=0.3),
            Sample(make(1, 2, 3, 4, layout="transposed"), make(1, 2, 5, 4), make(1, 2, 5, 4))]


ENTRIES = [
    _f("linear", _linear), _f("bilinear", _bilinear),
    _f("embedding", _embedding, skips=tuple(
        skip(t, "by design not a derivative (a zero row at padding_idx, gradients scaled by counts), in torch too",
             sample=s) for t in ("gradcheck", "gradgrad") for s in ("padding_idx", "scale_grad_by_freq"))),
    OpEntry("embedding", _embedding_top, dtypes=F32_64),
    _f("embedding_bag", _embedding_bag),
    _f("pad", _pad), OpEntry("constant_pad_nd", _constant_pad, dtypes=("float32", "float64", "int64", "bool")),
    _f("interpolate", _interpolate), _f("upsample", _upsample), _f("upsample_nearest", _upsample),
    _f("upsample_bilinear", _upsample),
    _f("one_hot", _one_hot, dtypes=("int64",), differentiable=False),
    _f("scaled_dot_product_attention", _sdpa),
]
