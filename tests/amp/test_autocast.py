"""ember.autocast against torch.autocast on CPU: each op's output dtype, values, and gradient dtypes."""
import warnings

import numpy as np
import pytest
import torch

import ember
from tests.oracle import rand


def _sq(lib, x):
    return x @ x.mT + 4 * lib.eye(x.shape[-1])


# name -> (fn(lib, *tensors), input shapes); inputs are float32 tensors that require grad
CASES = {
    "matmul": (lambda lib, a, b: a @ b, [(3, 4), (4, 5)]),
    "matmul 1-D @ 2-D": (lambda lib, a, b: a @ b, [(4,), (4, 5)]),
    "matmul batched": (lambda lib, a, b: a @ b, [(2, 3, 4), (4, 5)]),
    "mm": (lambda lib, a, b: lib.mm(a, b), [(3, 4), (4, 5)]),
    "bmm": (lambda lib, a, b: lib.bmm(a, b), [(2, 3, 4), (2, 4, 5)]),
    "dot": (lambda lib, a, b: lib.dot(a, b), [(4,), (4,)]),
    "mv": (lambda lib, a, b: lib.mv(a, b), [(3, 4), (4,)]),
    "addmm": (lambda lib, c, a, b: lib.addmm(c, a, b), [(3, 5), (3, 4), (4, 5)]),
    "addmv": (lambda lib, c, a, b: lib.addmv(c, a, b), [(3,), (3, 4), (4,)]),
    "baddbmm": (lambda lib, c, a, b: lib.baddbmm(c, a, b), [(2, 3, 5), (2, 3, 4), (2, 4, 5)]),
    "addbmm": (lambda lib, c, a, b: lib.addbmm(c, a, b), [(3, 5), (2, 3, 4), (2, 4, 5)]),
    "linear": (lambda lib, x, w, b: lib.nn.functional.linear(x, w, b), [(3, 4), (5, 4), (5,)]),
    "linear, no bias": (lambda lib, x, w: lib.nn.functional.linear(x, w), [(2, 3, 4), (5, 4)]),
    "conv1d": (lambda lib, x, w: lib.nn.functional.conv1d(x, w), [(1, 2, 6), (3, 2, 3)]),
    "conv2d": (lambda lib, x, w, b: lib.nn.functional.conv2d(x, w, b, padding=1), [(1, 2, 5, 5), (3, 2, 3, 3), (3,)]),
    "conv_transpose2d": (lambda lib, x, w: lib.nn.functional.conv_transpose2d(x, w), [(1, 2, 4, 4), (2, 3, 3, 3)]),
    "einsum": (lambda lib, a, b: lib.einsum("ij,jk->ik", a, b), [(3, 4), (4, 5)]),
    "tensordot": (lambda lib, a, b: lib.tensordot(a, b, 1), [(3, 4), (4, 5)]),
    "prelu": (lambda lib, x, w: lib.nn.functional.prelu(x, w), [(3, 4), (1,)]),
    "sdpa": (lambda lib, q, k, v: lib.nn.functional.scaled_dot_product_attention(q, k, v), [(2, 3, 4)] * 3),
    "softmax": (lambda lib, x: lib.softmax(x, -1), [(3, 4)]),
    "layer_norm": (lambda lib, x: lib.nn.functional.layer_norm(x, (4,)), [(3, 4)]),
    "sum, exp, add": (lambda lib, x: (x.exp() + 1).sum(), [(3, 4)]),
    "prod": (lambda lib, x: x.prod(), [(3, 4)]),
    "trace": (lambda lib, x: x.trace(), [(4, 4)]),
    "inv": (lambda lib, x: lib.linalg.inv(_sq(lib, x)), [(4, 4)]),
    "cholesky": (lambda lib, x: lib.linalg.cholesky(_sq(lib, x)), [(4, 4)]),
    "solve": (lambda lib, x, b: lib.linalg.solve(_sq(lib, x), b), [(4, 4), (4, 2)]),
    "qr": (lambda lib, x: lib.linalg.qr(x)[1], [(4, 4)]),
    "svdvals": (lambda lib, x: lib.linalg.svdvals(x), [(4, 3)]),
    "eigh": (lambda lib, x: lib.linalg.eigh(_sq(lib, x))[0], [(4, 4)]),
    "fft": (lambda lib, x: lib.fft.fft(x).abs(), [(3, 8)]),
    "rfft": (lambda lib, x: lib.fft.rfft(x).abs(), [(3, 8)]),
    "cat": (lambda lib, a, b: lib.cat([a @ b, a @ b]), [(3, 4), (4, 5)]),
    "cat mixed": (lambda lib, a, b, c: lib.cat([a @ b, c]), [(3, 4), (4, 5), (3, 5)]),
    "stack mixed": (lambda lib, a, b, c: lib.stack([a @ b, c]), [(3, 4), (4, 5), (3, 5)]),
    "mse_loss of a matmul": (lambda lib, a, b, t: lib.nn.functional.mse_loss(a @ b, (t @ b)), [(3, 4), (4, 5), (3, 4)]),
    "l1_loss of a matmul": (lambda lib, a, b: lib.nn.functional.l1_loss(a @ b, a @ b * 2), [(3, 4), (4, 5)]),
    "cross_entropy of a linear": (lambda lib, x, w: lib.nn.functional.cross_entropy(
        lib.nn.functional.linear(x, w), lib.tensor([0, 1, 2])), [(3, 4), (5, 4)]),
    "nll_loss of a log_softmax": (lambda lib, x, w: lib.nn.functional.nll_loss(
        lib.log_softmax(x @ w, -1), lib.tensor([0, 1, 2])), [(3, 4), (4, 5)]),
    "bce_with_logits of a matmul": (lambda lib, a, b: lib.nn.functional.binary_cross_entropy_with_logits(
        a @ b, (a @ b).sigmoid()), [(3, 4), (4, 5)]),
    "smooth_l1_loss of a matmul": (lambda lib, a, b: lib.nn.functional.smooth_l1_loss(a @ b, a @ b * 0.5),
                                   [(3, 4), (4, 5)]),
    "kl_div of a matmul": (lambda lib, a, b: lib.nn.functional.kl_div(a @ b, (a @ b).exp(), reduction="sum"),
                           [(3, 4), (4, 5)]),
    "float64 matmul stays": (lambda lib, a, b: a.double() @ b.double(), [(3, 4), (4, 5)]),
    "gelu of a linear": (lambda lib, x, w: lib.nn.functional.gelu(lib.nn.functional.linear(x, w)), [(3, 4), (5, 4)]),
}


