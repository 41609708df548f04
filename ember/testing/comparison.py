"""``assert_close``: are two (nested structures of) tensors or numbers close? On a mismatch it raises
AssertionError with PyTorch's report: which attribute differs, or how many elements mismatch and
where the greatest absolute and relative differences are, and which item of a nested input failed.

    >>> assert_close(ember.tensor([1.0, 2.0]), ember.tensor([1.0, 2.0 + 1e-7]))
"""
import collections.abc
import math
import warnings

import numpy as np

from ember._tensor import Tensor
from ember.creation import tensor
from ember.backend import CPU, PROMOTE, device, from_numpy_dtype
from ember.backend.dtype import bfloat16, complex64, complex128, float16, float32, float64, get_default_dtype

# (rtol, atol) when neither is given; other dtypes (integers, bool) compare exactly
DEFAULT_TOLERANCES = {float16: (1e-3, 1e-5), bfloat16: (0.016, 1e-5), float32: (1.3e-6, 1e-5),
                      float64: (1e-7, 1e-7), complex64: (1.3e-6, 1e-5), complex128: (1e-7, 1e-7)}
_ALLCLOSE_TOLERANCES = {float16: (1e-3, 1e-3), float32: (1e-4, 1e-5), float64: (1e-5, 1e-8)}


class _MismatchError(Exception):
    """A failed comparison: the exception type to raise and its message (before the item path)."""

    def __init__(self, kind, message):
        super().__init__(message)
        self.kind, self.message = kind, message


def assert_close(actual, expected, *, allow_subclasses=True, rtol=None, atol=None, equal_nan=False,
                 check_device=True, check_dtype=True, check_layout=True, check_stride=False, msg=None):
    """Assert that ``actual`` and ``expected`` are close: ``|actual - expected| <= atol + rtol * |expected|``
    elementwise, after their shape, device, dtype, layout (and, with ``check_stride``, strides) agree.

    Inputs are tensors, NumPy arrays, Python numbers, ``None`` or sequences/mappings of them.
    Without ``rtol``/``atol`` the tolerances follow the dtype (float32: 1.3e-6 and 1e-5; integers:
    exact). ``msg`` replaces the report (a string) or rewrites it (a callable).
    """
    if (rtol is None) != (atol is None):
        raise ValueError(f"Both 'rtol' and 'atol' must be either specified or omitted, "
                         f"but got no {'rtol' if rtol is None else 'atol'}.")
    options = dict(rtol=rtol, atol=atol, equal_nan=equal_nan, check_device=check_device, check_dtype=check_dtype,
                   check_layout=check_layout, check_stride=check_stride, allow_subclasses=allow_subclasses)
    try:
        _compare(actual, expected, "", options)
    except _MismatchError as m:
        text, path = m.message, m.args[1] if len(m.args) > 1 else ""
        if callable(msg):
            text = msg(text)
        elif msg is not None:
            text, path = msg, ""
        if path:
            text += f"\n\nThe failure occurred for item {path}"
        raise m.kind(text) from None


def _compare(actual, expected, path, options):
    try:
        _compare_one(actual, expected, path, options)
    except _MismatchError as m:
        if len(m.args) == 1:
            m.args = (m.message, path)
        raise


