"""Guards: what a compiled graph assumed, as one hashable key computed on every call.

A graph is reused only for a call whose key equals the one it was captured under:
the inputs' structure and non-tensor arguments, each input tensor's shape, strides, dtype,
device and ``requires_grad``, grad and inference mode, autocast, and for each module the
function uses (the compiled module, and modules, tensors and plain values it reaches through
its globals and closure): the module tree, every ``training`` flag, every parameter, buffer and
tensor attribute (identity, dtype, shape, device, ``requires_grad``) and every plain attribute (int,
float, bool, str, None, and lists, tuples, dicts and sets of those, by content: mutating
``self.sizes[0]`` or a global ``CONFIG["scale"]`` recompiles) — a superset of the attributes capture
reads. Other objects (a config dataclass, an ``argparse.Namespace``) are keyed by their plain and
tensor attributes, two levels deep: ``self.cfg.scale = 3`` recompiles too. A Python module the
function reads from is keyed by the attributes its code names (``config.SCALE``).
"""
import types

from ember._tensor import Tensor
from ember.amp import autocast_mode
from ember.autograd import grad_mode
from ember.nn.modules.module import Module

_PLAIN = (bool, int, float, str, type(None))
_CONTAINERS = (list, tuple, dict, set, frozenset)


class Unguardable(Exception):  # noqa: N818 - a signal, not an error
    """A non-tensor argument the cache can't key on (unhashable): the call runs eagerly."""


def tensor_key(t):
    return id(t), t._dtype, t._data.shape, t._device, t._requires_grad


def _bookkeeping():
    """Attribute names every Module has for its own machinery (parameters, buffers, hooks): keyed otherwise."""
    return frozenset(Module().__dict__) - {"training"}


_BOOKKEEPING = _bookkeeping()


def module_key(root):
    parts = []
    for m in root.modules():
        parts.append((id(m), m.training))
        for p in m._parameters.values():
            parts.append(None if p is None else tensor_key(p))
        for b in m._buffers.values():
            parts.append(None if b is None else tensor_key(b))
        for k, v in m.__dict__.items():
            if type(v) in _PLAIN:
                parts.append((k, v))
            elif isinstance(v, Tensor):  # a plain tensor attribute (not a buffer), e.g. an attention mask
                parts.append((k, tensor_key(v)))
            elif k not in _BOOKKEEPING and (content := _plain_content(v)) is not None:
                parts.append((k, content))
    return tuple(parts)


_MAX_OBJECT_CONTAINER = 64  # longer containers inside objects (a dataset's samples) are not walked on every call


def _object_content(v, depth):
    """A key of an object's plain and tensor attributes (nested objects while ``depth`` lasts), else None.
    Callables (functions, compiled functions, modules) are behaviour rather than settings: not keyed. A Python
    module is keyed by the names the function reads (``_namespace_key``), never walked whole."""
    if depth == 0 or callable(v) or isinstance(v, types.ModuleType):
        return None
    fields = getattr(v, "__dict__", None)
    if fields is None:
        slots = getattr(type(v), "__slots__", ())
        fields = {k: getattr(v, k) for k in ((slots,) if isinstance(slots, str) else slots) if hasattr(v, k)}
    keys = []
    for k, item in fields.items():
        if type(item) in _CONTAINERS and len(item) > _MAX_OBJECT_CONTAINER:
            continue
        content = tensor_key(item) if isinstance(item, Tensor) else _plain_content(item, depth - 1)
        if content is not None:
            keys.append((k, content))
    return (type(v), tuple(keys)) if keys else None


def _plain_content(v, depth=2):
    """A key of a value: plain values as themselves, containers of plain values by content (nested ones too),
    other objects by their attributes (``_object_content``); None for what has no such key."""
    if type(v) in _PLAIN:
        return type(v), v
    if type(v) not in _CONTAINERS:
        return _object_content(v, depth)
    items = v.items() if type(v) is dict else v  # in iteration order, which a forward looping over it sees
    keys = []
    for item in items:
        if type(v) is dict:
            k, item = item
            if type(k) not in _PLAIN:
                return None
            keys.append(k)
        content = _plain_content(item, 0)
        if content is None:
            return None
        keys.append(content)
    return type(v), tuple(keys)


