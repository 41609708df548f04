"""The torch oracle: run the same function in ember and in PyTorch and compare
values, dtypes, shapes and gradients.

``fn(lib, *inputs)`` is called with ``lib`` = ``ember`` or ``torch``; NumPy arrays
among the inputs become tensors of each library (floating ones require grad),
everything else is passed through unchanged.
"""
import numpy as np
import torch

import ember

LAYOUTS = ("contiguous", "transposed", "sliced")


def rand(*shape, dtype=np.float32, low=-2.0, high=2.0, seed=None):
    rng = np.random.default_rng(seed if seed is not None else abs(hash(shape)) % 2**32)
    if np.issubdtype(dtype, np.floating):
        return rng.uniform(low, high, size=shape).astype(dtype)
    if np.issubdtype(dtype, np.complexfloating):
        return (rng.uniform(low, high, size=shape) + 1j * rng.uniform(low, high, size=shape)).astype(dtype)
    if dtype == np.bool_:
        return rng.random(shape) > 0.5
    return rng.integers(int(low), int(high) + 1, size=shape).astype(dtype)


def laid_out(lib, array, layout, requires_grad=False):
    """``array``'s values as a ``lib`` tensor laid out as asked: (leaf, input), the input a view of a leaf of
    another shape for the non-contiguous layouts (``as_input`` maps the leaf's gradient back)."""
    if layout == "transposed" and array.ndim >= 2:
        base, make = np.ascontiguousarray(np.swapaxes(array, -1, -2)), lambda t: t.transpose(-1, -2)
    elif layout == "sliced" and array.ndim >= 1:
        base, make = np.repeat(array, 2, axis=-1), lambda t: t[..., ::2]
    else:
        base, make = array, lambda t: t
    leaf = lib.tensor(base.copy())
    if requires_grad and np.issubdtype(array.dtype, np.inexact):
        leaf.requires_grad_()
    return leaf, make(leaf)


def as_input(leaf_grad, layout, ndim):
    """A gradient of ``laid_out``'s leaf (an array) in the input's layout."""
    if layout == "transposed" and ndim >= 2:
        return np.swapaxes(leaf_grad, -1, -2)
    if layout == "sliced" and ndim >= 1:
        return leaf_grad[..., ::2]
    return leaf_grad


def _leaf_pair(array, layout, requires_grad):
    """The same values as an ember and a torch tensor, laid out as asked.

    Returns (ember_input, torch_input, ember_leaf, torch_leaf): for non-contiguous
    layouts the input is a view of a leaf with a different shape."""
    e_leaf, e_input = laid_out(ember, array, layout, requires_grad)
    t_leaf, t_input = laid_out(torch, array, layout, requires_grad)
    return e_input, t_input, e_leaf, t_leaf


def _flatten(out):
    if isinstance(out, (tuple, list)):
        return [o for x in out for o in _flatten(x)]
    if hasattr(out, "values") and hasattr(out, "indices") and not isinstance(out, (torch.Tensor, ember.Tensor)):
        return [out.values, out.indices]
    return [out]


def assert_same(e, t, atol=1e-5, rtol=1e-4, what="output"):
    """An ember result equals a torch result: same kind, dtype, shape and values."""
    if isinstance(t, torch.Tensor):
        assert isinstance(e, ember.Tensor), f"{what}: expected a Tensor, got {type(e).__name__}"
        assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1], f"{what}: dtype {e.dtype} != {t.dtype}"
        assert tuple(e.shape) == tuple(t.shape), f"{what}: shape {tuple(e.shape)} != {tuple(t.shape)}"
        if t.is_complex():
            ev, tv = np.asarray(e.detach().cpu().numpy(), np.complex128), t.detach().resolve_conj().cdouble().numpy()
        elif t.dtype == torch.bool:
            ev, tv = e.detach().cpu().numpy(), t.detach().numpy(force=True)
        else:
            ev, tv = np.asarray(e.detach().cpu().numpy(), dtype=np.float64), t.detach().double().numpy(force=True)
        np.testing.assert_allclose(ev, tv, atol=atol, rtol=rtol, equal_nan=True, err_msg=what)
    elif isinstance(t, (bool, int, float)):
        assert e == t or np.isclose(e, t, atol=atol, rtol=rtol), f"{what}: {e} != {t}"
    else:
        assert type(e).__name__ == type(t).__name__ or e == t, f"{what}: {e!r} vs {t!r}"