def _compare_one(actual, expected, path, options):
    if actual is None or expected is None:
        if actual is not expected:
            raise _MismatchError(AssertionError, f"None mismatch: {actual} is not {expected}")
        return
    if _is_tensor_like(actual) or _is_tensor_like(expected):
        if not (_is_tensor_like(actual) and _is_tensor_like(expected)) or (
                not options["allow_subclasses"] and type(actual) is not type(expected)) or (
                isinstance(actual, Tensor) != isinstance(expected, Tensor)):
            raise _no_pair(actual, expected)
        return _compare_tensors(_as_tensor(actual), _as_tensor(expected), options)
    if isinstance(actual, bool) or isinstance(expected, bool):
        if not (isinstance(actual, bool) and isinstance(expected, bool)):
            raise _no_pair(actual, expected)
        if actual is not expected:
            raise _MismatchError(AssertionError, f"Booleans mismatch: {actual} is not {expected}")
        return
    if _is_number(actual) and _is_number(expected):
        return _compare_numbers(actual, expected, options)
    if isinstance(actual, collections.abc.Mapping) and isinstance(expected, collections.abc.Mapping):
        missing, extra = sorted(set(expected) - set(actual), key=repr), sorted(set(actual) - set(expected), key=repr)
        if missing or extra:
            raise _MismatchError(AssertionError, "The keys of the mappings do not match:\n"
                                            f"Missing keys in the actual mapping: {missing}\n"
                                            f"Additional keys in the actual mapping: {extra}")
        for key in sorted(actual, key=repr):
            _compare(actual[key], expected[key], f"{path}[{key!r}]", options)
        return
    if _is_sequence(actual) and _is_sequence(expected):
        if len(actual) != len(expected):
            raise _MismatchError(AssertionError, f"The length of the sequences mismatch: {len(actual)} != {len(expected)}")
        for i, (a, e) in enumerate(zip(actual, expected)):
            _compare(a, e, f"{path}[{i}]", options)
        return
    raise _no_pair(actual, expected)


def _no_pair(actual, expected):
    return _MismatchError(TypeError, f"No comparison pair was able to handle inputs of type {type(actual)} "
                                f"and {type(expected)}.")


def _is_tensor_like(x):
    return isinstance(x, (Tensor, np.ndarray))


def _is_number(x):
    return isinstance(x, (int, float, complex, np.number)) and not isinstance(x, bool)


def _is_sequence(x):
    return isinstance(x, collections.abc.Sequence) and not isinstance(x, (str, bytes))


def _as_tensor(x):
    return x if isinstance(x, Tensor) else Tensor._make(np.asarray(x), from_numpy_dtype(x.dtype), CPU)


def _tolerances(dtypes, rtol, atol, table=DEFAULT_TOLERANCES):
    if rtol is not None:
        return rtol, atol
    found = [table.get(d, (0.0, 0.0)) for d in dtypes]
    return max(r for r, _ in found), max(a for _, a in found)


def _compare_numbers(actual, expected, options):
    if options["check_dtype"] and type(actual) is not type(expected):
        raise _MismatchError(AssertionError, f"The (d)types do not match: {type(actual)} != {type(expected)}.")
    kinds = {type(actual), type(expected)}
    if options["rtol"] is not None:
        rtol, atol = options["rtol"], options["atol"]
    elif complex in kinds or float in kinds:
        rtol, atol = DEFAULT_TOLERANCES[float64]
    else:
        rtol = atol = 0
    if _numbers_close(actual, expected, rtol, atol, options["equal_nan"]):
        return
    abs_diff = abs(actual - expected)
    rel_diff = float("inf") if expected == 0 else abs_diff / abs(expected)
    raise _MismatchError(AssertionError, _report("Scalars", f"Expected {expected} but got {actual}.",
                                            abs_diff, None, rel_diff, None, rtol, atol))


def _numbers_close(a, e, rtol, atol, equal_nan):
    if a == e:
        return True
    if equal_nan and _isnan(a) and _isnan(e):
        return True
    diff = abs(a - e)
    return math.isfinite(diff) and diff <= atol + rtol * abs(e)


def _isnan(x):
    return x != x


def _compare_tensors(actual, expected, options):
    checks = [("shape", actual.shape, expected.shape)]
    if options["check_device"]:
        checks.append(("device", actual.device, expected.device))
    if options["check_dtype"]:
        checks.append(("dtype", actual.dtype, expected.dtype))
    if options["check_layout"]:
        checks.append(("layout", actual.layout, expected.layout))
    for name, a, e in checks:
        if a != e:
            raise _MismatchError(AssertionError, f"The values for attribute '{name}' do not match: {a} != {e}.")
    if options["check_stride"] and actual.numel() > 0 and actual.stride() != expected.stride():
        raise _MismatchError(AssertionError, f"The values for attribute 'stride()' do not match: "
                                        f"{actual.stride()} != {expected.stride()}.")
    if actual.device == _META or expected.device == _META:
        return  # meta tensors have no values
    rtol, atol = _tolerances((actual.dtype, expected.dtype), options["rtol"], options["atol"])
    common = PROMOTE[actual.dtype, expected.dtype]
    a = _values(actual).astype(common.np, copy=False)
    e = _values(expected).astype(common.np, copy=False)
    matches = _isclose(a, e, rtol, atol, options["equal_nan"])
    if matches.all():
        return
    if a.ndim == 0:
        abs_diff = abs(a.item() - e.item())
        rel_diff = float("inf") if e.item() == 0 else abs_diff / abs(e.item())
        raise _MismatchError(AssertionError, _report("Scalars", f"Expected {e.item()} but got {a.item()}.",
                                                abs_diff, None, rel_diff, None, rtol, atol))
    raise _MismatchError(AssertionError, _tensor_report(a, e, matches, rtol, atol))


