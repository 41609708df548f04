"""Literal values of the IR (op parameters, non-tensor inputs) to and from JSON.

JSON holds None, bools, ints, strings, finite floats and lists as themselves; every
other kind is a one-key object naming its kind (``{"$tuple": [...]}``), so decoding
builds only these plain values and never runs code. Arrays that are parameters of an op
(precomputed indices, say) live in the weights and are referenced by key.
"""
import math

import numpy as np

from ember.backend import device, to_device
from ember.backend.dtype import ALL, dtype
from ember.export.graph import LateList, Node, Out
from ember.export.symbolic import SymInt

DTYPES = {d.name: d for d in ALL}
_NP_SCALARS = {np.dtype(d.np).name: d.np for d in ALL}


def encode(value, refs, arrays=None):
    """JSON for a literal; ``refs`` names graph nodes (``Node``/``Out`` -> JSON reference); array
    parameters are put into ``arrays`` (key -> array) and referenced."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$float": repr(value)}
    if isinstance(value, (Node, Out)):
        return refs(value)
    if isinstance(value, LateList):
        return {"$late": [encode(v, refs, arrays) for v in value]}
    if isinstance(value, list):
        return [encode(v, refs, arrays) for v in value]
    if isinstance(value, tuple):
        return {"$tuple": [encode(v, refs, arrays) for v in value]}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"$dict": {k: encode(v, refs, arrays) for k, v in value.items()}}
    if isinstance(value, slice):
        return {"$slice": [encode(value.start, refs, arrays), encode(value.stop, refs, arrays),
                           encode(value.step, refs, arrays)]}
    if value is Ellipsis:
        return {"$ellipsis": None}
    if isinstance(value, dtype):
        return {"$dtype": value.name}
    if isinstance(value, device):
        return {"$device": str(value)}
    if isinstance(value, np.generic) and value.dtype.name in _NP_SCALARS:
        return {"$scalar": encode(value.item(), refs, arrays), "dtype": value.dtype.name}
    if isinstance(value, np.dtype) and value.name in _NP_SCALARS:
        return {"$npdtype": value.name}
    if isinstance(value, np.ndarray) and arrays is not None:
        key = f"_array{len(arrays)}"
        arrays[key] = value
        return {"$array": key}
    if hasattr(value, "to_json"):  # a symbolic size
        return value.to_json()
    raise TypeError(f"a graph can't hold a value of type {type(value).__name__} ({value!r:.60})")


def decode(obj, refs, arrays, symbols=(), late=None):
    """The value ``encode`` wrote; ``refs(json)`` resolves node references, ``arrays`` holds array keys.

    ``late(json)`` resolves the node references of a LateList, which may name later nodes.
    Raises ValueError naming what is malformed."""
    if late is None:
        late = _no_late
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return obj
    if isinstance(obj, list):
        return [decode(v, refs, arrays, symbols, late) for v in obj]
    if not isinstance(obj, dict) or len(obj) not in (1, 2):
        raise ValueError(f"malformed value {obj!r:.80}")
    if "$node" in obj:
        return refs(obj)
    if "$sym" in obj:
        return SymInt.from_json(obj, symbols)
    tag = next(iter(obj))
    body = obj[tag]
    if tag == "$late" and isinstance(body, list):
        return LateList(late(v) for v in body)
    if tag == "$tuple" and isinstance(body, list):
        return tuple(decode(v, refs, arrays, symbols, late) for v in body)
    if tag == "$dict" and isinstance(body, dict):
        return {k: decode(v, refs, arrays, symbols, late) for k, v in body.items()}
    if tag == "$slice" and isinstance(body, list) and len(body) == 3:
        return slice(*(decode(v, refs, arrays, symbols, late) for v in body))
    if tag == "$ellipsis":
        return Ellipsis
    if tag == "$float" and body in ("inf", "-inf", "nan"):
        return float(body)
    if tag == "$dtype" and body in DTYPES:
        return DTYPES[body]
    if tag == "$npdtype" and body in _NP_SCALARS:
        return np.dtype(_NP_SCALARS[body])
    if tag == "$device" and isinstance(body, str):
        try:
            return to_device(body)
        except (RuntimeError, ValueError, TypeError) as e:
            raise ValueError(f"bad device {body!r:.40}: {e}") from None
    if tag == "$scalar" and obj.get("dtype") in _NP_SCALARS:
        v = decode(body, refs, arrays, symbols, late)
        if not isinstance(v, (bool, int, float)):
            raise ValueError(f"malformed scalar {obj!r:.80}")
        return _NP_SCALARS[obj["dtype"]](v)
    if tag == "$array" and isinstance(body, str):
        if body not in arrays:
            raise ValueError(f"array parameter {body!r:.40} is not in the weights")
        return arrays[body]
    raise ValueError(f"malformed value {obj!r:.80}")


def _no_late(obj):
    raise ValueError(f"a late list {obj!r:.60} outside an op's parameters")
