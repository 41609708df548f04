"""The saved-program file: one safetensors container holding the weights, with the graph as
JSON in its metadata (format in README.md). Loading builds plain values only and checks
everything it reads; a bad file gets a ``FormatError`` naming the file."""
import json
import sys

import numpy as np

from ember._checkpoint.safetensors import FormatError
from ember._checkpoint.safetensors import read as read_container
from ember._tensor import Tensor
from ember.backend import CPU, from_numpy_dtype
from ember.export.dynamic import check_dynamic_json
from ember.export.graph import OPCODES, Graph, LateList, Node, Out
from ember.export.op_names import lookup, name_of
from ember.export.values import DTYPES, decode, encode
from ember.serialization import _read, _write

FORMAT = "ember.program"
VERSION = "1"
_META_KEYS = ("shape", "dtype", "stack", "module", "node_name")


def producer():
    return f"ember {getattr(sys.modules.get('ember'), '__version__', '?')}"


def _ref_json(ref):
    if isinstance(ref, Out):
        return {"$node": ref.node.name, "$index": ref.index}
    return {"$node": ref.name}


def graph_to_json(graph, arrays):
    nodes = []
    for n in graph.nodes:
        target = n.target
        if n.op == "call_function" and "_prim" in n.meta:
            target = name_of(n.meta["_prim"])
        meta = {k: encode(n.meta[k], _ref_json) for k in _META_KEYS if k in n.meta}
        nodes.append({"name": n.name, "op": n.op, "target": target,
                      "args": [encode(a, _ref_json, arrays) for a in n.args],
                      "kwargs": {k: encode(v, _ref_json, arrays) for k, v in n.kwargs.items()}, "meta": meta})
    return nodes


def save_program(f, graph, state, in_spec, signature, kind, dynamic=None):
    """Write a program (graph + state tensors) to a path or binary file."""
    arrays = {}
    program = {"kind": kind, "graph": graph_to_json(graph, arrays), "in_spec": encode(in_spec, _ref_json),
               "signature": signature, "dynamic": dynamic}
    for key, t in state.items():
        arrays[key] = np.asarray(t.detach().cpu()._data)
    metadata = {"format": FORMAT, "program_format": VERSION, "producer": producer(),
                "program": json.dumps(program, separators=(",", ":"), allow_nan=False)}
    _write(f, arrays, metadata)


def load_program(f, kind=None):
    """Read a program file: returns (graph, state, in_spec, signature, dynamic, kind)."""
    return _read(f, lambda name, fp, size: _parse(name, fp, size, kind))


def _parse(name, fp, size, kind):
    def bad(why):
        return FormatError(f"ember program {name}: {why}")

    metadata, arrays = read_container(fp, name, size)
    if metadata.get("format") != FORMAT:
        raise bad(f"not an ember program file (format {metadata.get('format')!r:.40}; "
                  "ember.load reads checkpoints, ember.jit.load/ember.export.load read programs)")
    if metadata.get("program_format") != VERSION:
        raise bad(f"unsupported program format version {metadata.get('program_format')!r:.20} "
                  f"(this ember reads version {VERSION}; the file was written by {metadata.get('producer')!r:.40})")
    try:
        program = json.loads(metadata.get("program", ""))
    except (ValueError, RecursionError) as e:
        raise bad(f"the program is not valid JSON ({e})") from None
    if not isinstance(program, dict) or not isinstance(program.get("graph"), list):
        raise bad("the program has no node list")
    if kind is not None and program.get("kind") not in ("trace", "export"):
        raise bad(f"unknown program kind {program.get('kind')!r:.40}")
    try:
        dynamic = program.get("dynamic")
        symbols = check_dynamic_json(dynamic) if dynamic is not None else set()
        graph, used = _graph(program["graph"], arrays, symbols)
        in_spec = decode(program.get("in_spec"), _no_refs, {})
        signature = program.get("signature") or {}
        if dynamic is not None and len(dynamic["inputs"]) != len(graph.placeholders):
            raise ValueError("dynamic inputs don't match the placeholders")
        _check_signature(signature, arrays)
        _check_in_spec(in_spec, len(graph.placeholders))
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as e:
        raise bad(str(e)) from None
    except RecursionError:
        raise bad("the program nests values too deeply") from None
    params = set(signature.get("parameters", ()))
    state = {}
    for key in used:
        arr = arrays[key]
        state[key] = Tensor._make(arr.copy() if not arr.flags.writeable else arr, from_numpy_dtype(arr.dtype), CPU,
                                  key in params and from_numpy_dtype(arr.dtype).is_floating_point)
    return graph, state, in_spec, signature, dynamic, program.get("kind")


def _no_refs(obj):
    raise ValueError(f"unexpected node reference {obj!r:.60} outside the graph")


