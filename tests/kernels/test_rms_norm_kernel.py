"""The rms_norm primitive and its compiled kernels (``ember/ops/norm_kernels.py``) against the NumPy
path and torch: values, input and weight gradients, thread counts, gradcheck, errors, vmap, ONNX."""
import contextlib
import io

import numpy as np
import pytest
import torch

import ember
from ember.backend import compiled
from tests.oracle import check, check_layouts, gradcheck, rand


def _rms_norm_run(x, w, g, shape, eps=None):
    """Output and gradients of ember's rms_norm on float arrays (weight may be None)."""
    leaves = [ember.tensor(a, requires_grad=True) if a is not None else None for a in (x, w)]
    out = ember.nn.functional.rms_norm(leaves[0], shape, leaves[1], eps)
    out.backward(ember.tensor(g))
    return [out.detach().numpy()] + [t.grad.numpy() for t in leaves if t is not None]


SHAPES = [((37, 33), (33,)), ((3, 5, 7, 9), (7, 9)), ((2, 3, 4, 5), (3, 4, 5)), ((1, 1), (1,)), ((300, 256), (256,)),
          ((6,), (6,))]


@pytest.mark.parametrize("dtype,tol", [(np.float32, 2e-5), (np.float64, 1e-12)])
@pytest.mark.parametrize("shape,norm", SHAPES)
@pytest.mark.parametrize("affine", [True, False])
def test_kernel_matches_numpy_path(dtype, tol, shape, norm, affine):
    x = rand(*shape, dtype=dtype, seed=1) * 4 + 1
    w = rand(*norm, dtype=dtype, seed=2) if affine else None
    g = rand(*shape, dtype=dtype, seed=3)
    got = _rms_norm_run(x, w, g, norm)
    with compiled.disabled():
        want = _rms_norm_run(x, w, g, norm)
    for a, e in zip(got, want):
        np.testing.assert_allclose(a, e, rtol=tol, atol=tol * max(np.abs(e).max(), 1.0))  # n=1: d x cancels to ~0


@pytest.mark.parametrize("kernels", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,norm", SHAPES)
def test_matches_torch(kernels, dtype, shape, norm):
    atol = 1e-5 if dtype == np.float32 else 1e-10
    x, w = rand(*shape, dtype=dtype, seed=4), rand(*norm, dtype=dtype, seed=5)
    with compiled.disabled() if not kernels else contextlib.nullcontext():
        check(lambda lib, x, w: lib.nn.functional.rms_norm(x, norm, w), x, w, atol=atol)
        check(lambda lib, x: lib.rms_norm(x, list(norm), eps=1e-3), x, atol=atol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_non_contiguous_inputs(dtype):
    atol = 1e-5 if dtype == np.float32 else 1e-10
    check_layouts(lambda lib, x, w: lib.rms_norm(x, [9], w), rand(11, 9, dtype=dtype, seed=6),
                  rand(9, dtype=dtype, seed=7), atol=atol)
    check_layouts(lambda lib, x: lib.rms_norm(x, [6, 9]), rand(4, 6, 9, dtype=dtype, seed=8), atol=atol)
    check(lambda lib, x, w: lib.nn.functional.rms_norm(x, (256,), w, 1e-6), rand(4, 33, 256, dtype=dtype, seed=9)
          * 100, rand(256, dtype=dtype, seed=10), atol=atol * 10)


def test_results_do_not_depend_on_the_thread_count():
    x, w, g = rand(517, 129, seed=11), rand(129, seed=12), rand(517, 129, seed=13)
    before = ember.get_num_threads()
    runs = []
    try:
        for n in (1, 2, 3):
            ember.set_num_threads(n)
            runs.append(_rms_norm_run(x, w, g, (129,)))
    finally:
        ember.set_num_threads(before)
    for other in runs[1:]:
        assert all(np.array_equal(a, o) for a, o in zip(runs[0], other))


def test_zero_rows_and_extreme_values():
    x = np.zeros((3, 8), np.float32)
    x[1] = np.linspace(-1e4, 1e4, 8)
    x[2] = 1e-20
    check(lambda lib, x, w: lib.rms_norm(x, [8], w), x, rand(8, seed=14), atol=1e-4)
    check(lambda lib, x: lib.rms_norm(x, [4]), rand(0, 4, seed=15))


@pytest.mark.parametrize("kernels", [True, False])
def test_float64_gradcheck_and_gradgradcheck(kernels):
    with compiled.disabled() if not kernels else contextlib.nullcontext():
        gradcheck(lambda lib, x, w: lib.rms_norm(x, [5], w), rand(3, 5, seed=16), rand(5, seed=17))
        gradcheck(lambda lib, x: lib.rms_norm(x, [2, 3], eps=1e-3), rand(2, 2, 3, seed=18))


def test_rstd_output_gradient():
    """Gradients reaching rstd (the second output) go into d x, as torch's fused op gives them."""
    x, w = rand(4, 6, dtype=np.float64, seed=19), rand(6, dtype=np.float64, seed=20)
    gradcheck(lambda lib, x, w: lib.ops.norm._rms_norm(x, w, trailing=1, eps=1e-6), x, w)
    check(lambda lib, x, w: (lib.ops.norm._rms_norm(x, w, trailing=1, eps=1e-6) if lib is ember else
                             lib.ops.aten._fused_rms_norm(x, [6], w, 1e-6)), x, w, atol=1e-10)


def test_forward_mode():
    x, w = rand(3, 4, dtype=np.float64, seed=21), rand(4, dtype=np.float64, seed=22)
    tx, tw = rand(3, 4, dtype=np.float64, seed=23), rand(4, dtype=np.float64, seed=24)
    results = []
    for lib in (ember, torch):
        jvp = lib.func.jvp
        out, tangent = jvp(lambda a, b: lib.rms_norm(a, [4], b), (lib.tensor(x), lib.tensor(w)),
                           (lib.tensor(tx), lib.tensor(tw)))
        results.append((out.numpy(), tangent.numpy()))
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, atol=1e-12)


def test_vmap_and_jacrev_without_the_per_sample_fallback():
    from ember.func._batched import FALLBACK_USED
    FALLBACK_USED.clear()
    xs, ws = rand(3, 4, 5, dtype=np.float64, seed=25), rand(3, 5, dtype=np.float64, seed=26)
    got, want = [], []
    for lib, out in ((ember, got), (torch, want)):
        f = lambda x, w: lib.nn.functional.rms_norm(x, [5], w) * 2  # noqa: E731
        out.append(lib.func.vmap(f)(lib.tensor(xs), lib.tensor(ws)))
        out.append(lib.func.vmap(f, in_dims=(None, 0))(lib.tensor(xs[0]), lib.tensor(ws)))
        out.extend(lib.func.jacrev(f, argnums=(0, 1))(lib.tensor(xs[0]), lib.tensor(ws[0])))
    for a, b in zip(got, want):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-12)
    assert not FALLBACK_USED & {"rms_norm", "rms_norm_grad"}


