"""Spatial transformers (affine_grid, grid_sample), channel_shuffle and the grouped matmul of
``nn.functional``."""
from opdb.core import OpEntry, Sample

F32_64 = ("float32", "float64")


def _f(name, samples, **kw):
    return OpEntry(f"nn.functional.{name}", samples, dtypes=kw.pop("dtypes", F32_64), **kw)


def _grid_sample(mode, nd=2):
    def gen(make):
        sp, out = ((3, 4), (2, 3)) if nd == 2 else ((2, 3, 2), (2, 2, 1))
        grid = lambda n, *o: make(n, *o, nd, low=-1.3, high=1.3)  # noqa: E731
        return [Sample(make(2, 2, *sp), grid(2, *out), mode, pad, align)
                for pad, align in (("zeros", False), ("border", True), ("reflection", False), ("reflection", True))] + [
            Sample(make(1, 3, *sp, layout="transposed"), grid(1, *out), mode, "zeros", True),
            Sample(make(1, 1, *sp), grid(1, *out), mode, "border", False),
            Sample(make(2, 2, *sp), grid(2, *((0,) + out[1:])), mode, "zeros", False)]
    return gen


def _affine_grid(make):
    return [Sample(make(2, 2, 3), (2, 3, 4, 5), False), Sample(make(1, 2, 3), (1, 1, 3, 2), True),
            Sample(make(2, 3, 4), (2, 1, 2, 3, 2), False), Sample(make(1, 3, 4, layout="sliced"), (1, 2, 2, 2, 3), True),
            Sample(make(2, 2, 3), (2, 1, 1, 3), False)]


def _channel_shuffle(make):
    return [Sample(make(2, 6, 3), 3), Sample(make(1, 4, 2, 3, layout="transposed"), 2), Sample(make(2, 6, 2, 2, 2), 2),
            Sample(make(0, 4, 2), 4), Sample(make(1, 6, 3), 1)]


def _grouped_mm(make):
    return [Sample(make(3, 4, 8), make(3, 8, 8)),
            Sample(make(6, 8), make(3, 8, 8), offs=make(3, values=[2, 4, 6], dtype="int32", grad=False)),
            Sample(make(8, 16), make(16, 8), offs=make(3, values=[4, 8, 16], dtype="int32", grad=False)),
            Sample(make(3, 8, 8), make(8, 24), offs=make(3, values=[8, 16, 24], dtype="int32", grad=False))]


def _labels(make, *shape, high):
    return make(*shape, values=make.rng.integers(0, high, size=shape), dtype="int64", grad=False)


def _linear_cross_entropy(make):
    return [Sample(make(4, 3), make(5, 3), _labels(make, 4, high=5)),
            Sample(make(4, 3), make(5, 3, layout="transposed"), _labels(make, 4, high=5), linear_bias=make(5),
                   reduction="sum", label_smoothing=0.1),
            Sample(make(3, 2), make(4, 2, 2), _labels(make, 3, 2, high=4), linear_bias=make(4, 2), reduction="none"),
            Sample(make(4, 3), make(5, 3), _labels(make, 4, high=5), weight=make(5, low=0.5, high=1.0, grad=False),
                   ignore_index=2)]


ENTRIES = [
    _f("linear_cross_entropy", _linear_cross_entropy),
    _f("grid_sample", _grid_sample("bilinear")), _f("grid_sample", _grid_sample("nearest"), name_suffix="nearest"),
    _f("grid_sample", _grid_sample("bicubic"), name_suffix="bicubic"),
    _f("grid_sample", _grid_sample("bilinear", 3), name_suffix="trilinear"),
    _f("grid_sample", _grid_sample("nearest", 3), name_suffix="nearest3d"),
    _f("affine_grid", _affine_grid),
    _f("channel_shuffle", _channel_shuffle, dtypes=("float32", "float64", "int64")),
    _f("grouped_mm", _grouped_mm, dtypes=("float32",)),
]
