"""Dynamic dims for ``export``: ``Dim``, generalising a capture over sizes, and call-time guards.

A graph captured at one size is specialised to it (shapes are op parameters). To make it
hold for every size in a ``Dim``'s range, the program is captured again at other sizes
(inputs resized by repeating their values along the dynamic dims). The graphs must agree
node for node; every integer that differs must be an exact multilinear function of the dims
(checked on an extra capture), and becomes a ``SymInt``.
Anything else (a different graph, a float or a tensor whose value follows a size) is an
error naming the node's source line, never a graph that is wrong for other sizes."""
import itertools
import math

import numpy as np

from ember._tensor import Tensor
from ember.export.capture import ExportError
from ember.export.graph import Node, Out
from ember.export.symbolic import SymInt, substitute
from ember.export.op_names import name_of
from ember.ops import binary, convert, scan
from ember.ops import shape as shape_ops

_INT_MAX = 2 ** 63 - 1


class Dim:
    """A dynamic dimension: ``Dim("batch", min=1, max=1024)``; sizes outside the range are refused."""

    def __init__(self, name, *, min=None, max=None):
        self.__name__ = name
        self.min = 0 if min is None else int(min)
        self.max = _INT_MAX if max is None else int(max)
        if self.min > self.max:
            raise ValueError(f"Dim {name}: min {self.min} is larger than max {self.max}")

    def __repr__(self):
        return f"Dim({self.__name__!r}, min={self.min}, max={self.max})"


def dims_per_input(dynamic_shapes, fn, args, kwargs, count):
    """The Dim (or None) of every dim of every flat input, from torch's dynamic_shapes forms:
    a dict by parameter name, or a tuple/list by position; each entry maps dim index -> Dim
    (a dict) or lists one Dim-or-None per dim."""
    import inspect
    try:
        names = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        names = []
    if isinstance(dynamic_shapes, dict):
        bound = {}
        for i, a in enumerate(args):
            bound[names[i] if i < len(names) else f"arg{i}"] = a
        bound.update(kwargs)
        unknown = set(dynamic_shapes) - set(bound)
        if unknown:
            raise ValueError(f"dynamic_shapes names {sorted(unknown)}, which are not inputs of the program "
                             f"(its inputs are {list(bound)})")
        pairs = [(bound[k], dynamic_shapes.get(k)) for k in bound]
    else:
        specs = list(dynamic_shapes) + [None] * (len(args) + len(kwargs))
        pairs = list(zip(list(args) + list(kwargs.values()), specs))
    out = []
    for value, spec in pairs:
        _collect(value, spec, out)
    if len(out) != count:
        raise ValueError("dynamic_shapes doesn't match the structure of the inputs")
    return out


def _collect(value, spec, out):
    if isinstance(value, Tensor):
        dims = [None] * value.dim()
        if isinstance(spec, dict):
            for d, dim in spec.items():
                dims[d] = dim
        elif isinstance(spec, (list, tuple)):
            for d, dim in enumerate(spec):
                dims[d] = dim
        elif spec is not None:
            raise ValueError(f"a tensor's dynamic_shapes entry must be a dict or list of Dims, not {spec!r:.40}")
        for d, dim in enumerate(dims):
            if dim is not None and not isinstance(dim, Dim):
                raise ValueError(f"dynamic_shapes: dim {d} is {dim!r:.40}, not an ember.export.Dim")
        out.append(dims)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _collect(v, spec[i] if isinstance(spec, (list, tuple)) else None, out)
    elif isinstance(value, dict):
        for k, v in value.items():
            _collect(v, spec.get(k) if isinstance(spec, dict) else None, out)


def symbols_of(leaves, dims):
    """Symbol names (s0, s1, ...) per Dim, their example sizes, and the symbol of each input dim."""
    symbols, example, per_input = {}, {}, []
    by_dim = {}
    for t, ds in zip(leaves, dims):
        row = []
        for d, dim in enumerate(ds):
            if dim is None:
                row.append(None)
                continue
            s = by_dim.get(id(dim))
            if s is None:
                s = by_dim[id(dim)] = f"s{len(by_dim)}"
                symbols[s] = {"name": dim.__name__, "min": dim.min, "max": dim.max}
                example[s] = t.shape[d]
            elif example[s] != t.shape[d]:
                raise ExportError(f"inputs share Dim {dim.__name__!r} but have sizes {example[s]} and {t.shape[d]}")
            row.append(s)
        per_input.append(row)
    for s, info in symbols.items():
        if not info["min"] <= example[s] <= info["max"]:
            raise ExportError(f"the example size {example[s]} of Dim {info['name']!r} is outside its range "
                              f"[{info['min']}, {info['max']}]")
    return symbols, example, per_input


def _other_size(v, info, step):
    for cand in (v + step, v - step, v + 1, v - 1):
        if info["min"] <= cand <= info["max"] and cand >= 1 and cand != v:
            return cand
    raise ExportError(f"Dim {info['name']!r} has only the size {v} in its range: make it static")


