"""The generic checks of an entry against torch, one function per test of test_opdb.py.

Each check walks the entry's samples for one dtype; a sample with an expected failure
(a ``Skip`` with ``sample=``) must fail, and one that passes is reported, so the lists
of known failures stay true."""
import warnings

import numpy as np
import torch

import ember
from oracle import _flatten, assert_same

from opdb.core import COMPLEX, FLOATS, TOLERANCES, DType, TensorInput, resolve

TORCH_DTYPES = {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16,
                "bfloat16": torch.bfloat16, "int64": torch.int64, "int32": torch.int32, "bool": torch.bool,
                "complex64": torch.complex64, "complex128": torch.complex128}
GRADCHECK_NUMEL, GRADCHECK_SAMPLES = 24, 3
GRADGRAD_NUMEL, GRADGRAD_SAMPLES = 12, 1


class Context:
    """Where and how the ember side runs: a device and a transform of each call."""

    def __init__(self, device="cpu", transform=None, transform_name="none"):
        self.device = device
        self.transform = transform or (lambda fn: fn)
        self.transform_name = transform_name


class Inputs:
    """A sample's arguments materialised for one library: leaf tensors of each input's
    base array, and the arguments built from views of them."""

    def __init__(self, sample, lib, device=None, requires_grad=False, dtype=None):
        self.lib, self.device = lib, device
        self.structure = (sample.args, sample.kwargs)
        self.tins = sample.tensors()
        self.leaves = [self._leaf(t, requires_grad, dtype) for t in self.tins]
        self.args, self.kwargs = self.build(self.leaves)

    def _leaf(self, tin, requires_grad, dtype):
        base = tin.base()
        dt = dtype if dtype and tin.floating else tin.dtype
        if self.lib is torch:
            leaf = torch.tensor(base).to(TORCH_DTYPES[dt])
        else:
            leaf = ember.tensor(base, dtype=getattr(ember, dt), device=self.device)
        if requires_grad and tin.grad and (dt in FLOATS or dt in COMPLEX):
            leaf.requires_grad_()
        return leaf

    def build(self, leaves):
        it = iter(zip(self.tins, leaves))

        def sub(obj):
            if isinstance(obj, TensorInput):
                tin, leaf = next(it)
                return tin.view(leaf)
            if isinstance(obj, DType):
                return getattr(self.lib, obj.name)
            if isinstance(obj, (list, tuple)):
                return type(obj)(sub(x) for x in obj)
            if isinstance(obj, dict):
                return {k: sub(v) for k, v in obj.items()}
            return obj
        return sub(self.structure[0]), sub(self.structure[1])

    def grad_leaves(self):
        return [leaf for leaf in self.leaves if leaf.requires_grad]


