"""Operator schemas: ``(Tensor x, float beta=1.0) -> Tensor``, parsed from text or inferred from a
function's type hints, as PyTorch writes them. A schema says which arguments are tensors (they go
through the dispatcher, so autograd and capture see them), which are plain values (recorded as the
op's parameters), which tensors the op may write (``Tensor(a0!)``) and what it returns."""
import inspect
import re
import types
import typing
from collections.abc import Sequence

from ember._tensor import Tensor
from ember.backend import device as device_type
from ember.backend.dtype import dtype as dtype_type

_BASE_TYPES = {Tensor: "Tensor", int: "SymInt", float: "float", bool: "bool", str: "str", dtype_type: "ScalarType",
               device_type: "Device"}
_NUMBER = int | float | bool
_TENSOR_TYPES = ("Tensor", "Tensor?", "Tensor[]", "Tensor?[]")


class Argument:
    """One parameter: its name, schema type (``Tensor``, ``SymInt[]``, ``float?``), default, whether it
    is keyword-only and whether the op writes it (``Tensor(a0!)``)."""

    __slots__ = ("name", "type", "default", "kwarg_only", "mutable")
    _NO_DEFAULT = inspect.Parameter.empty

    def __init__(self, name, type, default=inspect.Parameter.empty, kwarg_only=False, mutable=False):
        self.name, self.type, self.default, self.kwarg_only, self.mutable = name, type, default, kwarg_only, mutable

    @property
    def is_tensor(self):
        return self.type in _TENSOR_TYPES

    @property
    def has_default(self):
        return self.default is not inspect.Parameter.empty

    def __str__(self, index=None):
        t = self.type
        if self.mutable:
            alias = f"(a{index}!)" if index is not None else "(a!)"
            t = t.replace("Tensor", "Tensor" + alias, 1)
        text = f"{t} {self.name}"
        return text + f"={_default_text(self.default)}" if self.has_default else text


def _default_text(value):
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_default_text(v) for v in value) + "]"
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, dtype_type):
        return value.name
    return repr(value) if not isinstance(value, bool) else str(value)


class Schema:
    """The arguments and return types of an op (``returns``: a list of ``Tensor``/``Tensor[]``)."""

    def __init__(self, arguments, returns):
        self.arguments, self.returns = list(arguments), list(returns)

    @property
    def mutated(self):
        return [a.name for a in self.arguments if a.mutable]

    @property
    def is_functional(self):
        return not self.mutated

    def signature(self):
        params, kind = [], inspect.Parameter.POSITIONAL_OR_KEYWORD
        for a in self.arguments:
            k = inspect.Parameter.KEYWORD_ONLY if a.kwarg_only else kind
            params.append(inspect.Parameter(a.name, k, default=a.default))
        return inspect.Signature(params)

    def __str__(self):
        parts, star = [], False
        for i, a in enumerate(self.arguments):
            if a.kwarg_only and not star:
                parts.append("*")
                star = True
            parts.append(a.__str__(i))
        returns = self.returns[0] if len(self.returns) == 1 else "(" + ", ".join(self.returns) + ")"
        return f"({', '.join(parts)}) -> {returns}"


# inference from type hints -----------------------------------------------------------------

def infer_schema(prototype_function, /, *, mutates_args, op_name=None):
    """The schema string of a function from its type hints (``op_name`` prefixes it).

    >>> def f(x: ember.Tensor, beta: float = 1.0) -> ember.Tensor: ...
    >>> infer_schema(f, mutates_args=())
    '(Tensor x, float beta=1.0) -> Tensor'
    """
    text = str(schema_from_function(prototype_function, mutates_args))
    return f"{op_name}{text}" if op_name else text


