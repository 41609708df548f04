"""PyTorch's tensor repr, reproduced: ``tensor([[1., 2.]], requires_grad=True)``.

One formatter per tensor picks the style of every element from the finite
non-zero values: integer-valued floats print as ``1.``, widely spread or very
large/small magnitudes switch to scientific notation, otherwise fixed-point with
``precision`` digits. Every element is right-aligned to a common width; rows wrap
at ``linewidth`` and tensors above ``threshold`` elements show only ``edgeitems``
at each end of every dimension.
"""
import math
import re
from dataclasses import dataclass

import numpy as np

from ember.backend.dtype import by_name, get_default_dtype


@dataclass
class _Options:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool = None


OPTIONS = _Options()
_PROFILES = {"default": _Options(), "short": _Options(precision=2, edgeitems=2),
             "full": _Options(threshold=math.inf)}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None, sci_mode=None):
    """Change how tensors print, like ``torch.set_printoptions``: ``ember.set_printoptions(precision=2)``."""
    if profile is not None:
        for k, v in vars(_PROFILES[profile]).items():
            setattr(OPTIONS, k, v)
    for name, value in (("precision", precision), ("threshold", threshold), ("edgeitems", edgeitems),
                        ("linewidth", linewidth)):
        if value is not None:
            setattr(OPTIONS, name, value)
    OPTIONS.sci_mode = sci_mode


class _Formatter:
    """Formats the elements of one tensor to a common style and width."""

    def __init__(self, values, floating):
        self.floating, self.int_mode, self.sci_mode, self.width = floating, True, False, 1
        if not floating:
            self.width = max((len(str(v)) for v in values.tolist()), default=1)
            return
        finite = values[np.isfinite(values) & (values != 0)].astype(np.float64)
        if finite.size:
            big, small = np.abs(finite).max(), np.abs(finite).min()
            self.int_mode = bool(np.all(finite == np.ceil(finite)))
            spread = big / small > 1000.0 or big > 1.0e8
            self.sci_mode = spread if self.int_mode else spread or small < 1.0e-4
            if OPTIONS.sci_mode is not None:
                self.sci_mode = OPTIONS.sci_mode
            self.width = max(len(self._plain(v)) + (self.int_mode and not self.sci_mode) for v in finite.tolist())
        elif OPTIONS.sci_mode is not None:
            self.sci_mode = OPTIONS.sci_mode

    def _plain(self, v):
        if self.sci_mode:
            return f"{v:.{OPTIONS.precision}e}"
        if self.int_mode:
            return f"{v:.0f}"
        return f"{v:.{OPTIONS.precision}f}"

    def __call__(self, v):
        if not self.floating:
            s = str(v)
        elif self.int_mode and not self.sci_mode:
            s = f"{v:.0f}" + ("." if math.isfinite(v) else "")
        else:
            s = self._plain(v)
        return s.rjust(self.width)


class _ComplexFormatter:
    """PyTorch's complex style: real parts and imaginary parts each get their own formatter."""

    def __init__(self, values):
        self.real, self.imag = _Formatter(values.real, True), _Formatter(values.imag, True)
        self.width = self.real.width + self.imag.width + 1

    def __call__(self, v):
        imag = (self.imag(v.imag) + "j").lstrip()
        return self.real(v.real) + (imag if imag[0] in "+-" else "+" + imag)


def _edges(n, summarize):
    """The indices shown along a dimension of size ``n`` (None marks the '...')."""
    e = OPTIONS.edgeitems
    if summarize and n > 2 * e:
        return [*range(e), None, *range(n - e, n)]
    return list(range(n))


def _shown(data, summarize):
    """Only the elements that will be printed (they decide the formatter)."""
    if data.ndim == 0 or not summarize:
        return data.reshape(-1)
    keep = [i for i in _edges(data.shape[0], True) if i is not None]
    if data.ndim == 1:
        return data[keep]
    return np.concatenate([_shown(data[i], True) for i in keep]) if keep else data.reshape(-1)[:0]


