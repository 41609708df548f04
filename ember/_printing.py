"""PyTorch-style tensor repr: ``tensor([[1., 2.]], requires_grad=True)``."""
import numpy as np

from ember.backend.dtype import get_default_dtype

_IMPLICIT = ("int64", "bool")


def _format_floats(values):
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return lambda v: f"{v:.4f}" if np.isfinite(v) else str(v).replace("inf", "inf")
    if np.all(finite == np.round(finite)):
        mx = np.abs(finite).max()
        if mx < 1e8:
            return lambda v: f"{v:.0f}." if np.isfinite(v) else _special(v)
    absf = np.abs(finite[finite != 0])
    if absf.size and (absf.max() / absf.min() > 1000 or absf.max() > 1e8 or absf.min() < 1e-4):
        return lambda v: f"{v:.4e}" if np.isfinite(v) else _special(v)
    return lambda v: f"{v:.4f}" if np.isfinite(v) else _special(v)


def _special(v):
    return "nan" if np.isnan(v) else ("inf" if v > 0 else "-inf")


def _formatter(data):
    if data.dtype.kind == "b":
        return str
    if data.dtype.kind in "iu":
        return str
    return _format_floats(data.astype(np.float64).reshape(-1))


def _summarise(data, edge):
    """The elements that will be shown when summarising (first/last ``edge`` per dim)."""
    if data.ndim == 0:
        return data
    if data.shape[0] > 2 * edge:
        data = np.concatenate([data[:edge], data[-edge:]])
    return np.stack([_summarise(d, edge) for d in data]) if data.ndim > 1 else data


def _body(data, fmt, width, indent, summarize, edge):
    if data.ndim == 0:
        return fmt(data.item()).rjust(width)
    n = data.shape[0]
    idx = list(range(n)) if not summarize or n <= 2 * edge else list(range(edge)) + [None] + list(range(n - edge, n))
    if data.ndim == 1:
        items = ["..." if i is None else fmt(data[i].item()).rjust(width) for i in idx]
        per_line = max(1, (80 - indent) // (width + 2))
        lines = [", ".join(items[k:k + per_line]) for k in range(0, len(items), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    sep = "," + "\n" * (data.ndim - 1) + " " * (indent + 1)
    parts = ["..." if i is None else _body(data[i], fmt, width, indent + 1, summarize, edge) for i in idx]
    return "[" + sep.join(parts) + "]"


def tensor_repr(t, prefix="tensor("):
    data = t._host()
    if data.dtype.kind == "f" and data.dtype.itemsize < 4 or data.dtype.name == "bfloat16":
        data = data.astype(np.float32)
    summarize = data.size > 1000
    shown = _summarise(data, 3) if summarize else data
    suffix = []
    if t.device.type != "cpu":
        suffix.append(f"device='{t.device}'")
    if data.size == 0 and data.ndim != 1:
        body = "[]"
        suffix.insert(0, f"size={tuple(t.shape)}")
    else:
        fmt = _formatter(shown) if shown.size else str
        width = max((len(fmt(v)) for v in shown.reshape(-1).tolist()), default=0)
        body = _body(data, fmt, width, len(prefix), summarize, 3)
    if t.dtype.name not in _IMPLICIT and t.dtype is not get_default_dtype():
        suffix.append(f"dtype=ember.{t.dtype.name}")
    if t.grad_fn is not None:
        suffix.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        suffix.append("requires_grad=True")
    return prefix + body + "".join(", " + s for s in suffix) + ")"