def resized_inputs(leaves, per_input, sizes):
    """The example inputs with each dynamic dim resized to ``sizes[symbol]`` (values repeated)."""
    out = []
    for t, row in zip(leaves, per_input):
        data = t._data
        for d, s in enumerate(row):
            if s is not None and data.shape[d] != sizes[s]:
                data = np.take(data, np.arange(sizes[s]) % max(data.shape[d], 1), axis=d)
        new = Tensor._make(np.ascontiguousarray(data), t._dtype, t._device)
        out.append(new.requires_grad_() if t._requires_grad else new)
    return out


def generalize(recapture, leaves, per_input, symbols, example):
    """Capture at other sizes (``recapture(flat_inputs)`` -> (graph, state)) and return the first
    graph with symbolic sizes, and its state.

    Sizes are fitted as multilinear in the dims (``s0*s1 + 2*s0``, what reshapes of a
    batch and a sequence give): one capture per corner of the box {example, other}^k, and a
    further capture at new sizes to check the fit."""
    names = list(symbols)
    other = {s: _other_size(example[s], symbols[s], 1) for s in names}
    corners = [dict(zip(names, c)) for c in itertools.product(*[(example[s], other[s]) for s in names])]
    check = {s: _other_size(example[s], symbols[s], 2 + i) for i, s in enumerate(names)}
    base_graph, base_state = recapture(leaves)
    others = [recapture(resized_inputs(leaves, per_input, sizes)) for sizes in corners[1:] + [check]]
    fit = _Fitter(names, corners, check)
    graphs = [base_graph] + [g for g, _ in others]
    states = [base_state] + [st for _, st in others]
    originals = list(base_graph.nodes)
    if any(len(g.nodes) != len(originals) for g in graphs):
        raise ExportError("the program runs different ops for other sizes of the dynamic dims (Python control "
                          "flow on a size): export it with static shapes, or per size")
    for i, node in enumerate(originals):  # constants may gain nodes before them
        peers = [node] + [g.nodes[i] for g in graphs[1:]]
        where = f"{node.name} = {node.target}(...) at {node.meta.get('stack', '?')}"
        if any(p.op != node.op or p.target != node.target for p in peers):
            raise ExportError(f"the program runs different ops for other sizes of the dynamic dims, from {where}")
        node.args = fit.unify([p.args for p in peers], where)
        node.kwargs = fit.unify([p.kwargs for p in peers], where)
        if "shape" in node.meta:
            node.meta["shape"] = fit.unify([p.meta["shape"] for p in peers], where)
        if node.op == "get_attr" and node.target.startswith("_tensor_constant"):
            _generalize_constant(node, [st[node.target] for st in states], base_graph, base_state, where)
    return base_graph, base_state


def _generalize_constant(node, values, graph, state, where):
    """A constant made inside the program whose size follows a dynamic dim: a uniform tensor
    (``zeros(batch, n)``) becomes its value broadcast to the symbolic shape, an integer range
    (``arange(seq)``) a cumulative sum of its step; anything else is refused."""
    shapes = {tuple(v._data.shape) for v in values}
    if len(shapes) == 1 and all(np.array_equal(v._data, values[0]._data) for v in values):
        return
    first = values[0]
    flat = [v._data.reshape(-1) for v in values]
    if all(f.size == 0 for f in flat):
        value, offset = 0, None  # empty at every size: any fill value
    elif all(f.size and (f == f[0]).all() for f in flat) and len({f[0] for f in flat}) == 1:
        value, offset = flat[0][0], None
    else:
        step = _arange_step(values)
        if step is None:
            raise ExportError(f"a tensor made inside the program depends on a dynamic dim ({where}); make it with "
                              "tensor ops from the inputs, or export with static shapes")
        value, offset = step, int(step) - int(flat[0][0])
    state[node.target] = Tensor._make(np.asarray(value, dtype=first._data.dtype).reshape(()), first._dtype,
                                      first._device)
    meta = {k: v for k, v in node.meta.items() if k != "_prim"}
    scalar = Node(node.name + "_value", "get_attr", node.target, meta={"shape": [], "dtype": node.meta["dtype"]})
    expand = Node(node.name + "_expand", "call_function", name_of(shape_ops._expand), (scalar,),
                  {"shape": tuple(node.meta["shape"])}, dict(meta, _prim=shape_ops._expand))
    made = [scalar, expand]
    if offset is None:
        prim, args, kwargs = convert._clone, (expand,), {}
    else:
        total = Node(node.name + "_cumsum", "call_function", name_of(scan._cumsum), (expand,),
                     {"dim": 0, "dtype": None}, dict(meta, _prim=scan._cumsum))
        made.append(total)
        prim, args, kwargs = binary._sub, (total, offset), {}
    i = graph.nodes.index(node)
    graph.nodes[i:i] = made
    node.op, node.target, node.args, node.kwargs = "call_function", name_of(prim), args, kwargs
    node.meta["_prim"] = prim


