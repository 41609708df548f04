"""``opcheck``: does a custom op keep the promises a built-in op keeps?

- ``test_schema``: it writes only the arguments declared in ``mutates_args``, and returns new tensors;
- ``test_autograd_registration``: inputs that require grad reach an autograd formula;
- ``test_faketensor``: the fake (meta) function gives the real kernel's shapes and dtypes;
- ``test_gradcheck`` (also run for PyTorch's ``test_aot_dispatch_dynamic``): the registered backward
  matches finite differences, in float64.
"""
import numpy as np

from ember._tensor import Tensor
from ember.autograd.gradcheck import gradcheck
from ember.library.custom_ops import lookup_op

DEFAULT_TESTS = ("test_schema", "test_autograd_registration", "test_faketensor", "test_gradcheck")


class OpCheckError(Exception):
    """A check of ``opcheck`` failed."""


def opcheck(op, args, kwargs=None, *, test_utils=DEFAULT_TESTS, raise_exception=True, atol=None, rtol=None):
    """Run the checks on ``op(*args, **kwargs)``; returns ``{test: "SUCCESS" | error text}``.

    >>> opcheck(my_op, (ember.randn(3, dtype=ember.float64, requires_grad=True),))
    {'test_schema': 'SUCCESS', ...}
    """
    op = lookup_op(op)
    kwargs = kwargs or {}
    tests = [test_utils] if isinstance(test_utils, str) else list(test_utils)
    results = {}
    for name in tests:
        check = _CHECKS.get(name)
        if check is None:
            raise ValueError(f"opcheck: unknown test {name!r} (known: {sorted(_CHECKS)})")
        try:
            check(op, args, kwargs, atol, rtol)
            results[name] = "SUCCESS"
        except Exception as e:  # noqa: BLE001 - every failure is reported per test
            if raise_exception:
                raise OpCheckError(f"opcheck(op, ...): {name} failed with {e}") from e
            results[name] = f"{type(e).__name__}: {e}"
    return results


def _clone(value, device=None):
    if isinstance(value, Tensor):
        t = value.detach().clone() if device is None else value.detach().to(device)
        return t.requires_grad_(value.requires_grad) if t.dtype.category >= 2 and device is None else t
    if isinstance(value, (list, tuple)):
        return type(value)(_clone(v, device) for v in value)
    if isinstance(value, dict):
        return {k: _clone(v, device) for k, v in value.items()}
    return value


def _test_schema(op, args, kwargs, atol, rtol):
    a, k = _clone(args), _clone(kwargs)
    before = {n: _snapshot(v) for n, v in _bound(op, a, k).items()}
    op(*a, **k)
    declared = set(op._schema.mutated)
    for name, value in _bound(op, a, k).items():
        if name not in declared and not _same(before[name], _snapshot(value)):
            raise RuntimeError(f"Argument {name} is not defined as mutable but was mutated")


def _bound(op, args, kwargs):
    bound = op._signature.bind(*args, **kwargs)
    return {n: v for n, v in bound.arguments.items() if isinstance(v, (Tensor, list, tuple))}


def _snapshot(v):
    if isinstance(v, Tensor):
        return v.detach().cpu()._data.copy()
    if isinstance(v, (list, tuple)):
        return [_snapshot(x) for x in v]
    return v


def _same(a, b):
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return True


def _tensors(value):
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensors(v)]
    return []


def _test_autograd_registration(op, args, kwargs, atol, rtol):
    wants = any(t.requires_grad for t in _tensors(list(args) + list(kwargs.values())))
    if not wants:
        return
    outs = [t for t in _tensors(op(*_clone(args), **_clone(kwargs))) if t.dtype.category >= 2]
    if outs and op._backward is None:
        raise RuntimeError(f"{op._qualname} has inputs that require grad and floating outputs but no autograd "
                           "formula: use register_autograd (or mark the inputs requires_grad=False)")


def _test_faketensor(op, args, kwargs, atol, rtol):
    real = _tensors(op(*_clone(args), **_clone(kwargs)))
    fake = _tensors(op(*_clone(args, "meta"), **_clone(kwargs, "meta")))
    if len(real) != len(fake):
        raise RuntimeError(f"the fake function returned {len(fake)} tensors, the kernel {len(real)}")
    for i, (r, f) in enumerate(zip(real, fake)):
        if r.shape != f.shape or r.dtype is not f.dtype:
            raise RuntimeError(f"output {i}: the fake function gives {f.dtype}{list(f.shape)}, the kernel "
                               f"{r.dtype}{list(r.shape)}")


def _test_gradcheck(op, args, kwargs, atol, rtol):
    flat = list(args) + list(kwargs.values())
    if op._backward is None or not any(t.requires_grad for t in _tensors(flat)):
        return
    positions = [i for i, v in enumerate(args) if isinstance(v, Tensor) and v.requires_grad]
    inputs = tuple(args[i].detach().double().requires_grad_(True) for i in positions)
    rest = [v.detach().double() if isinstance(v, Tensor) and v.dtype.is_floating_point else v for v in args]

    def call(*xs):
        full = list(rest)
        for i, x in zip(positions, xs):
            full[i] = x
        return op(*full, **kwargs)

    options = {} if atol is None else {"atol": atol, "rtol": rtol if rtol is not None else 1e-3}
    gradcheck(call, inputs, **options)


_CHECKS = {"test_schema": _test_schema, "test_autograd_registration": _test_autograd_registration,
           "test_faketensor": _test_faketensor, "test_gradcheck": _test_gradcheck,
           "test_aot_dispatch_dynamic": _test_gradcheck}
