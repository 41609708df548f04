"""The fused CuPy kernels (ember.backend.cupy_kernels): chosen only on real CuPy, refused by the fake
device, their sources parsed by CuPy without a GPU, and (marked ``gpu``) run against the array path."""
import numpy as np
import pytest
import scipy.special

import ember
from ember.backend import cupy_kernels, fake_cupy
from ember.backend.device import gpu_module

cupy = pytest.importorskip("cupy", reason="CuPy is not installed: its kernel classes cannot parse the sources")


def _real_gpu():
    try:
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # no driver
        return False


gpu = pytest.mark.gpu
needs_gpu = pytest.mark.skipif(not _real_gpu(), reason="no NVIDIA GPU here: CUDA C kernels compile and run only on one")


def test_kernels_are_chosen_only_on_real_cupy(fake_cuda):
    assert cupy_kernels.is_real_cupy(cupy)
    assert not cupy_kernels.is_real_cupy(np) and not cupy_kernels.is_real_cupy(fake_cuda)
    x = fake_cuda.ones(3, dtype=np.float32)
    assert not cupy_kernels.fusable(fake_cuda, x) and not cupy_kernels.fusable(np, np.ones(3))


def test_the_fake_device_refuses_to_compile_cuda_c(fake_cuda):
    for name in ("ElementwiseKernel", "ReductionKernel", "RawKernel"):
        with pytest.raises(NotImplementedError, match="cannot compile CUDA C"):
            getattr(fake_cuda, name)("T x", "T y", "y = x", "k")


def test_the_ops_keep_their_array_path_on_the_fake_device(fake_cuda):
    """GELU, softmax, layer norm and the Adam/SGD steps run (on NumPy behind the fake) without reaching a kernel."""
    x = ember.randn(3, 4, device="cuda", requires_grad=True)
    y = ember.nn.functional.gelu(x) * ember.softmax(x, -1) + ember.log_softmax(x, 0)
    ember.nn.functional.layer_norm(y, (4,), ember.ones(4, device="cuda")).sum().backward()
    for opt in (ember.optim.Adam([x], lr=0.1), ember.optim.AdamW([x]), ember.optim.SGD([x], lr=0.1, momentum=0.9)):
        opt.step()
        opt.step()
    assert x.device.type == "cuda" and isinstance(x.grad._data, fake_cupy.ndarray)


@pytest.mark.parametrize("name", sorted(cupy_kernels.SOURCES))
def test_cupy_parses_every_kernel_signature(name):
    """Building the kernel object parses its parameters (compiling needs a GPU)."""
    kernel = cupy_kernels.build(cupy, name)
    constructor, args = cupy_kernels.SOURCES[name]
    assert type(kernel).__name__ == constructor
    params = ",".join(args[:2])
    assert kernel.nin + kernel.nout == params.count(",") + 1


def test_one_kernel_object_per_module():
    assert cupy_kernels.build(cupy, "adam") is cupy_kernels.build(cupy, "adam")


@gpu
@needs_gpu
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_kernels_match_the_array_path_on_a_gpu(dtype):
    from ember.backend import device as device_module
    from ember.optim.adam import adam_step
    from ember.optim.sgd import sgd_step
    assert gpu_module() is cupy and device_module.cuda_is_available()
    rng = np.random.default_rng(0)
    x = cupy.asarray(rng.standard_normal((7, 33)).astype(dtype))
    g = cupy.asarray(rng.standard_normal((7, 33)).astype(dtype))
    tol = 2e-3 if dtype == np.float16 else 1e-5
    y, cdf = cupy_kernels.gelu_forward(cupy, x)
    xd = x.get().astype(np.float64)
    np.testing.assert_allclose(y.get().astype(np.float64), xd * scipy.special.ndtr(xd), rtol=tol, atol=tol)
    gx = cupy_kernels.gelu_backward(cupy, g, x, cdf)
    expect = g.get() * (cdf.get() + xd * np.exp(-0.5 * xd * xd) / np.sqrt(2 * np.pi))
    np.testing.assert_allclose(gx.get().astype(np.float64), expect, rtol=tol * 4, atol=tol * 4)
    if dtype != np.float16:
        for axis in (0, 1):
            ex = np.exp(xd - xd.max(axis, keepdims=True))
            np.testing.assert_allclose(cupy_kernels.softmax(cupy, x, axis).get(), ex / ex.sum(axis, keepdims=True),
                                       rtol=tol, atol=tol)
            np.testing.assert_allclose(cupy_kernels.softmax(cupy, x, axis, log=True).get(),
                                       np.log(ex / ex.sum(axis, keepdims=True)), rtol=tol, atol=tol)
    if dtype != np.float16:
        w, b = g[0].copy(), x[1].copy()
        out, mean, rstd = cupy_kernels.norm_forward(cupy, x, w, b, x.shape, (1,), (1, 33), 1e-5)
        ref_mean = xd.mean(1, keepdims=True)
        ref_rstd = 1 / np.sqrt(((xd - ref_mean) ** 2).mean(1, keepdims=True) + 1e-5)
        expect = (xd - ref_mean) * ref_rstd * w.get() + b.get()
        np.testing.assert_allclose(out.get(), expect, rtol=tol * 10, atol=tol * 10)
        np.testing.assert_allclose(rstd.get(), ref_rstd, rtol=tol * 10)
    for decoupled in (False, True):
        fused = [x.copy(), cupy.zeros_like(x), cupy.zeros_like(x)]
        plain = [a.copy() for a in fused]
        for step in (1, 2, 3):
            kw = dict(lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.1, decoupled=decoupled,
                      maximize=False)
            cupy_kernels.adam_step(fused[0], g, fused[1], fused[2], step, xp=cupy, **kw)
            with _array_path():
                adam_step(cupy, plain[0], g, plain[1], plain[2], None, step, **kw)
        for a, b in zip(fused, plain):
            np.testing.assert_allclose(a.get(), b.get(), rtol=tol * 10, atol=tol * 10)
    p1, p2 = x.copy(), x.copy()
    b1, b2 = g.copy(), g.copy()
    kw = dict(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01, nesterov=False, maximize=True)
    cupy_kernels.sgd_momentum_step(p1, g, b1, xp=cupy, **kw)
    with _array_path():
        sgd_step(cupy, p2, g, b2, **kw)
    np.testing.assert_allclose(p1.get(), p2.get(), rtol=tol * 10, atol=tol * 10)
    np.testing.assert_allclose(b1.get(), b2.get(), rtol=tol * 10, atol=tol * 10)


class _array_path:
    """Within it, the optimizer steps take their array-module path on real CuPy too (the kernels' reference)."""

    def __enter__(self):
        import ember.optim.adam
        import ember.optim.sgd
        self._modules = (ember.optim.adam, ember.optim.sgd)
        for module in self._modules:
            module.fusable = lambda xp, *arrays: False

    def __exit__(self, *exc):
        for module in self._modules:
            module.fusable = cupy_kernels.fusable
