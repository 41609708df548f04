"""The C view of a tensor: the ``ember_tensor`` struct, its dtype codes, and filling it from a Tensor."""
import numpy as np

from ember._tensor import Tensor
from ember.backend import CPU

DTYPE_CODES = {"float32": 0, "float64": 1, "float16": 2, "bfloat16": 3, "int8": 4, "int16": 5, "int32": 6,
               "int64": 7, "uint8": 8, "bool": 9, "complex64": 10, "complex128": 11}

_STRUCT = """typedef struct {
    void *data;
    int64_t ndim;
    const int64_t *shape;
    const int64_t *strides;
    int32_t dtype;
} ember_tensor;
"""
CDEF = _STRUCT
HEADER = ("#ifndef EMBER_TENSOR_H\n#define EMBER_TENSOR_H\n#include <stdint.h>\n#include <stddef.h>\n" + "".join(
    f"#define EMBER_{name.upper()} {code}\n" for name, code in DTYPE_CODES.items()) + _STRUCT + "#endif\n")


def fill(ffi, tensor, where):
    """An ``ember_tensor *`` describing ``tensor``'s memory, plus the objects that must outlive the call."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{where}: expected an ember Tensor, got {type(tensor).__name__}")
    if tensor.device is not CPU:
        raise RuntimeError(f"{where}: a C extension reads CPU memory; the tensor is on {tensor.device} "
                           "(move it with .cpu())")
    array = tensor._data
    if not isinstance(array, np.ndarray):
        raise RuntimeError(f"{where}: the tensor has no CPU memory to pass")
    shape = ffi.new("int64_t[]", list(array.shape) or [1])
    strides = ffi.new("int64_t[]", [s // array.itemsize for s in array.strides] or [1])
    struct = ffi.new("ember_tensor *")
    struct.data = ffi.cast("void *", array.ctypes.data)
    struct.ndim = array.ndim
    struct.shape = shape
    struct.strides = strides
    struct.dtype = DTYPE_CODES[tensor.dtype.name]
    return struct, (shape, strides, array)
