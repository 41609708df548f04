"""Reduced precision on the (fake) CUDA device: float16/bfloat16 tensors, CUDA autocast, GradScaler
on device gradients, and the float32 matmul precision reaching CuPy's cuBLAS compute type."""
import numpy as np
import pytest
import torch

import ember
from ember.backend import fake_cupy, gpu_precision
from tests.oracle import rand


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_tensors_compute_on_the_device_as_torch(fake_cuda, dtype):
    a0, b0 = rand(4, 5, seed=1), rand(5, 3, seed=2)
    out = {}
    for lib, dev in ((ember, "cuda"), (torch, "cpu")):
        dt = getattr(lib, dtype)
        a = lib.tensor(a0, device=dev).to(dt).requires_grad_()
        b = lib.tensor(b0, device=dev).to(dt)
        y = lib.nn.functional.layer_norm(lib.softmax(a @ b, -1) + lib.nn.functional.gelu(a @ b), (3,))
        y.sum().backward()
        out[lib] = y, a.grad
    (y, g), (ty, tg) = out[ember], out[torch]
    assert y.device.type == "cuda" and y.dtype is getattr(ember, dtype) and g.dtype is getattr(ember, dtype)
    assert isinstance(y._data, fake_cupy.ndarray)
    tol = 2e-2 if dtype == "bfloat16" else 4e-3
    np.testing.assert_allclose(y.detach().cpu().float().numpy(), ty.detach().float().numpy(), atol=tol * 4, rtol=tol)
    np.testing.assert_allclose(g.cpu().float().numpy(), tg.float().numpy(), atol=tol * 4, rtol=tol)


def test_bf16_support_is_probed_on_the_device(fake_cuda):
    assert ember.cuda.is_bf16_supported() and ember.cuda.is_bf16_supported(including_emulation=False)


def test_cuda_autocast_runs_torchs_cuda_lists_on_cuda_tensors(fake_cuda):
    a = ember.ones(2, 3, device="cuda", requires_grad=True)
    w = ember.ones(4, 3, device="cuda", requires_grad=True)
    with ember.autocast("cuda", dtype=ember.float16):
        lowered = ember.nn.functional.linear(a, w)
        exp, soft = lowered.exp(), ember.softmax(lowered, -1)
        mixed = ember.cat([lowered, ember.ones(1, 4, device="cuda")])
        plain = a + 1
        cpu = ember.ones(2, 3) @ ember.ones(3, 2)  # CPU tensors follow the CPU switch, which is off
    assert (lowered.dtype, exp.dtype, soft.dtype, mixed.dtype, plain.dtype, cpu.dtype) == (
        ember.float16, ember.float32, ember.float32, ember.float32, ember.float32, ember.float32)
    assert lowered.device.type == "cuda" and isinstance(lowered._data, fake_cupy.ndarray)
    lowered.float().sum().backward()
    assert a.grad.dtype is ember.float32 and w.grad.dtype is ember.float32  # casts are recorded ``to`` ops


def test_cuda_autocast_to_bfloat16(fake_cuda):
    x = ember.ones(2, 3, device="cuda")
    with ember.autocast("cuda", dtype=ember.bfloat16):
        assert (x @ x.T).dtype is ember.bfloat16
    with pytest.warns(UserWarning, match="not supported"):
        region = ember.autocast("cuda", dtype=ember.float64)
    with region:
        assert (x @ x.T).dtype is ember.float32


def _train(lib, device, steps, inf_at):
    w = lib.tensor(rand(4, 3, seed=1), device=device, requires_grad=True)
    v = lib.tensor(rand(3, seed=3), device=device, requires_grad=True)
    x = lib.tensor(rand(5, 4, seed=2), device=device)
    opt = lib.optim.SGD([w, v], lr=0.1, momentum=0.9)
    scaler = lib.amp.GradScaler(device, init_scale=2.0 ** 10, growth_factor=4.0, backoff_factor=0.25,
                                growth_interval=2)
    scales, params, results = [], [], []
    for step in range(steps):
        opt.zero_grad()
        loss = ((x @ w) * v).pow(2).mean()
        if step in inf_at:
            loss = loss * float("inf")
        scaler.scale(loss).backward()
        results.append(scaler.step(opt))
        scaler.update()
        scales.append(scaler.get_scale())
        params.append(w.detach().cpu().numpy().copy())
    return scales, params, results


def test_grad_scaler_on_device_gradients_matches_torch(fake_cuda):
    e = _train(ember, "cuda", 7, {1, 4})
    t = _train(torch, "cpu", 7, {1, 4})
    assert e[0] == t[0]
    assert [r is None for r in e[2]] == [r is None for r in t[2]]
    for pe, pt in zip(e[1], t[1]):
        np.testing.assert_allclose(pe, pt, rtol=1e-5, atol=1e-6)


def test_grad_scaler_reads_the_device_once_per_step(fake_cuda, monkeypatch):
    """The inf/NaN check of all gradients is combined on the device and read back once, not per parameter."""
    params = [ember.ones(3, device="cuda", requires_grad=True) for _ in range(4)]
    opt = ember.optim.SGD(params, lr=0.1)
    scaler = ember.amp.GradScaler("cuda")
    scaler.scale(sum((p * p).sum() for p in params)).backward()
    reads = []
    for name in ("__bool__", "__float__", "__int__", "get"):
        original = getattr(fake_cupy.ndarray, name)
        monkeypatch.setattr(fake_cupy.ndarray, name,
                            lambda self, *a, _o=original, _n=name, **k: reads.append(_n) or _o(self, *a, **k))
    scaler.unscale_(opt)
    assert reads == ["__bool__"]
    np.testing.assert_allclose(params[0].grad.cpu().numpy(), [2.0, 2.0, 2.0])


def test_float32_matmul_precision_sets_cupys_compute_type(fake_cuda):
    xp = fake_cuda
    before = ember.get_float32_matmul_precision()
    try:
        assert gpu_precision.compute_type(xp) == "COMPUTE_TYPE_DEFAULT"
        ember.set_float32_matmul_precision("high")
        assert gpu_precision.compute_type(xp) == "COMPUTE_TYPE_TF32"
        ember.backends.cuda.matmul.allow_tf32 = False
        assert gpu_precision.compute_type(xp) == "COMPUTE_TYPE_DEFAULT"
        ember.set_float32_matmul_precision("medium")  # torch's CUDA matmuls: TF32 as for "high"
        assert gpu_precision.compute_type(xp) == "COMPUTE_TYPE_TF32" and ember.backends.cuda.matmul.allow_tf32
    finally:
        ember.set_float32_matmul_precision(before)


def test_tf32_is_not_asked_of_a_gpu_older_than_ampere(fake_cuda, monkeypatch):
    props = fake_cupy._Runtime.getDeviceProperties(0)
    monkeypatch.setattr(fake_cupy._Runtime, "getDeviceProperties", staticmethod(lambda i: {**props, "major": 7}))
    before = ember.get_float32_matmul_precision()
    try:
        ember.set_float32_matmul_precision("high")
        assert gpu_precision.compute_type(fake_cuda) == "COMPUTE_TYPE_DEFAULT"
        assert ember.get_float32_matmul_precision() == "high"
        assert not ember.cuda.is_bf16_supported(including_emulation=False)
    finally:
        ember.set_float32_matmul_precision(before)