def _literal_key(v):
    if isinstance(v, Tensor):
        raise AssertionError("tensors are keyed as inputs")
    if isinstance(v, (list, tuple)):
        return type(v).__name__, tuple(_literal_key(x) for x in v)
    if isinstance(v, dict):
        if set(v) == {"$t"}:
            return v["$t"]
        return "dict", tuple((k, _literal_key(x)) for k, x in v.items())
    try:
        hash(v)
    except TypeError:
        raise Unguardable(f"an argument of type {type(v).__name__} (unhashable)") from None
    return type(v), v


def referenced(fn):
    """The objects ``fn`` reads by name from its globals and closure: ``[(name, value)]``."""
    fn = getattr(fn, "__func__", fn)
    code = getattr(fn, "__code__", None)
    if code is None:
        return []
    found = []
    glob = getattr(fn, "__globals__", {})
    for name in code.co_names:
        if name in glob:
            found.append((name, glob[name]))
    for name, cell in zip(code.co_freevars, fn.__closure__ or ()):
        try:
            found.append((name, cell.cell_contents))
        except ValueError:  # an empty cell
            continue
    return found


_MISSING = object()


def _namespace_key(namespace, names, depth=2):
    """A Python module (``config``, ``F``) by the attributes the function may read from it: those named in its
    code (``config.SCALE``), modules among them one level further. Walking all of ``ember.nn`` cost 0.7 ms a call."""
    keys = [id(namespace)]
    for name in names:
        v = namespace.__dict__.get(name, _MISSING)
        if v is _MISSING or callable(v):
            continue
        if isinstance(v, types.ModuleType):
            if depth > 1:
                keys.append((name, _namespace_key(v, names, depth - 1)))
        else:
            keys.append((name, _value_key(v, names)))
    return tuple(keys)


def _value_key(v, names):
    if isinstance(v, types.ModuleType):
        return _namespace_key(v, names)
    if isinstance(v, Tensor):
        return tensor_key(v)
    if isinstance(v, Module):
        return module_key(v)
    if type(v) in _PLAIN:
        return type(v), v
    content = _plain_content(v)
    if content is not None:
        return content
    return id(v)  # a function, a class or a container of objects: rebinding the name recompiles


def call_key(fn, module, leaves, spec):
    """The guard key of a call (see the module docstring). Raises :class:`Unguardable`."""
    inputs = tuple((t._data.shape, t._data.strides, t._dtype, t._device, t._requires_grad) for t in leaves)
    amp = None
    if autocast_mode._active[0]:
        amp = tuple(autocast_mode._state.enabled.items()), tuple(autocast_mode._state.dtype.items())
    code = getattr(getattr(fn, "__func__", fn), "__code__", None)
    env = tuple(_value_key(v, code.co_names if code is not None else ()) for _, v in referenced(fn))
    return (_literal_key(spec), inputs, grad_mode.state.enabled, grad_mode.state.inference, amp,
            None if module is None else module_key(module), env)


def without_shapes(key):
    """The key with the inputs' shapes and strides left out (what dynamic shapes don't count as a recompile)."""
    return key[:1] + (tuple(k[2:] for k in key[1]),) + key[2:]


def describe_miss(old, new):
    """Which guard failed between two keys, in words (for recompile messages)."""
    names = ["input structure or non-tensor arguments", "input shape/stride/dtype/device/requires_grad",
             "grad mode", "inference mode", "autocast", "module state (training flag, parameters, buffers, "
             "attributes)", "globals or closure values"]
    return ", ".join(n for n, a, b in zip(names, old, new) if a != b) or "unknown"
