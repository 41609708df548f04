"""The op database's records: one ``OpEntry`` per public op, the ``Sample`` inputs it
is run on, and the ``Skip`` records (skips and expected failures, each with a reason).

Entries name their ops by path ("add", "nn.functional.relu", "linalg.inv",
"Tensor.expand"), resolved in ``ember`` and in ``torch``, so the same database can be run
on another device or through another transform of the op.
"""
import zlib
from dataclasses import dataclass, field
from collections.abc import Callable

import ml_dtypes
import numpy as np

DTYPES = ("float32", "float64", "float16", "bfloat16", "int64", "int32", "bool")
FLOATS = ("float32", "float64", "float16", "bfloat16")
INTS = ("int64", "int32")
COMPLEX = ("complex64", "complex128")  # opt-in (``dtypes=``): for the ops on complex numbers
ALL_DTYPES = DTYPES + COMPLEX
NP_DTYPES = {"float32": np.float32, "float64": np.float64, "float16": np.float16,
             "bfloat16": ml_dtypes.bfloat16, "int64": np.int64, "int32": np.int32, "bool": np.bool_,
             "complex64": np.complex64, "complex128": np.complex128}
TESTS = ("values", "grad", "gradcheck", "gradgrad", "variants")
# (atol, rtol) of forward values per dtype; the half types round every intermediate.
TOLERANCES = {"float32": (1e-5, 1e-4), "float64": (1e-7, 1e-7), "float16": (1e-2, 1e-2),
              "bfloat16": (5e-2, 5e-2), "int64": (0, 0), "int32": (0, 0), "bool": (0, 0),
              "complex64": (1e-5, 1e-4), "complex128": (1e-7, 1e-7)}
AUTO = "auto"
LAYOUTS = ("contiguous", "transposed", "sliced")


@dataclass
class TensorInput:
    """A tensor argument of a sample: its values (already representable in ``dtype``),
    its dtype, the memory layout it is presented in, and whether it takes part in gradients."""
    values: np.ndarray
    dtype: str
    layout: str = "contiguous"
    grad: bool = True

    @property
    def floating(self):
        return self.dtype in FLOATS

    @property
    def differentiable(self):
        """Whether gradients flow into this input: floating and complex ones."""
        return self.dtype in FLOATS or self.dtype in COMPLEX

    def base(self):
        """The contiguous array a non-contiguous input is a view of (see ``view``)."""
        v = self.values
        if self.layout == "transposed" and v.ndim >= 2:
            return np.ascontiguousarray(np.swapaxes(v, -1, -2))
        if self.layout == "sliced" and v.ndim >= 1:
            return np.repeat(v, 2, axis=-1)
        return v

    def view(self, leaf):
        """``leaf`` (a tensor of ``base()``) presented with this input's shape and layout."""
        if self.layout == "transposed" and self.values.ndim >= 2:
            return leaf.transpose(-1, -2)
        if self.layout == "sliced" and self.values.ndim >= 1:
            return leaf[..., ::2]
        return leaf

    def __repr__(self):
        applies = self.values.ndim >= (2 if self.layout == "transposed" else 1)
        mark = {"transposed": "T", "sliced": "S"}.get(self.layout, "") if applies else ""
        return f"{tuple(self.values.shape)}{mark}".replace(",)", ")")


@dataclass(frozen=True)
class DType:
    """A dtype argument (``dtype=DType("float64")``): ``ember.float64`` or ``torch.float64``."""
    name: str


def tensors_in(obj):
    """The ``TensorInput``s inside an argument (nested lists/tuples/dicts), in order."""
    if isinstance(obj, TensorInput):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [t for x in obj for t in tensors_in(x)]
    if isinstance(obj, dict):
        return [t for x in obj.values() for t in tensors_in(x)]
    return []


class Sample:
    """One call of an op: positional and keyword arguments, ``TensorInput``s among them."""

    def __init__(self, *args, desc=None, **kwargs):
        self.args, self.kwargs = args, kwargs
        self.desc = desc or self._describe()

    def tensors(self):
        return tensors_in((self.args, self.kwargs))

    def numel(self):
        return sum(t.values.size for t in self.tensors())

    def _describe(self):
        """Shapes (T: transposed, S: sliced view) and other arguments; "[empty]" marks a sample
        with an empty tensor, so skips can name them all."""
        parts = [repr(a) if isinstance(a, TensorInput) else _short(a) for a in self.args]
        parts += [f"{k}={_short(v)}" for k, v in self.kwargs.items()]
        empty = any(t.values.size == 0 for t in self.tensors())
        return ", ".join(parts) + (" [empty]" if empty else "")

    def __repr__(self):
        return f"Sample({self.desc})"


def _short(value):
    if isinstance(value, (list, tuple)) and any(isinstance(v, TensorInput) for v in value):
        return "[" + ",".join(repr(v) for v in value) + "]"
    text = repr(value)
    return text if len(text) < 30 else text[:27] + "..."


