"""Tensors as JSON, with the limits a server needs: nesting depth, element count, known datatypes.

The Open Inference Protocol names datatypes ``FP32``, ``INT64``, ...; archives and the TorchServe-style
API use NumPy/ember names (``float32``). Both are accepted wherever a datatype is read.
"""
import json

import numpy as np

from ember.serve.errors import bad_request

OIP_TO_NUMPY = {"BOOL": "bool", "UINT8": "uint8", "INT8": "int8", "INT16": "int16", "INT32": "int32",
                "INT64": "int64", "FP16": "float16", "FP32": "float32", "FP64": "float64"}
NUMPY_TO_OIP = {v: k for k, v in OIP_TO_NUMPY.items()}


def numpy_dtype(name, where="tensor"):
    """The NumPy dtype for an OIP datatype (``FP32``) or a NumPy/ember name (``float32``)."""
    if isinstance(name, str):
        key = OIP_TO_NUMPY.get(name.upper(), name.lower().removeprefix("ember."))
        if key in NUMPY_TO_OIP:
            return np.dtype(key)
    raise bad_request(f"{where}: unsupported datatype {name!r:.40}; expected one of {', '.join(OIP_TO_NUMPY)}")


def oip_datatype(dtype):
    return NUMPY_TO_OIP[np.dtype(dtype).name]


def parse_json(body, max_depth):
    """Decode a request body as JSON, refusing invalid text and nesting deeper than ``max_depth``."""
    try:
        obj = json.loads(body)
    except RecursionError:
        raise bad_request(f"JSON nesting is deeper than the limit of {max_depth}") from None
    except (UnicodeDecodeError, ValueError) as e:
        raise bad_request(f"request body is not valid JSON: {e}") from None
    depth = json_depth(obj)
    if depth > max_depth:
        raise bad_request(f"JSON nesting depth {depth} exceeds the limit of {max_depth}")
    return obj


def json_depth(obj):
    """Nesting depth of a decoded JSON value (a scalar is 0, ``[1]`` is 1), without recursion."""
    deepest, stack = 0, [(obj, 0)]
    while stack:
        value, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value if isinstance(v, (list, dict)))
            deepest = max(deepest, depth + 1)
    return deepest


def array_from_json(data, dtype, max_elements, shape=None, where="input"):
    """A NumPy array of ``dtype`` from JSON ``data`` (nested lists, or flat with ``shape``).

    Refuses strings and objects, ragged lists, fractional values for integer types, more than
    ``max_elements`` elements, and data whose element count does not match ``shape``.
    """
    dtype = np.dtype(dtype)
    if shape is not None:
        if not isinstance(shape, list) or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0
                                                  for s in shape):
            raise bad_request(f"{where}: shape must be a list of non-negative integers, got {shape!r:.80}")
        count = int(np.prod(shape, dtype=np.int64))
        if count > max_elements:
            raise bad_request(f"{where}: shape {shape} has {count} elements, more than the limit of {max_elements}")
    if not isinstance(data, (list, int, float, bool)):
        raise bad_request(f"{where}: data must be a number or a (nested) list of numbers, got {type(data).__name__}")
    try:
        raw = np.array(data)
    except ValueError:
        raise bad_request(f"{where}: data is a ragged nested list; every row must have the same length") from None
    if raw.dtype.kind not in "biuf":
        raise bad_request(f"{where}: data must hold only numbers{' or booleans' if dtype.kind == 'b' else ''}, "
                          f"found {raw.dtype.kind == 'O' and 'mixed values' or 'strings'}")
    if raw.size > max_elements:
        raise bad_request(f"{where}: {raw.size} elements is more than the limit of {max_elements}")
    if dtype.kind in "biu" and raw.dtype.kind == "f":
        if not np.all(np.isfinite(raw)) or np.any(raw != np.round(raw)):
            raise bad_request(f"{where}: datatype {dtype.name} needs integer values, got fractional numbers")
    if dtype.kind == "b" and raw.dtype.kind != "b" and np.any((raw != 0) & (raw != 1)):
        raise bad_request(f"{where}: datatype bool needs true/false or 0/1 values")
    arr = raw.astype(dtype)
    if shape is not None:
        if arr.size != int(np.prod(shape, dtype=np.int64)):
            raise bad_request(f"{where}: shape {shape} needs {int(np.prod(shape))} elements but data has {arr.size}")
        arr = arr.reshape(shape)
    return arr


def array_to_json(arr, name):
    """An OIP output tensor: name, datatype, shape and the data flattened in row-major order."""
    arr = np.asarray(arr)
    return {"name": name, "datatype": oip_datatype(arr.dtype), "shape": list(arr.shape),
            "data": arr.reshape(-1).tolist()}