def quietly(fn, *args, **kwargs):
    """A torch call without its deprecation and degrees-of-freedom warnings (the samples
    exercise deprecated aliases and edge cases on purpose)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def host(x):
    if isinstance(x, ember.Tensor):
        assert x.device.type != "cuda" or not isinstance(x._data, np.ndarray), (
            f"a {x.device} tensor holds a NumPy array: the op built its result in host memory")
        return x.detach().cpu()
    return x


def compare(e_out, t_out, atol, rtol, what="output", meta_only=False, loose_indices=False):
    e_flat, t_flat = _flatten(e_out), _flatten(t_out)
    assert len(e_flat) == len(t_flat), f"{what}: ember returned {len(e_flat)} outputs, torch {len(t_flat)}"
    for i, (e, t) in enumerate(zip(e_flat, t_flat)):
        loose = meta_only or (loose_indices and isinstance(t, torch.Tensor) and t.dtype == torch.int64)
        if loose and isinstance(t, torch.Tensor):
            assert isinstance(e, ember.Tensor), f"{what} {i}: expected a Tensor, got {type(e).__name__}"
            assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1], f"{what} {i}: dtype {e.dtype} != {t.dtype}"
            assert tuple(e.shape) == tuple(t.shape), f"{what} {i}: shape {tuple(e.shape)} != {tuple(t.shape)}"
        else:
            if isinstance(t, torch.Tensor):  # an integer op may give floats: their rounding sets the bar
                out_atol, out_rtol = TOLERANCES[str(t.dtype).split(".")[-1]]
                atol, rtol = max(atol, out_atol), max(rtol, out_rtol)
            assert_same(host(e), t, atol, rtol, what=f"{what} {i}")


def call_both(fn_e, fn_t, e_args, t_args, e_kwargs, t_kwargs, check):
    """Run torch then ember; when torch raises, ember must raise the same exception type.
    Otherwise ``check(e_out, t_out)``."""
    try:
        t_out = quietly(fn_t, *t_args, **t_kwargs)
    except Exception as t_exc:  # noqa: BLE001 - torch's exception type is the expectation
        try:
            fn_e(*e_args, **e_kwargs)
        except Exception as e_exc:  # noqa: BLE001
            assert isinstance(e_exc, type(t_exc)), (
                f"torch raises {type(t_exc).__name__} ({t_exc}), ember {type(e_exc).__name__} ({e_exc})")
            assert str(e_exc), "ember's error has no message"
            return None
        raise AssertionError(f"torch raises {type(t_exc).__name__} ({t_exc}), ember raises nothing") from None
    e_out = fn_e(*e_args, **e_kwargs)
    check(e_out, t_out)
    return e_out, t_out


class Outcome:
    """What a check did: how many samples ran, and the expected failures that failed."""

    def __init__(self):
        self.samples, self.xfailed, self.unexpected_passes = 0, [], []


def over_samples(entry, test, dtype, samples, body):
    """``body(sample)`` for each sample, honouring the entry's per-sample skips."""
    out = Outcome()
    for sample in samples:
        rule = entry.skip_for(test, dtype, sample)
        if rule is not None and not rule.expected_failure:
            continue
        out.samples += 1
        if rule is None:
            try:
                body(sample)
            except AssertionError as exc:
                raise AssertionError(f"{entry.name} [{dtype}] sample {sample.desc}: {exc}") from None
            continue
        try:
            body(sample)
        except Exception as exc:  # noqa: BLE001 - any failure is the expected one
            out.xfailed.append((sample.desc, rule.reason, f"{type(exc).__name__}: {exc}"[:200]))
        else:
            out.unexpected_passes.append((sample.desc, rule.reason))
    if out.unexpected_passes:
        raise AssertionError(f"{entry.name} [{dtype}]: expected failures passed, drop them: {out.unexpected_passes}")
    return out


def check_values(entry, dtype, ctx):
    fn_e, fn_t = ctx.transform(resolve(ember, entry.op)), resolve(torch, entry.ref)
    atol, rtol = entry.tolerance(dtype)
    loose = entry.index_ties and dtype not in ("float32", "float64")

    def body(sample):
        e, t = Inputs(sample, ember, ctx.device), Inputs(sample, torch)
        if entry.random:
            ember.manual_seed(0)
        done = call_both(fn_e, fn_t, e.args, t.args, e.kwargs, t.kwargs,
                         lambda eo, to: compare(eo, to, atol, rtol, meta_only=entry.random, loose_indices=loose))
        if entry.random and done:
            _check_reseeded(fn_e, sample, ctx, done[0])
    return over_samples(entry, "values", dtype, entry.make_samples(dtype), body)


def _check_reseeded(fn_e, sample, ctx, first):
    """A random op repeats its result after ``ember.manual_seed`` with the same seed."""
    ember.manual_seed(0)
    e = Inputs(sample, ember, ctx.device)
    again = fn_e(*e.args, **e.kwargs)
    for a, b in zip(_flatten(first), _flatten(again)):
        if isinstance(a, ember.Tensor):
            np.testing.assert_array_equal(a.detach().cpu().numpy(), b.detach().cpu().numpy(),
                                          err_msg="different values after re-seeding")