def _inputs(lib, arrays):
    return [lib.tensor(a.copy(), requires_grad=True) for a in arrays]


def _run(lib, fn, arrays, dtype):
    xs = _inputs(lib, arrays)
    with lib.autocast("cpu", dtype=dtype):
        out = fn(lib, *xs)
    out.float().sum().backward()
    return out, xs


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("name", list(CASES))
def test_output_and_grad_dtypes_match_torch(name, dtype):
    fn, shapes = CASES[name]
    arrays = [rand(*s, low=0.2, high=1.0, seed=i) for i, s in enumerate(shapes)]
    e_out, e_xs = _run(ember, fn, arrays, getattr(ember, dtype))
    t_out, t_xs = _run(torch, fn, arrays, getattr(torch, dtype))
    assert e_out.dtype.name == str(t_out.dtype).removeprefix("torch."), name
    tol = 5e-2 if t_out.dtype in (torch.bfloat16, torch.float16) else 2e-2
    np.testing.assert_allclose(e_out.float().detach().numpy(), t_out.float().detach().numpy(), rtol=tol, atol=tol)
    for e, t in zip(e_xs, t_xs):
        assert (e.grad is None) == (t.grad is None)
        if t.grad is not None:
            assert e.grad.dtype.name == str(t.grad.dtype).removeprefix("torch.")
            np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=0.1, atol=0.1)


def test_nested_and_disabled_regions():
    a, b = ember.ones(2, 3), ember.ones(3, 4)
    assert not ember.is_autocast_enabled("cpu")
    with ember.autocast("cpu"):
        assert ember.is_autocast_enabled("cpu") and ember.get_autocast_dtype("cpu") is ember.bfloat16
        assert (a @ b).dtype is ember.bfloat16
        with ember.autocast("cpu", enabled=False):
            assert not ember.is_autocast_enabled("cpu")
            assert (a @ b).dtype is ember.float32
            with ember.autocast("cpu", dtype=ember.float16):
                assert (a @ b).dtype is ember.float16
            assert (a @ b).dtype is ember.float32
        assert (a @ b).dtype is ember.bfloat16
    assert not ember.is_autocast_enabled("cpu")
    assert (a @ b).dtype is ember.float32


