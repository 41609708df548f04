"""The object tree of a checkpoint as JSON: containers and scalars inline, tensors by key, objects by class path.

Plain JSON values stand for themselves (None, bool, int, str, finite float, list). Everything else is a
tagged node ``{"$": tag, ...}``: ``tuple``/``set``/``frozenset``/``size`` (``"v"``: items), ``dict`` and
``odict`` (``"v"``: an object when every key is a string, else ``"items"``: ``[[key, value], ...]``),
``float`` (``"v"``: "nan", "inf" or "-inf"), ``bytes`` (``"v"``: base64), ``dtype``/``device`` (``"v"``: name),
``tensor``/``parameter`` (``"key"``: the tensor's name in the file, ``"device"``, ``"requires_grad"``) and
``object`` (``"class"``: "module.Qualname", ``"state"``: its ``__dict__``) and ``global`` (``"path"``: a function
or class defined in ember or allowlisted, stored by reference, e.g. a layer's activation function). Decoding builds data only:
the classes and functions that ``object`` and ``global`` nodes may name are the table in ``catalog.py``, the
same one the encoder writes from.
"""
import base64
import math
import pickle
import types
from collections import OrderedDict

import numpy as np

from ember._checkpoint import allowlist, catalog
from ember._checkpoint.safetensors import FormatError
from ember._tensor import Size, Tensor
from ember.backend import CPU, device, dtype, from_numpy_dtype
from ember.backend.dtype import ALL
from ember.nn.modules.module import Module
from ember.nn.parameter import Parameter


class UnsafeLoadError(RuntimeError, pickle.UnpicklingError):
    """A checkpoint asks for a class that is neither ember's nor allowlisted (torch's weights-only
    unpickler raises ``UnpicklingError`` here)."""


_SEQUENCES = {"tuple": tuple, "set": set, "frozenset": frozenset, "size": Size}  # tag -> type, exact types only
_SEQUENCE_TAG = {cls: tag for tag, cls in _SEQUENCES.items()}


class Encoder:
    """Turns an object into a JSON tree; ``arrays`` collects each distinct tensor once, by name."""

    def __init__(self):
        self.arrays = {}
        self._keys = {}       # id(tensor) -> name
        self._alive = []      # keeps tensors alive so ids stay unique while encoding
        self._active = set()  # ids of containers being encoded (cycle check)

    def encode(self, obj, path=""):
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, (int, np.integer)):
            return int(obj)
        if isinstance(obj, (float, np.floating)):
            obj = float(obj)
            return obj if math.isfinite(obj) else {"$": "float", "v": repr(obj)}
        if isinstance(obj, Tensor):
            return self._tensor(obj, path)
        if isinstance(obj, dtype):
            return {"$": "dtype", "v": obj.name}
        if isinstance(obj, device):
            return {"$": "device", "v": str(obj)}
        if isinstance(obj, (bytes, bytearray)):
            return {"$": "bytes", "v": base64.b64encode(bytes(obj)).decode("ascii")}
        if id(obj) in self._active:
            raise ValueError(f"ember.save: the object at '{path or '<root>'}' contains itself (a reference cycle)")
        self._active.add(id(obj))
        try:
            return self._container(obj, path)
        finally:
            self._active.discard(id(obj))

    def _container(self, obj, path):
        sub = (path + ".") if path else ""
        if isinstance(obj, list):
            return [self.encode(v, f"{sub}{i}") for i, v in enumerate(obj)]
        tag = _SEQUENCE_TAG.get(type(obj))
        if tag is not None:
            items = sorted(obj, key=repr) if tag in ("set", "frozenset") else obj
            return {"$": tag, "v": [self.encode(v, f"{sub}{i}") for i, v in enumerate(items)]}
        if type(obj) in (dict, OrderedDict):
            return self._dict(obj, sub)
        if isinstance(obj, (types.FunctionType, types.BuiltinFunctionType, type)) and catalog.saveable_global(obj):
            return {"$": "global", "path": allowlist.class_path(obj)}
        if catalog.saveable_object(obj):
            return self._object(obj, path)
        raise TypeError(
            f"ember.save: cannot save object of type {type(obj).__module__}.{type(obj).__qualname__} at "
            f"'{path or '<root>'}'; a checkpoint holds tensors, numbers, strings, None, lists, tuples, dicts, "
            "sets, modules and classes allowlisted with ember.serialization.add_safe_globals")

    def _dict(self, obj, sub):
        tag = "odict" if type(obj) is OrderedDict else "dict"
        if all(isinstance(k, str) for k in obj):
            return {"$": tag, "v": {k: self.encode(v, f"{sub}{k}") for k, v in obj.items()}}
        return {"$": tag, "items": [[self.encode(k, f"{sub}<key>"), self.encode(v, f"{sub}{k}")]
                                     for k, v in obj.items()]}

    def _object(self, obj, path):
        sub = (path + ".") if path else ""
        is_module = isinstance(obj, Module)
        state = {}
        for k, v in vars(obj).items():
            why = catalog.module_state_key(type(obj), k) if is_module else None
            if why == "hooks are never saved":
                continue
            if why:
                raise TypeError(f"ember.save: cannot save the attribute '{k}' of the module at '{path or '<root>'}': {why}")
            if is_module and k in ("_parameters", "_buffers", "_modules"):
                state[k] = {"$": "dict", "v": {n: self.encode(t, f"{sub}{n}") for n, t in v.items()}}
            else:
                state[k] = self.encode(v, f"{sub}{k}")
        return {"$": "object", "class": allowlist.class_path(type(obj)), "state": state}

    def _tensor(self, t, path):
        key = self._keys.get(id(t))
        if key is None:
            key = base = path or "tensor"
            n = 1
            while key in self.arrays or key == "__metadata__":
                key, n = f"{base}#{n}", n + 1
            self._keys[id(t)] = key
            self._alive.append(t)
            self.arrays[key] = t.detach().cpu()._data
        return {"$": "parameter" if isinstance(t, Parameter) else "tensor", "key": key,
                "device": str(t.device), "requires_grad": bool(t.requires_grad)}


