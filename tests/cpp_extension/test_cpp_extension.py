"""ember.utils.cpp_extension: real gcc/g++ builds through cffi, tensors passed as ember_tensor structs,
the build cache keyed by the sources, readable compiler errors."""
import os

import numpy as np
import pytest

import ember
from ember.utils.cpp_extension import get_default_build_root, load, load_inline

SCALE = r"""
/* out[i] = x[i] * k over any strides; returns the element count */
int64_t scale(ember_tensor *out, const ember_tensor *x, double k) {
    int64_t n = x->shape[0];
    const double *xs = (const double *)x->data;
    double *ys = (double *)out->data;
    for (int64_t i = 0; i < n; i++) ys[i * out->strides[0]] = xs[i * x->strides[0]] * k;
    return n;
}

int32_t dtype_code(const ember_tensor *x) { return x->dtype; }

int64_t ndim_of(const ember_tensor *x) { return x->ndim; }

static int helper(void) { return 1; }
"""


@pytest.fixture(autouse=True)
def build_root(tmp_path, monkeypatch):
    monkeypatch.setenv("EMBER_EXTENSIONS_DIR", str(tmp_path / "ext"))
    return tmp_path / "ext"


def test_build_root_honours_the_environment(build_root):
    assert get_default_build_root() == str(build_root)


def test_inline_c_reads_strides_and_writes_the_output():
    ext = load_inline("scale_c", SCALE, language="c")
    assert {"scale", "dtype_code", "ndim_of"} <= set(vars(ext)) and not hasattr(ext, "helper")
    x = ember.arange(10, dtype=ember.float64)[::3]  # strided view: elements 0, 3, 6, 9
    out = ember.zeros(8, dtype=ember.float64)[::2]
    assert ext.scale(out, x, 2.5) == 4
    np.testing.assert_array_equal(out.numpy(), np.arange(10.0)[::3] * 2.5)
    assert ext.dtype_code(ember.zeros(1, dtype=ember.int64)) == 7 and ext.ndim_of(ember.zeros(2, 3, 4)) == 3


def test_cpp_source_and_cache_hit(build_root):
    src = "#include <vector>\n" + SCALE.replace("int64_t scale", 'extern "C" int64_t scale')
    first = load_inline("scale_cpp", src, functions={"scale": "x times k"})
    assert first.scale.__doc__ == "x times k"
    built = sorted(os.listdir(build_root))
    second = load_inline("scale_cpp", src, functions=["scale"])
    assert sorted(os.listdir(build_root)) == built and second.__file__ == first.__file__
    changed = load_inline("scale_cpp", src.replace("* k", "* k * 2"), functions=["scale"])
    assert changed.__file__ != first.__file__
    out = ember.zeros(2, dtype=ember.float64)
    changed.scale(out, ember.ones(2, dtype=ember.float64), 3.0)
    assert out.tolist() == [6.0, 6.0]


def test_load_from_files(tmp_path):
    path = tmp_path / "scale.c"
    path.write_text(SCALE)
    ext = load("scale_file", [str(path)], build_directory=str(tmp_path / "build"))
    out = ember.zeros(3, dtype=ember.float64)
    ext.scale(out, ember.full((3,), 2.0, dtype=ember.float64), 0.5)
    assert out.tolist() == [1.0, 1.0, 1.0]
    assert any(name.endswith(".so") for name in os.listdir(tmp_path / "build"))


def test_compiler_errors_are_reported_with_file_and_line():
    with pytest.raises(RuntimeError) as info:
        load_inline("broken", "void f(ember_tensor *x) {\n    int y = ;\n}\n", language="c")
    message = str(info.value)
    assert "Error building extension 'broken'" in message and "broken_inline_0:2:" in message
    assert "error" in message


def test_bad_arguments_and_cuda():
    ext = load_inline("scale_args", SCALE, language="c")
    with pytest.raises(TypeError, match="expected an ember Tensor"):
        ext.scale([1.0], ember.zeros(1, dtype=ember.float64), 1.0)
    with pytest.raises(RuntimeError, match="reads CPU memory"):
        ext.scale(ember.empty(1, device="meta"), ember.zeros(1, dtype=ember.float64), 1.0)
    with pytest.raises(RuntimeError, match="CUDA extensions are not supported"):
        load_inline("cu", SCALE, with_cuda=True)
    with pytest.raises(ValueError, match="no definition of function 'missing'"):
        load_inline("missing_fn", SCALE, functions=["missing"], language="c")


def test_cpp_auto_export_skips_methods_and_static_functions():
    src = SCALE + "\nstruct Acc {\n    double total = 0;\n    void add(double v) {\n        total += v;\n    }\n};\n"
    ext = load_inline("auto_cpp", src)
    assert {"scale", "dtype_code", "ndim_of"} <= set(vars(ext))
    assert not hasattr(ext, "add") and not hasattr(ext, "helper")