def check(fn, *inputs, grad=True, layout="contiguous", atol=1e-5, rtol=1e-4, grad_atol=None, seed=0):
    """Compare ``fn`` in ember and torch, then (when ``grad``) the gradients of every
    floating input under a random upstream gradient. Returns the ember result."""
    pairs = [_leaf_pair(x, layout, grad) if isinstance(x, np.ndarray) else None for x in inputs]
    e_args = [p[0] if p else x for p, x in zip(pairs, inputs)]
    t_args = [p[1] if p else x for p, x in zip(pairs, inputs)]
    e_out, t_out = fn(ember, *e_args), fn(torch, *t_args)
    e_flat, t_flat = _flatten(e_out), _flatten(t_out)
    assert len(e_flat) == len(t_flat), f"ember returned {len(e_flat)} outputs, torch {len(t_flat)}"
    for i, (e, t) in enumerate(zip(e_flat, t_flat)):
        assert_same(e, t, atol, rtol, what=f"output {i}")
    if not grad:
        return e_out
    rng = np.random.default_rng(seed)
    e_roots, t_roots = [], []
    for e, t in zip(e_flat, t_flat):
        if isinstance(t, torch.Tensor) and t.requires_grad:
            assert e.requires_grad, "ember output does not require grad but torch's does"
            up = rng.standard_normal(tuple(t.shape)).astype(np.float64)
            if t.is_complex():  # a real loss: the real part of a complex-weighted sum
                up = up + 1j * rng.standard_normal(tuple(t.shape))
                e_roots.append((e * ember.tensor(up, dtype=e.dtype)).real.sum())
                t_roots.append((t * torch.tensor(up, dtype=t.dtype)).real.sum())
                continue
            e_roots.append((e * ember.tensor(up, dtype=e.dtype)).sum())
            t_roots.append((t * torch.tensor(up, dtype=t.dtype)).sum())
    if not t_roots:
        return e_out
    sum(t_roots).backward()
    sum(e_roots).backward()
    for i, p in enumerate(pairs):
        if p is None or not p[3].requires_grad:
            continue
        e_leaf, t_leaf = p[2], p[3]
        if t_leaf.grad is None:
            assert e_leaf.grad is None or not e_leaf.grad.cpu().numpy().any(), f"input {i}: torch has no grad, ember does"
            continue
        assert e_leaf.grad is not None, f"input {i}: ember computed no gradient"
        assert_same(e_leaf.grad, t_leaf.grad, grad_atol or atol * 10, rtol * 10, what=f"grad of input {i}")
    return e_out


def check_layouts(fn, *inputs, **kw):
    """``check`` on contiguous, transposed and sliced (strided) inputs."""
    for layout in LAYOUTS:
        check(fn, *inputs, layout=layout, **kw)


def gradcheck(fn, *inputs, gradgrad=True, atol=1e-5, rtol=1e-3):
    """ember's float64 gradcheck (and gradgradcheck) of ``fn(ember, *inputs)``."""
    args = [ember.tensor(x.astype(np.complex128 if np.iscomplexobj(x) else np.float64), requires_grad=True)
            if isinstance(x, np.ndarray) and np.issubdtype(x.dtype, np.inexact)
            else (ember.tensor(x) if isinstance(x, np.ndarray) else x)
            for x in inputs]
    f = lambda *xs: fn(ember, *xs)  # noqa: E731
    assert ember.autograd.gradcheck(f, args, atol=atol, rtol=rtol)
    if gradgrad:
        assert ember.autograd.gradgradcheck(f, args, atol=atol, rtol=rtol)


def ulps(got, exact, dtype=np.float32):
    """Distance of ``got`` from a more precise ``exact`` (float64 or long double), in units of ``dtype``'s
    spacing at ``exact``, computed in ``exact``'s precision."""
    return np.abs(got.astype(exact.dtype) - exact) / np.spacing(np.abs(exact).astype(dtype)).astype(exact.dtype)