class Maker:
    """Builds ``TensorInput``s of one dtype from a seeded generator: ``make(2, 3)``,
    ``make(4, low=0.1, high=3, layout="sliced")``, ``make(3, dtype="int64", grad=False)``."""

    def __init__(self, dtype, seed):
        self.dtype = dtype
        self.rng = np.random.default_rng(seed)

    @property
    def floating(self):
        return self.dtype in FLOATS

    def __call__(self, *shape, low=-2.0, high=2.0, layout="contiguous", grad=True, dtype=None, values=None):
        dtype = dtype or self.dtype
        if values is not None:
            v = np.asarray(values)
        elif dtype == "bool":
            v = self.rng.random(shape) > 0.5
        elif dtype in FLOATS:
            v = self.rng.uniform(low, high, size=shape)
        elif dtype in COMPLEX:
            v = self.rng.uniform(low, high, size=shape) + 1j * self.rng.uniform(low, high, size=shape)
        else:
            lo = int(np.ceil(low))
            v = self.rng.integers(lo, max(lo, int(np.floor(high))) + 1, size=shape)
        v = v.astype(NP_DTYPES[dtype])  # round to the dtype, then keep exact values in a wide type
        v = v.astype(np.float64 if dtype in FLOATS else np.complex128 if dtype in COMPLEX else v.dtype)
        return TensorInput(v, dtype, layout, grad)

    def complex(self, *shape, **kwargs):
        """A complex input of the precision under test (complex64 for float32, complex128 for
        float64), so that the grad and gradcheck runs of an entry see complex inputs."""
        dtype = {"float64": "complex128"}.get(self.dtype, self.dtype if self.dtype in COMPLEX else "complex64")
        return self(*shape, dtype=dtype, **kwargs)

    def index(self, *shape, high, low=0):
        """An int64 index tensor with values in [low, high)."""
        return self(*shape, dtype="int64", low=low, high=high - 1, grad=False)

    def mask(self, *shape):
        return self(*shape, dtype="bool", grad=False)


@dataclass(frozen=True)
class Skip:
    """Leave out (``expected_failure=False``) or expect to fail a test of an entry, for some
    dtypes (all when empty) and samples (those whose description contains ``sample``,
    the whole test when None). An expected failure that passes fails the test."""
    test: str
    reason: str
    dtypes: tuple = ()
    sample: str = None
    expected_failure: bool = False

    def __post_init__(self):
        assert self.test in TESTS + ("*",), f"unknown test {self.test!r}"
        assert self.reason, "every skip needs a reason"

    def applies(self, test, dtype, sample=None):
        return ((self.test in ("*", test)) and (not self.dtypes or dtype in self.dtypes)
                and (self.sample is None or (sample is not None and self.sample in sample.desc)))


def skip(test, reason, dtypes=(), sample=None):
    return Skip(test, reason, tuple(dtypes), sample, False)


def xfail(test, reason, dtypes=(), sample=None):
    return Skip(test, reason, tuple(dtypes), sample, True)


@dataclass
class OpEntry:
    """Everything the generic tests need to know about one public op.

    ``method``/``inplace`` default to the Tensor method and ``x_`` form torch has for a
    top-level op; ``aliases`` are other public names bound to the same ember function.
    ``inplace_kwarg``: a functional with ``inplace=True`` (checked like an in-place method).
    ``name_suffix`` names a second entry of the same op (other parameters). ``capturable=False``:
    the op works outside the dispatcher, so a transform that captures calls (capture_replay)
    cannot replay it and skips the entry.
    ``random`` results are compared by shape and dtype only; ``index_ties`` marks ops whose
    index outputs may pick another of several equal values than torch does, so for the
    dtypes where samples have ties (all but float32/float64) indices are compared by shape
    and dtype only."""
    name: str
    samples: Callable[[Maker], list]
    op: object = None  # a path, or a recipe ``op(lib) -> callable``
    ref: object = None
    dtypes: tuple = DTYPES
    tol: dict = field(default_factory=dict)
    grad_tol: tuple = (1e-4, 1e-3)
    differentiable: bool = True
    gradgrad: bool = True
    method: str = AUTO
    inplace: str = AUTO
    supports_out: bool = False
    operators: tuple = ()
    aliases: tuple = ()
    inplace_kwarg: bool = False
    random: bool = False
    index_ties: bool = False
    name_suffix: str = None
    skips: tuple = ()
    capturable: bool = True  # False: it acts outside the dispatcher (storage metadata, Python buffers)

    def __post_init__(self):
        self.op = self.op or self.name
        if self.name_suffix:  # a second entry of the same op with other parameters
            self.name = f"{self.name}.{self.name_suffix}"
        self.ref = self.ref or self.op
        top_level = isinstance(self.op, str) and "." not in self.op
        if self.method == AUTO:
            self.method = self.op if top_level and _torch_has_method(self.op) else None
        if self.inplace == AUTO:
            self.inplace = self.op + "_" if top_level and _torch_has_method(self.op + "_") else None

    def tolerance(self, dtype):
        return self.tol.get(dtype, TOLERANCES[dtype])

    def make_samples(self, dtype):
        return list(self.samples(Maker(dtype, zlib.crc32(f"{self.name}/{dtype}".encode()))))

    def skip_for(self, test, dtype, sample=None):
        """The first Skip that covers (test, dtype[, sample]): whole-test ones when sample is None."""
        for s in self.skips:
            if (s.sample is None) == (sample is None) and s.applies(test, dtype, sample):
                return s
        return None


def _torch_has_method(name):
    import torch
    return callable(getattr(torch.Tensor, name, None))


def resolve(lib, path):
    """``lib.<path>``; a property at the end (``Tensor.T``) becomes a function of the tensor.
    A callable path is a recipe: ``path(lib)`` (for statements such as ``x[key] = value``)."""
    if callable(path):
        return path(lib)
    obj, parts = lib, path.split(".")
    for part in parts[:-1]:
        obj = getattr(obj, part)
    attr = getattr(obj, parts[-1])
    if not callable(attr) and parts[0] == "Tensor":
        return lambda self: getattr(self, parts[-1])
    return attr