def _arange_step(values):
    """The common step of integer ranges ``start + step * i`` (one start for all), or None."""
    steps, starts = set(), set()
    for v in values:
        a = v._data
        if a.ndim != 1 or a.dtype.kind not in "iu" or a.size == 0:
            return None
        starts.add(int(a[0]))
        if a.size > 1:
            d = np.diff(a)
            if not (d == d[0]).all():
                return None
            steps.add(int(d[0]))
    return steps.pop() if len(steps) == 1 and len(starts) == 1 else None


class _Fitter:
    """Fits integers seen at the corner sizes as multilinear functions of the dims."""

    def __init__(self, names, corners, check):
        self.names, self.corners, self.check = names, corners, check
        self.monomials = [m for r in range(len(names) + 1) for m in itertools.combinations(names, r)]
        rows = [[math.prod(c[s] for s in m) for m in self.monomials] for c in corners]
        self.solve = np.linalg.inv(np.array(rows, dtype=np.float64))

    def unify(self, values, where):
        first = values[0]
        if isinstance(first, (Node, Out)):
            return first
        if isinstance(first, (list, tuple)):
            if any(type(v) is not type(first) or len(v) != len(first) for v in values):
                raise ExportError(f"an op parameter's structure follows a dynamic dim, from {where}")
            items = [self.unify([v[i] for v in values], where) for i in range(len(first))]
            return type(first)(items) if isinstance(first, list) else tuple(items)  # keeps a LateList
        if isinstance(first, dict):
            return {k: self.unify([v[k] for v in values], where) for k in first}
        if isinstance(first, np.ndarray):
            if all(isinstance(v, np.ndarray) and v.shape == first.shape and np.array_equal(v, first)
                   for v in values[1:]):
                return first
            raise ExportError(f"an array parameter of an op (computed from the sizes in Python) follows a dynamic "
                              f"dim, from {where}: export this op with static shapes")
        if isinstance(first, slice):
            parts = [self.unify([getattr(v, a) for v in values], where) for a in ("start", "stop", "step")]
            return slice(*parts)
        if all(_same(v, first) for v in values[1:]):
            return first
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            raise ExportError(f"an op parameter ({first!r:.40}) follows a dynamic dim but isn't an integer, "
                              f"from {where}")
        coefs = np.rint(self.solve @ np.array(values[:-1], dtype=np.float64)).astype(np.int64)
        terms = {m: int(c) for m, c in zip(self.monomials, coefs) if m}
        sym = SymInt(terms, int(coefs[0]))
        if any(sym.evaluate(c) != v for c, v in zip(self.corners + [self.check], values)):
            raise ExportError(f"an op parameter ({first} at the example sizes) is not a linear function of each "
                              f"dynamic dim, from {where}")
        return sym if sym.terms else sym.const


def _same(a, b):
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    return type(a) is type(b) and a == b


def make_guards(dynamic, placeholders):
    """``guards(leaves) -> symbols`` checking every input dim, and ``bind(value, symbols)``."""
    symbols, per_input = dynamic["symbols"], dynamic["inputs"]

    def guards(leaves):
        values = {}
        for node, t, row in zip(placeholders, leaves, per_input):
            shape = list(t._data.shape)
            if t._dtype.name != node.meta["dtype"] or len(shape) != len(row):
                raise RuntimeError(f"input '{node.name}': expected dtype {node.meta['dtype']} with "
                                   f"{len(row)} dims, got {t._dtype.name} with shape {shape}")
            for d, (s, size) in enumerate(zip(row, shape)):
                where = f"input '{node.name}'.shape[{d}]"
                if s is None:
                    expected = node.meta["shape"][d]
                    if size != expected:
                        raise RuntimeError(f"Expected {where} to be equal to {expected}, but got {size}")
                    continue
                info = symbols[s]
                if not info["min"] <= size <= info["max"]:
                    raise RuntimeError(f"Expected {where} (Dim {info['name']!r}) to be in [{info['min']}, "
                                       f"{info['max']}], but got {size}")
                if values.setdefault(s, size) != size:
                    raise RuntimeError(f"Expected {where} to equal the other dims of Dim {info['name']!r} "
                                       f"({values[s]}), but got {size}")
        return values

    return guards, substitute


def guards_from_json(dynamic, graph):
    return make_guards(dynamic, graph.placeholders)


def check_dynamic_json(dynamic):
    """Validate a file's ``dynamic`` entry; returns its symbol names."""
    if not isinstance(dynamic, dict) or not isinstance(dynamic.get("symbols"), dict):
        raise ValueError("dynamic is malformed")
    for s, info in dynamic["symbols"].items():
        if (not isinstance(info, dict) or not isinstance(info.get("name"), str)
                or not all(isinstance(info.get(k), int) and not isinstance(info.get(k), bool) for k in ("min", "max"))):
            raise ValueError(f"dynamic symbol {s!r:.20} is malformed")
    rows = dynamic.get("inputs")
    if not isinstance(rows, list) or not all(isinstance(r, list) and all(x is None or x in dynamic["symbols"]
                                                                         for x in r) for r in rows):
        raise ValueError("dynamic inputs are malformed")
    return set(dynamic["symbols"])