def test_decorator_and_aliases():
    @ember.autocast("cpu")
    def f(a, b):
        return a @ b

    a, b = ember.ones(2, 3), ember.ones(3, 4)
    assert f(a, b).dtype is ember.bfloat16 and (a @ b).dtype is ember.float32
    with pytest.warns(FutureWarning):
        ctx = ember.cpu.amp.autocast()
    with ctx:
        assert (a @ b).dtype is ember.bfloat16
    with ember.amp.autocast("cpu", dtype=ember.float16):
        assert (a @ b).dtype is ember.float16


def test_parameter_cast_is_cached_within_the_region():
    w = ember.ones(3, 3, requires_grad=True)
    x = ember.ones(2, 3)
    with ember.autocast("cpu"):
        y1, y2 = x @ w, x @ w
        assert y1.grad_fn.next_functions[1][0] is y2.grad_fn.next_functions[1][0]
    with ember.autocast("cpu", cache_enabled=False):
        y1, y2 = x @ w, x @ w
        assert y1.grad_fn.next_functions[1][0] is not y2.grad_fn.next_functions[1][0]
    (y1.float().sum() + y2.float().sum()).backward()
    assert w.grad.dtype is ember.float32 and np.allclose(w.grad.numpy(), 4.0)


def test_bad_arguments_like_torch():
    with pytest.raises(ValueError, match="device_type"):
        ember.autocast(1)
    with pytest.raises(RuntimeError, match="xyz"):
        ember.autocast("xyz")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with ember.autocast("cpu", dtype=ember.float64):
            assert not ember.is_autocast_enabled("cpu")
    assert any("not supported" in str(w.message) for w in caught)


def test_custom_fwd_casts_inputs_and_bwd_replays_the_state():
    seen = {}

    class Mul(ember.autograd.Function):
        @staticmethod
        @ember.amp.custom_fwd(device_type="cpu", cast_inputs=ember.float32)
        def forward(ctx, a, b):
            seen["fwd"] = (a.dtype, ember.is_autocast_enabled("cpu"))
            ctx.save_for_backward(a, b)
            return a @ b

        @staticmethod
        @ember.amp.custom_bwd(device_type="cpu")
        def backward(ctx, g):
            seen["bwd"] = ember.is_autocast_enabled("cpu")
            a, b = ctx.saved_tensors
            return g @ b.mT, a.mT @ g

    a = ember.ones(2, 3, dtype=ember.bfloat16, requires_grad=True)
    b = ember.ones(3, 2, requires_grad=True)
    with ember.autocast("cpu"):
        out = Mul.apply(a, b)
    assert seen["fwd"] == (ember.float32, False) and out.dtype is ember.float32
    out.sum().backward()
    assert seen["bwd"] is False and a.grad.dtype is ember.bfloat16


def test_backward_inside_the_region_runs_autocast_as_torch():
    for lib in (ember, torch):
        x = lib.ones(3, 3, requires_grad=True)
        with lib.autocast("cpu"):
            (x @ x).float().sum().backward()
        assert x.grad.dtype == lib.float32


def test_cuda_lists_on_the_fake_cuda_backend():
    """On CUDA, PyTorch's lists (float16; exp, softmax in float32; cat promotes) run through the same hook."""
    import os
    import subprocess
    import sys

    code = """
import ember
a, b = ember.ones(2, 3, device="cuda"), ember.ones(3, 4, device="cuda")
with ember.autocast("cuda"):
    print((a @ b).dtype, a.half().exp().dtype, ember.softmax(a.half(), -1).dtype, ember.cat([a.half(), a]).dtype,
          (a + 1).dtype)
s = ember.amp.GradScaler("cuda", init_scale=4.0)
w = ember.ones(2, device="cuda", requires_grad=True)
opt = ember.optim.SGD([w], lr=0.5)
s.scale((w * float("inf")).sum()).backward()
s.step(opt)
s.update()
print(s.get_scale(), w.detach().cpu().tolist())
"""
    env = dict(os.environ, EMBER_FAKE_CUDA="1")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split("\n")
    assert lines[0] == "ember.float16 ember.float32 ember.float32 ember.float32 ember.float32"
    assert lines[1] == "2.0 [1.0, 1.0]"  # the inf step is skipped and the scale backs off