def check_grad(entry, dtype, ctx, seed=0):
    """Gradients of every floating input under a random upstream gradient, against torch."""
    fn_e, fn_t = ctx.transform(resolve(ember, entry.op)), resolve(torch, entry.ref)
    atol, rtol = entry.grad_tol
    samples = [s for s in entry.make_samples(dtype) if any(t.grad and t.differentiable for t in s.tensors())]

    def body(sample):
        e, t = Inputs(sample, ember, ctx.device, requires_grad=True), Inputs(sample, torch, requires_grad=True)
        try:
            t_out = quietly(fn_t, *t.args, **t.kwargs)
        except Exception:  # noqa: BLE001 - an input torch rejects: test_values checks ember rejects it too
            return
        e_out = fn_e(*e.args, **e.kwargs)
        compare(e_out, t_out, *entry.tolerance(dtype))
        rng = np.random.default_rng(seed)
        e_roots, t_roots = [], []
        for eo, to in zip(_flatten(e_out), _flatten(t_out)):
            if isinstance(to, torch.Tensor) and to.requires_grad:
                assert isinstance(eo, ember.Tensor) and eo.requires_grad, "ember's output does not require grad"
                if to.is_complex():  # a real loss: the upstream gradient weighs real and imaginary parts
                    eo, to = ember.view_as_real(eo.resolve_conj()), torch.view_as_real(to.resolve_conj())
                up = rng.standard_normal(tuple(to.shape))
                e_roots.append((eo * ember.tensor(up, dtype=eo.dtype, device=ctx.device)).sum())
                t_roots.append((to * torch.tensor(up, dtype=to.dtype)).sum())
        if not t_roots:
            return
        sum(t_roots).backward()
        sum(e_roots).backward()
        for i, (el, tl) in enumerate(zip(e.leaves, t.leaves)):
            if not tl.requires_grad:
                continue
            if tl.grad is None:
                assert el.grad is None or not el.grad.cpu().numpy().any(), f"input {i}: torch has no grad, ember does"
                continue
            if el.grad is None:  # no gradient is a zero gradient
                assert not tl.grad.any(), f"input {i}: ember computed no gradient"
                continue
            assert_same(host(el.grad), tl.grad, atol, rtol, what=f"grad of input {i}")
    return over_samples(entry, "grad", dtype, samples, body)


def _small(entry, numel, count):
    samples = [s for s in entry.make_samples("float64")
               if any(t.grad and t.differentiable for t in s.tensors()) and 0 < s.numel() <= numel]
    return sorted(samples, key=lambda s: -s.numel())[:count]


def _check_numerically(entry, ctx, test, numel, count, checker):
    fn_e, fn_t = ctx.transform(resolve(ember, entry.op)), resolve(torch, entry.ref)

    def body(sample):
        t = Inputs(sample, torch)
        try:
            quietly(fn_t, *t.args, **t.kwargs)
        except Exception:  # noqa: BLE001 - an input torch rejects: test_values checks ember rejects it too
            return
        inputs = Inputs(sample, ember, ctx.device, requires_grad=True)
        diff = [i for i, leaf in enumerate(inputs.leaves) if leaf.requires_grad]

        def f(*grad_leaves):
            leaves = list(inputs.leaves)
            for i, leaf in zip(diff, grad_leaves):
                leaves[i] = leaf
            args, kwargs = inputs.build(leaves)
            return fn_e(*args, **kwargs)
        assert checker(f, [inputs.leaves[i] for i in diff], atol=1e-5, rtol=1e-3)
    return over_samples(entry, test, "float64", _small(entry, numel, count), body)


def check_gradcheck(entry, ctx):
    return _check_numerically(entry, ctx, "gradcheck", GRADCHECK_NUMEL, GRADCHECK_SAMPLES, ember.autograd.gradcheck)


def check_gradgrad(entry, ctx):
    return _check_numerically(entry, ctx, "gradgrad", GRADGRAD_NUMEL, GRADGRAD_SAMPLES, ember.autograd.gradgradcheck)