_META = device("meta")


def _values(t):
    data = t.detach().cpu()._data
    return np.asarray(data)


def _isclose(a, e, rtol, atol, equal_nan):
    if a.dtype.kind in "biu":
        return a == e
    with np.errstate(invalid="ignore", over="ignore"):
        close = a == e
        finite = np.isfinite(a) & np.isfinite(e)
        close |= finite & (np.abs(a - e) <= atol + rtol * np.abs(e))
    if equal_nan:
        close |= np.isnan(a) & np.isnan(e)
    return close


def _tensor_report(a, e, matches, rtol, atol):
    shape, total = matches.shape, matches.size
    wrong = total - int(matches.sum())
    extra = f"Mismatched elements: {wrong} / {total} ({wrong / total:.1%})"
    a, e, matches = a.reshape(-1), e.reshape(-1), matches.reshape(-1)
    integral = a.dtype.kind in "biu"
    if integral:
        a, e = a.astype(np.int64), e.astype(np.int64)
    with np.errstate(all="ignore"):
        abs_diff = np.abs(a - e)
        abs_diff[matches] = 0
        rel_diff = abs_diff / np.abs(e)
        if integral:  # an integer division gives the default float dtype
            rel_diff = rel_diff.astype(get_default_dtype().np)
        rel_diff[matches] = 0
    i, j = _argmax(abs_diff), _argmax(rel_diff)
    return _report("Tensor-likes", extra, abs_diff[i].item(), np.unravel_index(i, shape),
                   rel_diff[j].item(), np.unravel_index(j, shape), rtol, atol)


def _argmax(values):
    """The flat index of the greatest value; the first NaN wins, as in ``max``."""
    nan = np.flatnonzero(np.isnan(values)) if values.dtype.kind == "f" else ()
    return int(nan[0]) if len(nan) else int(np.argmax(values))


def _report(what, extra, abs_diff, abs_idx, rel_diff, rel_idx, rtol, atol):
    equal = rtol == 0 and atol == 0
    lines = [f"{what} are not {'equal' if equal else 'close'}!", "", extra]
    for kind, diff, idx, tol in (("absolute", abs_diff, abs_idx, atol), ("relative", rel_diff, rel_idx, rtol)):
        if idx is None:
            line = f"{kind.title()} difference: {diff}"
        else:
            line = f"Greatest {kind} difference: {diff} at index {tuple(int(k) for k in idx)}"
        lines.append(line if equal else f"{line} (up to {tol} allowed)")
    return "\n".join(lines)


def assert_allclose(actual, expected, rtol=None, atol=None, equal_nan=True, msg=""):
    """Deprecated (as in PyTorch): ``assert_close`` with looser float tolerances, ``equal_nan=True`` and
    no dtype or stride check; non-tensor inputs become tensors (``expected`` in ``actual``'s dtype)."""
    warnings.warn("`ember.testing.assert_allclose()` is deprecated (as `torch.testing.assert_allclose()` is since "
                  "1.12). Please use `ember.testing.assert_close()` instead.", FutureWarning, stacklevel=2)
    if not isinstance(actual, Tensor):
        actual = tensor(actual)
    if not isinstance(expected, Tensor):
        expected = tensor(expected, dtype=actual.dtype)
    if rtol is None and atol is None:
        rtol, atol = _tolerances((actual.dtype, expected.dtype), None, None, _ALLCLOSE_TOLERANCES)
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan, check_device=True,
                 check_dtype=False, check_stride=False, msg=msg or None)