def schema_from_function(fn, mutates_args):
    sig = inspect.signature(fn)

    def fail(why):
        return ValueError(f"infer_schema(func): {why} Got func with signature {sig})")

    try:
        hints = typing.get_type_hints(fn)
    except NameError as e:
        raise fail(f"Unresolved type annotation ({e}).") from None
    if mutates_args == "unknown":
        mutated = None
    elif isinstance(mutates_args, str) or not isinstance(mutates_args, (Sequence, set, frozenset, dict)):
        raise ValueError(f"mutates_args must be a sequence or set of argument names, or the string 'unknown', "
                         f"got {mutates_args!r}")
    else:
        mutated = set(mutates_args)
        missing = mutated - set(sig.parameters)
        if missing:
            raise fail(f"{missing} in mutates_args were not found in the custom op's signature. mutates_args should "
                       "contain the names of all args that the custom op mutates, or just the string 'unknown' if "
                       "you don't know.")
    arguments = []
    for name, p in sig.parameters.items():
        if p.kind in (p.POSITIONAL_ONLY, p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise fail("We do not support positional-only args, varargs, or varkwargs.")
        if name not in hints:
            raise fail(f"Parameter {name} must have a type annotation.")
        type_text = _type_text(hints[name])
        if type_text is None:
            raise fail(f"Parameter {name} has unsupported type {hints[name]}. The valid types are Tensor, "
                       "int, float, bool, str, ember.dtype, ember.device, their Optional and list forms, and "
                       "Optional/list of Tensor.")
        default = p.default
        if default is not p.empty and not _valid_default(default):
            raise fail(f"Parameter {name} has an unsupported default value {default!r}.")
        is_tensor = type_text in _TENSOR_TYPES
        writes = is_tensor and (mutated is None or name in mutated)
        if mutated is not None and name in mutated and not is_tensor:
            raise fail(f"Parameter {name} is in mutates_args but is not a Tensor (only tensors can be mutated).")
        arguments.append(Argument(name, type_text, default, p.kind == p.KEYWORD_ONLY, writes))
    if "return" not in hints:
        raise fail("No return type annotation was provided. Please add one.")
    returns = _returns_text(hints["return"])
    if returns is None:
        raise fail(f"Return has unsupported type {hints['return']}. The valid types are Tensor, None, "
                   "tuple[Tensor, ...] and list[Tensor].")
    return Schema(arguments, returns)


def _type_text(hint):
    if hint in _BASE_TYPES:
        return _BASE_TYPES[hint]
    if hint == _NUMBER:
        return "Scalar"
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        inner = _type_text(rest[0]) if len(rest) == 1 else ("Scalar" if set(rest) == {int, float, bool} else None)
        return None if inner is None or inner.endswith("?") or inner == "Tensor?[]" else inner + "?"
    if origin in (list, Sequence, typing.List) and len(args) == 1:  # noqa: UP006 - typing.List hints are accepted
        inner = _type_text(args[0])
        if inner in ("Tensor", "Tensor?", "SymInt", "float", "bool", "Scalar"):
            return "Tensor?[]" if inner == "Tensor?" else inner + "[]"
    return None


def _returns_text(hint):
    if hint is None or hint is type(None):
        return []
    if hint is Tensor:
        return ["Tensor"]
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (list, Sequence, typing.List) and args == (Tensor,):  # noqa: UP006
        return ["Tensor[]"]
    if origin is tuple and args and all(a is Tensor for a in args):
        return ["Tensor"] * len(args)
    return None


def _valid_default(value):
    if value is None or isinstance(value, (bool, int, float, str, dtype_type, device_type)):
        return True
    return isinstance(value, (list, tuple)) and all(isinstance(v, (bool, int, float)) for v in value)


# parsing text --------------------------------------------------------------------------------

_ARG = re.compile(r"^\s*(?P<type>[A-Za-z]+(?:\((?P<alias>[a-z0-9]*!?)\))?(?:\?)?(?:\[\d*\])?(?:\?)?)\s+"
                  r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*(?:=\s*(?P<default>.+?))?\s*$")
_KNOWN = {"Tensor", "int", "SymInt", "float", "bool", "str", "Scalar", "ScalarType", "Device", "Layout",
          "MemoryFormat"}


def parse_schema(text):
    """``(name, Schema)`` of ``"name(Tensor x, *, float a=1.0) -> Tensor"`` (name may be empty)."""
    m = re.fullmatch(r"\s*([A-Za-z_][A-Za-z0-9_.]*)?\s*\((.*)\)\s*->\s*(.+?)\s*", text, re.S)
    if m is None:
        raise RuntimeError(f"malformed operator schema {text!r}: expected 'name(Type arg, ...) -> Type'")
    name, body, ret = m.group(1) or "", m.group(2), m.group(3)
    arguments, kwarg_only = [], False
    for piece in _split(body):
        if piece == "*":
            kwarg_only = True
            continue
        a = _ARG.match(piece)
        if a is None:
            raise RuntimeError(f"malformed argument {piece!r} in operator schema {text!r}")
        raw_type = a.group("type")
        mutable = bool(a.group("alias") and a.group("alias").endswith("!"))
        type_text = re.sub(r"\([a-z0-9]*!?\)", "", raw_type).replace("[]?", "[]")
        type_text = re.sub(r"\[\d+\]", "[]", type_text).replace("int", "SymInt").replace("SymSymInt", "SymInt")
        if type_text.rstrip("?[]").rstrip("?") not in _KNOWN:
            raise RuntimeError(f"unknown type {raw_type!r} in operator schema {text!r}")
        default = _parse_default(a.group("default")) if a.group("default") else inspect.Parameter.empty
        arguments.append(Argument(a.group("name"), type_text, default, kwarg_only, mutable))
    ret = ret.strip()
    if ret == "()":
        returns = []
    else:
        inner = ret[1:-1] if ret.startswith("(") and ret.endswith(")") else ret
        returns = [r.strip().split(" ")[0] for r in _split(inner)]
        if any(r not in ("Tensor", "Tensor[]") for r in returns):
            raise RuntimeError(f"operator schema {text!r}: ember custom ops return Tensor, Tensor[] or tuples of them")
    return name, Schema(arguments, returns)


def _split(body):
    parts, depth, cur = [], 0, ""
    for ch in body:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur.strip())
    return parts


def _parse_default(text):
    text = text.strip()
    if text in ("None", "True", "False"):
        return {"None": None, "True": True, "False": False}[text]
    if text.startswith("[") and text.endswith("]"):
        return [_parse_default(t) for t in _split(text[1:-1])]
    if text[:1] in "'\"":
        return text[1:-1]
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            raise RuntimeError(f"unsupported default value {text!r} in an operator schema") from None
