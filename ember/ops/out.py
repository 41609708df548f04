"""``out=``: write an op's result into a given tensor, as PyTorch does.

The result is cast to ``out``'s dtype when that is a safe cast (never to a lower
category), ``out`` is resized when its shape differs, and an ``out=`` call does not
record gradients (PyTorch refuses one whose inputs require grad).
"""
import functools

from ember._tensor import Tensor
from ember.autograd import grad_mode


def write_out(name, out, result, inputs=()):
    """Return ``result``, or copy it into ``out`` and return ``out`` when one was given."""
    if out is None:
        return result
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if grad_mode.is_grad_enabled() and (out.requires_grad or any(
            isinstance(t, Tensor) and t.requires_grad for t in inputs)):
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic differentiation, "
                           "but one of the arguments requires grad.")
    if result.dtype.category > out.dtype.category:
        raise RuntimeError(f"result type {_torch_name(result.dtype)} can't be cast to the desired output type "
                           f"{_torch_name(out.dtype)}")
    if out._device is not result._device:
        if any(isinstance(t, Tensor) for t in inputs):
            raise RuntimeError(f"Expected out tensor to have device {result.device}, but got {out.device} instead")
        result = result.to(out._device)  # a factory (no tensor inputs) fills ``out`` where it is
    data = result._data
    if out._data.shape != data.shape:
        out._data = data.astype(out._dtype.np, copy=True)
    else:
        out._data[...] = data
    out._version[0] += 1
    return out


def _torch_name(dtype):
    return {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16", "int64": "Long",
            "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool",
            "complex64": "ComplexFloat", "complex128": "ComplexDouble"}[dtype.name]


def accepts_out(fn):
    """Give a single-result function PyTorch's ``out=`` keyword (see ``write_out``)."""
    @functools.wraps(fn)
    def wrapper(*args, out=None, **kwargs):
        result = fn(*args, **kwargs)
        return write_out(fn.__name__, out, result, [a for a in args if isinstance(a, Tensor)])
    return wrapper