def check_variants(entry, dtype, ctx):
    """Method, in-place, operator and ``out=`` forms agree with torch's (and so with the function)."""
    fn_e, fn_t = ctx.transform(resolve(ember, entry.op)), resolve(torch, entry.ref)
    atol, rtol = entry.tolerance(dtype)
    loose = entry.index_ties and dtype not in ("float32", "float64")

    def body(sample):
        e, t = Inputs(sample, ember, ctx.device), Inputs(sample, torch)
        first_is_tensor = bool(sample.args) and isinstance(sample.args[0], TensorInput)
        if entry.method and first_is_tensor:
            assert hasattr(ember.Tensor, entry.method), f"ember has no Tensor.{entry.method}"
            call_both(lambda *a, **k: getattr(a[0], entry.method)(*a[1:], **k),
                      lambda *a, **k: getattr(a[0], entry.method)(*a[1:], **k),
                      e.args, t.args, e.kwargs, t.kwargs,
                      lambda eo, to: compare(eo, to, atol, rtol, "method", loose_indices=loose))
        for name in ((entry.inplace,) if entry.inplace and first_is_tensor else ()) + entry.operators:
            _check_self_call(name, e, t, atol, rtol)
        if entry.inplace_kwarg and first_is_tensor:
            _check_inplace_kwarg(fn_e, fn_t, e, t, atol, rtol)
        if isinstance(entry.op, str) and entry.op.split(".")[0] != "Tensor":
            _check_out(fn_e, fn_t, e, t, atol, rtol, entry)
    return over_samples(entry, "variants", dtype, entry.make_samples(dtype), body)


def _check_self_call(name, e, t, atol, rtol):
    """``self.<name>(*rest)`` on copies of the first input; in-place forms must return self."""
    assert hasattr(ember.Tensor, name), f"ember has no Tensor.{name}"
    e_self, t_self = e.args[0].clone(), t.args[0].clone()
    results = {}

    def run(lib_self, rest, kwargs, key):
        results[key] = getattr(lib_self, name)(*rest, **kwargs)
        return results[key]
    call_both(lambda *a, **k: run(e_self, a, k, "e"), lambda *a, **k: run(t_self, a, k, "t"),
              e.args[1:], t.args[1:], e.kwargs, t.kwargs,
              lambda eo, to: compare(eo, to, atol, rtol, name))
    if "t" in results and results["t"] is t_self:
        assert results["e"] is e_self, f"{name} does not return self"
    if "t" in results and (name.endswith("_") or name.startswith("__i")):
        compare(e_self, t_self, atol, rtol, f"self after {name}")


def _check_inplace_kwarg(fn_e, fn_t, e, t, atol, rtol):
    """``fn(x, ..., inplace=True)`` writes into (a copy of) ``x`` and returns it, as torch's does."""
    e_self, t_self = e.args[0].clone(), t.args[0].clone()
    got = {}

    def run(fn, lib_self, key):
        def call(*rest, **kwargs):
            got[key] = fn(lib_self, *rest, **kwargs, inplace=True)
            return got[key]
        return call
    call_both(run(fn_e, e_self, "e"), run(fn_t, t_self, "t"), e.args[1:], t.args[1:], e.kwargs, t.kwargs,
              lambda eo, to: compare(eo, to, atol, rtol, "inplace=True"))
    if "t" in got:
        assert got["e"] is e_self, "inplace=True does not return its input"
        compare(e_self, t_self, atol, rtol, "input after inplace=True")


def _check_out(fn_e, fn_t, e, t, atol, rtol, entry):
    """``out=``: an op either rejects it with TypeError (allowed unless the entry says it
    supports out=) or writes its result into the given tensor and returns that tensor."""
    try:
        t_ref = quietly(fn_t, *t.args, **t.kwargs)
    except Exception:  # noqa: BLE001 - an input torch rejects: test_values covers it
        return
    if not isinstance(t_ref, torch.Tensor):
        return
    e_out = ember.empty(tuple(t_ref.shape), dtype=getattr(ember, str(t_ref.dtype).split(".")[-1]), device=e.device)
    try:
        r = fn_e(*e.args, **e.kwargs, out=e_out)
    except TypeError:
        assert not entry.supports_out, "the entry supports out= but ember rejects it"
        return
    assert r is e_out, "out= given, but the result is another tensor"
    compare(e_out, t_ref, atol, rtol, "out", meta_only=entry.random)