def test_half_precision_is_normalised_in_float32_as_torch():
    x = np.full((2, 3), 1e-3, np.float32)
    for dtype in ("float16", "bfloat16"):
        e = ember.rms_norm(ember.tensor(x).to(getattr(ember, dtype)), [3])
        t = torch.rms_norm(torch.tensor(x).to(getattr(torch, dtype)), [3])
        assert e.dtype == getattr(ember, dtype)
        np.testing.assert_allclose(e.float().numpy(), t.float().numpy(), rtol=1e-2)


@pytest.mark.filterwarnings("ignore:Mismatch dtype between input and weight")
def test_mixed_dtype_weight_keeps_the_input_dtype_as_torch():
    check(lambda lib, x, w: lib.rms_norm(x, [4], w), rand(3, 4, seed=27), rand(4, dtype=np.float64, seed=28))


def test_node_name():
    y = ember.rms_norm(ember.ones(2, 3, requires_grad=True), [3])
    assert y.grad_fn.name() == "FusedRmsNormBackward0"


def test_bad_input_raises_as_torch():
    """torch's rms_norm prints the expected shape as ``[*3]``; ember keeps layer_norm's ``[*, 3]``."""
    cases = [
        (lambda lib: lib.rms_norm(lib.ones(3, 4), [3]), RuntimeError,
         r"Given normalized_shape=\[3\], expected input with shape \[\*(, )?3\], but got input of size\[3, 4\]"),
        (lambda lib: lib.rms_norm(lib.ones(3, 4), [4], lib.ones(3)), RuntimeError,
         r"Expected weight to be of same shape as normalized_shape, but got weight of shape \[3\] and "
         r"normalized_shape = \[4\]"),
        (lambda lib: lib.rms_norm(lib.ones(3, 4), [3, 4], lib.ones(4)), RuntimeError,
         r"Expected weight to be of same shape as normalized_shape, but got weight of shape \[4\] and "
         r"normalized_shape = \[3, 4\]"),
        (lambda lib: lib.rms_norm(lib.ones(3, 4, dtype=lib.int64), [4]), NotImplementedError,
         "\"rms_norm\" not implemented for 'Long'"),
    ]
    for fn, exc, message in cases:
        for lib in (torch, ember):
            with pytest.raises(exc, match=message):
                fn(lib)


def test_onnx_export_runs_in_onnxruntime():
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")

    class Model(ember.nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = ember.nn.RMSNorm([3, 4]), ember.nn.RMSNorm(4, eps=1e-3, elementwise_affine=False)

        def forward(self, x):
            return self.b(self.a(x) * 2)

    ember.manual_seed(0)
    model = Model().eval()
    with ember.no_grad():
        model.a.weight.copy_(ember.randn(3, 4))
    buf = io.BytesIO()
    ember.onnx.export(model, (ember.randn(2, 3, 4),), buf, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
    onnx.checker.check_model(onnx.load_from_string(buf.getvalue()), full_check=True)
    session = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    for n in (1, 5):
        x = ember.randn(n, 3, 4)
        with ember.no_grad():
            want = model(x).numpy()
        np.testing.assert_allclose(session.run(None, {"x": x.numpy()})[0], want, rtol=1e-5, atol=1e-5)