def _body(data, fmt, indent, summarize):
    if data.ndim == 0:
        return fmt(data.item())
    idx = _edges(data.shape[0], summarize)
    if data.ndim == 1:
        items = [" ..." if i is None else fmt(data[i].item()) for i in idx]
        per_line = max(1, math.floor((OPTIONS.linewidth - indent) / (fmt.width + 2)))
        lines = [", ".join(items[k:k + per_line]) for k in range(0, len(items), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    rows = ["..." if i is None else _body(data[i], fmt, indent + 1, summarize) for i in idx]
    return "[" + ("," + "\n" * (data.ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def _join_suffixes(text, suffixes, indent):
    last = len(text) - text.rfind("\n") + 1
    parts = [text]
    for s in suffixes:
        if last + len(s) + 2 > OPTIONS.linewidth:
            parts.append(",\n" + " " * indent + s)
            last = indent + len(s)
        else:
            parts.append(", " + s)
            last += len(s) + 2
    return "".join(parts) + ")"


def _meta_suffixes(t):
    suffixes = ["device='meta'", f"size={tuple(t.shape)}"]
    if t.dtype is not get_default_dtype():
        suffixes.append(f"dtype={t.dtype!r}")
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return suffixes


def tensor_repr(t):
    """``repr(t)`` exactly as PyTorch writes it, with ``ember.`` for ``torch.``."""
    prefix = "tensor(" if type(t).__name__ in ("Tensor", "Parameter") else type(t).__name__ + "("
    indent = len(prefix)
    if t.device.type == "meta":  # no data to show: shape and dtype only, as PyTorch writes it
        return _join_suffixes(prefix + "...", _meta_suffixes(t), indent)
    if t.is_sparse:
        return _sparse_repr(t, prefix)
    data = t._host()
    suffixes = []
    if t.device.type != "cpu":
        suffixes.append(f"device='{t.device}'")
    if data.size == 0:
        if data.ndim != 1:
            suffixes.append(f"size={tuple(data.shape)}")
        if t.dtype is not get_default_dtype():
            suffixes.append(f"dtype={t.dtype!r}")
        body = "[]"
    else:
        if t.dtype.name not in ("int64", "bool") and t.dtype not in (get_default_dtype(),
                                                                      get_default_dtype().to_complex()):
            suffixes.append(f"dtype={t.dtype!r}")
        if t.dtype.is_floating_point and t.dtype.itemsize < 4:
            data = data.astype(np.float32)
        summarize = data.size > OPTIONS.threshold
        shown = _shown(data, summarize)
        fmt = _ComplexFormatter(shown) if t.dtype.is_complex else _Formatter(shown, t.dtype.is_floating_point)
        body = _body(data, fmt, indent, summarize)
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return _join_suffixes(prefix + body, suffixes, indent)


def _sparse_repr(t, prefix):
    """PyTorch's COO repr: the indices and values tensors, then size, nnz, dtype, layout and autograd state."""
    coo = t._data
    make = type(t)._make
    pad = " " * len(prefix)
    head = prefix + "indices="
    indices = _indent(_no_dtype(tensor_repr(make(coo.indices, by_name("int64"), t.device))), len(head))
    values = _no_dtype(tensor_repr(make(coo.values, t.dtype, t.device)))
    if coo.nnz == 0:
        values = f"tensor([], size={tuple(coo.values.shape)})"
    text = f"{head}{indices},\n{pad}values={_indent(values, len(pad) + 7)},\n{pad}size={tuple(coo.shape)}"
    suffixes = [f"nnz={coo.nnz}"]
    if t.dtype is not get_default_dtype():
        suffixes.append(f"dtype={t.dtype!r}")
    suffixes.append(f"layout={t.layout!r}")
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return _join_suffixes(text, suffixes, len(pad))


def _no_dtype(text):
    return re.sub(r",\s*dtype=ember\.\w+\)$", ")", text)


def _indent(text, width):
    return text.replace("\n", "\n" + " " * width)