def _refused(name, path, kind):
    return UnsafeLoadError(
        f"ember.load: {name} asks to rebuild the {kind} '{path:.200}', which is neither a part of ember a "
        f"checkpoint may name nor allowlisted; if you trust this file, allow it with "
        f"ember.serialization.add_safe_globals([{path.rsplit('.', 1)[-1]:.80}]) or the "
        "ember.serialization.safe_globals context manager, or load it with weights_only=False")


class Decoder:
    """Rebuilds the object tree from JSON; ``locate(tensor, saved device)`` places each tensor."""

    def __init__(self, arrays, locate, name, trusted=False):
        self.arrays, self.locate, self.name, self.trusted = arrays, locate, name, trusted
        self._tensors = {}

    def bad(self, why):
        return FormatError(f"ember.load: {self.name} is not a valid ember checkpoint: {why}")

    def decode(self, node):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.decode(v) for v in node]
        if not isinstance(node, dict) or not isinstance(node.get("$"), str):
            raise self.bad(f"unexpected structure node {node!r:.80}")
        tag = node["$"]
        try:
            return self._tagged(tag, node)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise self.bad(f"malformed '{tag}' node ({type(e).__name__}: {e})") from None

    def _tagged(self, tag, node):
        if tag in _SEQUENCES:
            return _SEQUENCES[tag](self.decode(v) for v in node["v"])
        if tag in ("dict", "odict"):
            out = OrderedDict() if tag == "odict" else {}
            pairs = node["v"].items() if "v" in node else node["items"]
            for k, v in pairs:
                out[self.decode(k)] = self.decode(v)
            return out
        if tag == "float":
            if node["v"] not in ("nan", "inf", "-inf"):
                raise ValueError(f"bad float {node['v']!r:.20}")
            return float(node["v"])
        if tag == "bytes":
            return base64.b64decode(node["v"], validate=True)
        if tag == "dtype":
            found = [d for d in ALL if d.name == node["v"]]
            if not found:
                raise ValueError(f"unknown dtype {node['v']!r:.40}")
            return found[0]
        if tag == "device":
            return device(node["v"])
        if tag in ("tensor", "parameter"):
            return self._tensor(node, tag == "parameter")
        if tag == "object":
            return self._object(node)
        if tag == "global":
            path = str(node["path"])
            obj = catalog.global_object(path, self.trusted)
            if obj is None:
                raise _refused(self.name, path, "function or class")
            return obj
        raise ValueError(f"unknown tag '{tag:.40}'")

    def _tensor(self, node, param):
        key = node["key"]
        t = self._tensors.get((key, param))
        if t is None:
            if key not in self.arrays:
                raise ValueError(f"no tensor named '{key:.80}' in the file")
            arr = self.arrays[key]
            rg = bool(node.get("requires_grad", False))
            t = Tensor._make(arr, from_numpy_dtype(arr.dtype), CPU)
            t = self.locate(t, str(node.get("device", "cpu")))
            t = Parameter(t, rg) if param else (t.requires_grad_(rg) if rg else t)
            self._tensors[(key, param)] = t
        return t

    def _object(self, node):
        path = str(node["class"])
        cls = catalog.object_class(path, self.trusted)
        if cls is None:
            raise _refused(self.name, path, "object of class")
        state = node["state"]
        if not isinstance(state, dict):
            raise TypeError("object state must be a JSON object")
        obj = object.__new__(cls)
        if isinstance(obj, Module):
            Module.__init__(obj)
            for k in state:
                why = None if self.trusted else catalog.module_state_key(cls, k)
                if why:
                    raise ValueError(f"module of class {path:.80} holds the attribute '{k:.40}': {why}")
        values = {str(k): self.decode(v) for k, v in state.items()}
        if isinstance(obj, Module):
            _check_module_state(values)
        obj.__dict__.update(values)
        return obj


_MODULE_SLOTS = (("_parameters", Parameter), ("_buffers", Tensor), ("_modules", Module))


def _check_module_state(values):
    for slot, kind in _MODULE_SLOTS:
        held = values.get(slot, {})
        if not isinstance(held, dict) or not all(isinstance(k, str) and (v is None or isinstance(v, kind))
                                                 for k, v in held.items()):
            raise ValueError(f"a module's {slot} must map names to {kind.__name__}s")
