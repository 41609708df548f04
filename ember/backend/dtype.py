"""ember's dtypes: small named objects that map one-to-one onto NumPy dtypes.

Type promotion follows PyTorch: operands are ranked by category (bool < integer
< floating < complex) and by priority (dimensioned tensor > 0-d tensor > Python scalar);
a lower-priority operand only changes the result when its category is higher.
"""
import threading

import ml_dtypes
import numpy as np


_UNSIGNED = ("uint8", "uint16", "uint32", "uint64")
# PyTorch's limited-support unsigned types: they promote only with themselves and with floating types
_LIMITED = ("uint16", "uint32", "uint64")


class dtype:
    __slots__ = ("name", "np", "itemsize", "is_floating_point", "is_signed", "category", "_rank")

    def __init__(self, name, np_dtype, category, rank):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.itemsize = self.np.itemsize
        self.category = category  # 0 bool, 1 integer, 2 floating, 3 complex
        self.is_floating_point = category == 2
        self.is_signed = name not in ("bool",) + _UNSIGNED
        self._rank = rank

    @property
    def is_complex(self):
        return self.category == 3

    def to_real(self):
        return _TO_REAL.get(self, self)

    def to_complex(self):
        return _TO_COMPLEX.get(self, self)

    def __repr__(self):
        return f"ember.{self.name}"

    def __reduce__(self):
        return (_by_name, (self.name,))

    def __hash__(self):
        return id(self)

    def __eq__(self, other):
        return self is other


bool_ = dtype("bool", np.bool_, 0, 0)
uint8 = dtype("uint8", np.uint8, 1, 1)
int8 = dtype("int8", np.int8, 1, 2)
int16 = dtype("int16", np.int16, 1, 3)
int32 = dtype("int32", np.int32, 1, 4)
int64 = dtype("int64", np.int64, 1, 5)
float16 = dtype("float16", np.float16, 2, 6)
bfloat16 = dtype("bfloat16", ml_dtypes.bfloat16, 2, 6)
float32 = dtype("float32", np.float32, 2, 7)
float64 = dtype("float64", np.float64, 2, 8)
complex64 = dtype("complex64", np.complex64, 3, 9)
complex128 = dtype("complex128", np.complex128, 3, 10)
uint16 = dtype("uint16", np.uint16, 1, 3)
uint32 = dtype("uint32", np.uint32, 1, 4)
uint64 = dtype("uint64", np.uint64, 1, 5)
_TO_REAL = {complex64: float32, complex128: float64}
_TO_COMPLEX = {float16: complex64, bfloat16: complex64, float32: complex64, float64: complex128}

ALL = [bool_, uint8, int8, int16, int32, int64, float16, bfloat16, float32, float64, complex64, complex128,
       uint16, uint32, uint64]
_from_np = {d.np: d for d in ALL}


_BY_NAME = {d.name: d for d in ALL}

# PyTorch's names of each dtype: its scalar type (``Float``, as in ``ember.FloatTensor``
# and kernel errors) and its C++ type (``float``, as in matmul's dtype errors).
TORCH_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16", "int64": "Long",
               "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool",
               "complex64": "ComplexFloat", "complex128": "ComplexDouble", "uint16": "UInt16", "uint32": "UInt32",
               "uint64": "UInt64"}
CPP_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
             "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
             "bool": "bool", "complex64": "c10::complex<float>", "complex128": "c10::complex<double>",
             "uint16": "unsigned short", "uint32": "unsigned int", "uint64": "unsigned long"}


def by_name(name):
    """The dtype called ``name`` (``"float32"``)."""
    return _BY_NAME[name]


_by_name = by_name  # pickles of dtypes name this function


def torch_name(d):
    """PyTorch's scalar-type name of a dtype, as its error messages spell it (``Float``, ``Long``)."""
    return TORCH_NAMES[d.name]


def from_numpy_dtype(np_dtype):
    """The ember dtype of a NumPy dtype; raises TypeError for unsupported ones."""
    try:
        return _from_np[np_dtype]
    except KeyError:
        raise TypeError(
            f"can't convert np.ndarray of type {np_dtype}. The only supported types are: "
            + ", ".join(d.name for d in ALL)
        ) from None


def _promote_pair(a, b):
    """The promoted dtype of two tensor dtypes; None where PyTorch refuses (a limited unsigned type
    with anything but itself or a floating type)."""
    if a is b:
        return a
    if a.name in _LIMITED or b.name in _LIMITED:
        other = b if a.name in _LIMITED else a
        return other if other.category == 2 else None
    if a.category != b.category:
        high, low = (a, b) if a.category > b.category else (b, a)
        if high.category == 3 and low.category == 2:  # complex64 with float64 widens to complex128
            return complex128 if float64 in (low, high.to_real()) else complex64
        return high
    if {a.name, b.name} == {"uint8", "int8"}:
        return int16
    if {a.name, b.name} == {"float16", "bfloat16"}:
        return float32
    return a if a._rank > b._rank else b


class _Promotions(dict):
    """``PROMOTE[a, b]``: the promoted dtype, or PyTorch's RuntimeError for pairs it does not promote."""

    def __missing__(self, pair):
        if isinstance(pair, tuple) and len(pair) == 2 and all(isinstance(d, dtype) for d in pair):
            raise RuntimeError(f"Promotion for uint16, uint32, uint64 types is not supported, attempted to promote "
                               f"{TORCH_NAMES[pair[0].name]} and {TORCH_NAMES[pair[1].name]}")
        raise KeyError(pair)


PROMOTE = _Promotions({(a, b): p for a in ALL for b in ALL if (p := _promote_pair(a, b)) is not None})


_state = threading.local()


def get_default_dtype():
    """The floating dtype used for Python floats and new float tensors (float32)."""
    return getattr(_state, "default", float32)


def set_default_dtype(d):
    if not isinstance(d, dtype) or not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _state.default = d


def to_dtype(value):
    """Accept an ember dtype, a NumPy dtype, a Python type or a name and return an ember dtype."""
    if isinstance(value, dtype):
        return value
    if value is float:
        return float64
    if value is int:
        return int64
    if value is bool:
        return bool_
    if value is complex:
        return complex128
    return from_numpy_dtype(np.dtype(value))
