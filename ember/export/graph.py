"""The IR: a flat list of nodes of four kinds, in the order the program ran.

- ``placeholder``: a user input; ``target`` is its name.
- ``get_attr``: a parameter, buffer or constant of the program; ``target`` is its state key.
- ``call_function``: one registry op; ``target`` is the op's registry name, ``args`` its
  inputs (other nodes or literals, in the op's positional order) and ``kwargs`` its
  non-tensor parameters, exactly what the op's forward received.
- ``output``: the last node; ``args[0]`` is the program's output structure.

An argument that is another node's value is that ``Node`` (or ``Out(node, i)``, output
``i`` of an op with several outputs). Every node but ``output`` carries ``meta["shape"]``
and ``meta["dtype"]`` (lists of them for several outputs), ``meta["stack"]`` (the source
line that made it) and, where a module ran it, ``meta["module"]`` (``features.3 (Conv2d)``).
See ``ember/export/README.md``.
"""
from collections import namedtuple

import numpy as np

from ember.backend import device
from ember.backend.dtype import dtype

OPCODES = ("placeholder", "get_attr", "call_function", "output")

Out = namedtuple("Out", "node index")
Out.__doc__ = "Output ``index`` of a node whose op returns several tensors."


class LateList(list):
    """A list parameter that eager code fills after the op ran (with values of later nodes) for the
    op's backward to read: a replay passes a fresh list and appends each value once it exists."""


class Node:
    """One step of a graph (fields as in ``torch.fx.Node``)."""

    __slots__ = ("name", "op", "target", "args", "kwargs", "meta")

    def __init__(self, name, op, target, args=(), kwargs=None, meta=None):
        if op not in OPCODES:
            raise ValueError(f"unknown node kind {op!r} (expected one of {', '.join(OPCODES)})")
        self.name, self.op, self.target = name, op, target
        self.args, self.kwargs, self.meta = tuple(args), dict(kwargs or {}), dict(meta or {})

    @property
    def all_input_nodes(self):
        found = []
        _walk(self.args, found)
        _walk(tuple(self.kwargs.values()), found)
        return list(dict.fromkeys(found))

    def __repr__(self):
        return self.name


def _walk(value, found):
    if isinstance(value, Node):
        found.append(value)
    elif isinstance(value, Out):
        found.append(value.node)
    elif isinstance(value, (tuple, list)):
        for v in value:
            _walk(v, found)
    elif isinstance(value, dict):
        for v in value.values():
            _walk(v, found)


def map_args(value, fn):
    """``value`` with every node reference (``Node`` or ``Out``) replaced by ``fn(ref)``."""
    if isinstance(value, (Node, Out)):
        return fn(value)
    if isinstance(value, tuple):
        items = [map_args(v, fn) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    if isinstance(value, list):
        return type(value)(map_args(v, fn) for v in value)
    if isinstance(value, dict):
        return {k: map_args(v, fn) for k, v in value.items()}
    return value


class Graph:
    """Nodes in execution order; ``output`` is last."""

    _plan = None  # the interpreter's cached replay plan (rebuilt when the node list changes)

    def __init__(self):
        self.nodes = []
        self._names = {}

    def _name(self, hint):
        base = "".join(c if c.isalnum() else "_" for c in hint.strip("_")) or "v"
        if base[0].isdigit():
            base = "_" + base
        n = self._names.get(base, 0)
        self._names[base] = n + 1
        return base if n == 0 else f"{base}_{n}"

    def create_node(self, op, target, args=(), kwargs=None, meta=None, name=None):
        node = Node(self._name(name or str(target)), op, target, args, kwargs, meta)
        self.nodes.append(node)
        return node

    def placeholder(self, name, meta=None):
        return self.create_node("placeholder", name, meta=meta, name=name)

    def get_attr(self, key, meta=None):
        return self.create_node("get_attr", key, meta=meta, name=key)

    def call_function(self, op_name, args, kwargs=None, meta=None):
        return self.create_node("call_function", op_name, args, kwargs, meta)

    def output(self, value):
        return self.create_node("output", "output", (value,), name="output")

    @property
    def placeholders(self):
        return [n for n in self.nodes if n.op == "placeholder"]

    @property
    def output_node(self):
        return self.nodes[-1] if self.nodes and self.nodes[-1].op == "output" else None

    def users(self):
        """For each node, the nodes that read it."""
        users = {n: [] for n in self.nodes}
        for n in self.nodes:
            for m in n.all_input_nodes:
                users[m].append(n)
        return users

    def copy(self):
        """A new graph with new nodes (same names, metadata copied)."""
        new = Graph()
        new._names = dict(self._names)
        mapping = {}

        def swap(r):
            return Out(mapping[r.node], r.index) if isinstance(r, Out) else mapping[r]

        for n in self.nodes:
            mapping[n] = Node(n.name, n.op, n.target, n.args, n.kwargs, dict(n.meta))
            new.nodes.append(mapping[n])
        for m in new.nodes:  # a LateList may name a later node
            m.args, m.kwargs = map_args(m.args, swap), map_args(m.kwargs, swap)
        return new

    def erase(self, nodes):
        gone = set(nodes)
        self.nodes = [n for n in self.nodes if n not in gone]

    @property
    def code(self):
        """The graph as readable Python-like code."""
        return graph_code(self)

    def print_readable(self, print_output=True):
        text = self.code
        if print_output:
            print(text)
        return text

    def __str__(self):
        return self.code

    def __len__(self):
        return len(self.nodes)


# printing ----------------------------------------------------------------------------

def literal_repr(value):
    """How the printed code shows a value."""
    if isinstance(value, Node):
        return value.name
    if isinstance(value, Out):
        return f"{value.node.name}[{value.index}]"
    if isinstance(value, tuple):
        inner = ", ".join(literal_repr(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        text = "[" + ", ".join(literal_repr(v) for v in value) + "]"
        return f"late{text}" if isinstance(value, LateList) else text
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {literal_repr(v)}" for k, v in value.items()) + "}"
    if isinstance(value, dtype):
        return f"ember.{value.name}"
    if isinstance(value, device):
        return f"device({str(value)!r})"
    if isinstance(value, np.ndarray):
        return f"array(shape={list(value.shape)}, dtype={value.dtype})"
    return repr(value)


def _meta(node):
    shape, dt = node.meta.get("shape"), node.meta.get("dtype")
    if dt is None:
        return ""
    if isinstance(dt, list):
        text = ", ".join(f"{d}{list(s)}" for d, s in zip(dt, shape))
        text = f"({text})"
    else:
        text = f"{dt}{list(shape)}"
    where = node.meta.get("module")
    return f"  # {text}" + (f"  {where}" if where else "")


def graph_code(graph):
    params = [n.name for n in graph.nodes if n.op == "placeholder"]
    lines = [f"def forward(self, {', '.join(params)}):" if params else "def forward(self):"]
    for n in graph.nodes:
        if n.op == "get_attr":
            lines.append(f"    {n.name} = self.{n.target}{_meta(n)}")
        elif n.op == "call_function":
            parts = [literal_repr(a) for a in n.args] + [f"{k}={literal_repr(v)}" for k, v in n.kwargs.items()]
            lines.append(f"    {n.name} = ops.{n.target}({', '.join(parts)}){_meta(n)}")
        elif n.op == "output":
            lines.append(f"    return {literal_repr(n.args[0])}")
    return "\n".join(lines) + "\n"