def _graph(nodes, arrays, symbols):
    graph = Graph()
    by_name, used = {}, []
    for i, raw in enumerate(nodes):
        if not isinstance(raw, dict) or set(raw) != {"name", "op", "target", "args", "kwargs", "meta"}:
            raise ValueError(f"node {i} is malformed ({str(raw)[:80]})")
        name, op, target = raw["name"], raw["op"], raw["target"]
        if not isinstance(name, str) or not name.isidentifier() or name in by_name:
            raise ValueError(f"node {i} has an invalid or repeated name {name!r:.40}")
        if op not in OPCODES or not isinstance(target, str):
            raise ValueError(f"node {name} has an unknown kind {op!r:.40}")
        if not isinstance(raw["args"], list) or not isinstance(raw["kwargs"], dict) or not isinstance(raw["meta"], dict):
            raise ValueError(f"node {name}: args, kwargs or meta malformed")

        def ref(obj, where=name):
            if set(obj) - {"$node", "$index"} or obj.get("$node") not in by_name:
                raise ValueError(f"node {where} reads {obj!r:.60}, which is not an earlier node")
            node = by_name[obj["$node"]]
            if node.op == "output":
                raise ValueError(f"node {where} reads the output node")
            if "$index" not in obj:
                if isinstance(node.meta.get("dtype"), list):
                    raise ValueError(f"node {where} reads several-output node {node.name} without an index")
                return node
            n_out = len(node.meta["dtype"]) if isinstance(node.meta.get("dtype"), list) else 0
            if not isinstance(obj["$index"], int) or not 0 <= obj["$index"] < n_out:
                raise ValueError(f"node {where} reads output {obj['$index']!r:.20} of {node.name}, which has {n_out}")
            return Out(node, obj["$index"])

        args = tuple(decode(a, ref, arrays, symbols) for a in raw["args"])
        kwargs = {k: decode(v, ref, arrays, symbols, lambda obj, where=name: _Pending(obj, where))
                  for k, v in raw["kwargs"].items()}
        meta = _meta(raw["meta"], name, op, symbols)
        if op == "call_function":
            prim = lookup(target)
            if prim is None:
                raise ValueError(f"node {name} calls unknown op {target!r:.60} (not in this ember's op registry)")
            if "node_name" in meta:
                prim = lookup(target, meta["node_name"])
                if prim is None:
                    raise ValueError(f"node {name}: op {target!r:.60} has no form recorded as "
                                     f"{meta['node_name']!r:.60} in this ember")
            meta["_prim"] = prim
        elif op == "get_attr":
            if target not in arrays:
                raise ValueError(f"node {name} reads state {target!r:.60}, which is not in the weights")
            used.append(target)
        elif op == "output":
            if i != len(nodes) - 1:
                raise ValueError("the output node is not last")
        node = Node(name, op, target, args, kwargs, meta)
        graph.nodes.append(node)
        graph._names[name] = 1
        by_name[name] = node
    if not graph.nodes or graph.nodes[-1].op != "output":
        raise ValueError("the graph has no output node")
    for node in graph.nodes:
        for value in node.kwargs.values():
            if isinstance(value, LateList):
                value[:] = [_late_ref(p, by_name) for p in value]
    return graph, list(dict.fromkeys(used))


class _Pending:
    def __init__(self, obj, where):
        self.obj, self.where = obj, where


def _late_ref(pending, by_name):
    obj = pending.obj
    if (not isinstance(obj, dict) or set(obj) != {"$node"} or obj["$node"] not in by_name
            or by_name[obj["$node"]].op == "output" or isinstance(by_name[obj["$node"]].meta.get("dtype"), list)):
        raise ValueError(f"node {pending.where} has a late list entry {obj!r:.60} that is not a node of the graph")
    return by_name[obj["$node"]]


def _meta(raw, name, op, symbols):
    meta = {}
    for key in _META_KEYS:
        if key in raw:
            meta[key] = decode(raw[key], _no_refs, {}, symbols)
    if op == "output":
        return meta
    if not isinstance(meta.get("node_name", ""), str) or not isinstance(meta.get("stack", ""), str):
        raise ValueError(f"node {name} has malformed metadata")
    dt = meta.get("dtype")
    shape = meta.get("shape")
    dts, shapes = (dt, shape) if isinstance(dt, list) else ([dt], [shape])
    if not dts or not isinstance(shapes, list) or len(dts) != len(shapes):
        raise ValueError(f"node {name} has malformed shape/dtype metadata")
    for d, s in zip(dts, shapes):
        if d not in DTYPES or not isinstance(s, list) or not all(_is_size(v) for v in s):
            raise ValueError(f"node {name} has malformed shape/dtype metadata ({d!r:.20}, {s!r:.40})")
    return meta


def _is_size(v):
    return (isinstance(v, int) and not isinstance(v, bool) and v >= 0) or hasattr(v, "to_json")


def _check_signature(signature, arrays):
    if not isinstance(signature, dict):
        raise ValueError("signature is malformed")
    for k in ("parameters", "buffers", "constants"):
        keys = signature.get(k, [])
        if not isinstance(keys, list) or not all(isinstance(s, str) for s in keys):
            raise ValueError(f"signature {k} malformed")


def _check_in_spec(spec, count):
    if not (isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[0], tuple) and isinstance(spec[1], dict)):
        raise ValueError("in_spec is malformed")
    seen = []

    def walk(v):
        if isinstance(v, dict) and set(v) == {"$t"}:
            seen.append(v["$t"])
        elif isinstance(v, (list, tuple)):
            for x in v:
                walk(x)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
    walk(spec)
    if seen != list(range(count)):
        raise ValueError(f"in_spec names {len(seen)} input tensors but the graph has {count} placeholders")
