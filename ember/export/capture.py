"""Capture: run a program on example inputs and record every op the dispatcher runs.

The dispatcher and Tensor's value accessors each have one observer slot
(``dispatch.observer``, ``_tensor.value_observer``); while a capture runs they point here.
Reading a tensor's value in Python (``bool``, ``item``, ``tolist``, ``numpy``) is reported when
the tensor was computed from the inputs, except inside ember's own argument checks
(functions named ``check*``/``_check*`` in the core layers), whose reads only decide
whether to raise. Tensors are mapped to the graph values they hold by identity (and by their array, so a
``detach()`` or an autograd.Function output still maps), checked against their in-place
version counter, so a value changed behind the capture's back is never used silently.
"""
import os
import sys
import warnings

import numpy as np

from ember import _tensor
from ember._tensor import Tensor
from ember.ops.convert import detach_record as detach
from ember.export.graph import Graph, LateList, Out
from ember.export.op_names import name_of, variant_name
from ember.backend import CPU, from_numpy_dtype
from ember.ops import convert, dispatch
from ember.ops.dispatch import xp_of
from ember.ops.inplace import _copy_slices, flat_index


class TracerWarning(UserWarning):
    """A traced program baked a value that depends on the example inputs into the graph."""


class ExportError(RuntimeError):
    """``export`` (strict) refused a program; the message names the source line."""


_EMBER = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_CORE = tuple(os.path.join(_EMBER, p) for p in (
    "ops", "export", "jit", "fx", "onnx", "autograd", "backend", "library", "_tensor.py", "creation.py",
    os.path.join("nn", "modules", "module.py")))

_ACCESSORS = {
    "__bool__": "bool(tensor) (a Python if/while/and/or on a tensor)", "__int__": "int(tensor)",
    "__float__": "float(tensor)", "__index__": "a tensor used as a Python int", "item": "tensor.item()",
    "tolist": "tensor.tolist()", "numpy": "tensor.numpy()", "__array__": "a tensor converted to a NumPy array",
    "__format__": "formatting a tensor", "_to_key": "a tensor used as an index (x[idx])",
    "_host": "an op that computes on a tensor's values in Python (bincount, unique_consecutive, eig, ...)",
    "equal": "ember.equal(...)", "allclose": "ember.allclose(...)",
    "backward": "backward() (it accumulates gradients into .grad, which a graph doesn't return)",
}


def describe_read(frame, what):
    """What read a tensor's value (the accessor's description, else ``what``) and the first frame
    outside the accessors, from ``frame``, the reading function's."""
    while frame is not None and (frame.f_code.co_filename == _tensor.__file__ or frame.f_code.co_name in _ACCESSORS):
        what = _ACCESSORS.get(frame.f_code.co_name, what)
        frame = frame.f_back
    return what, frame


def user_frame(depth=2):
    """The first frame outside ember's core layers (where the user's code, or a module's, ran)."""
    f = sys._getframe(depth)
    while f is not None and os.path.abspath(f.f_code.co_filename).startswith(_CORE):
        f = f.f_back
    return f


def _in_argument_check(frame):
    """Whether a value read happens inside one of ember's argument checks (``check_indices``...):
    its only effect is to raise on bad input, so it bakes nothing into the graph."""
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_CORE):
        name = frame.f_code.co_name
        if name.startswith(("check", "_check")):
            return True
        frame = frame.f_back
    return False


def source_line(frame):
    return f"{frame.f_code.co_filename}:{frame.f_lineno}" if frame is not None else "<unknown>"


class Capture:
    """The observer that records a run into ``self.graph``.

    ``report`` is "warn" (jit.trace: TracerWarning at the user's line) or "error" (strict export)."""

    def __init__(self, report="warn", state=None):
        self.graph = Graph()
        self.report_mode = report
        self.state = {}                 # get_attr key -> tensor
        self._named = {}                # id(param/buffer) -> state key, used lazily
        for key, t in (state or {}).items():
            self._named.setdefault(id(t), key)
        self._bound = {}                # id(tensor) -> (ref, version list, version, tensor)
        self._by_data = {}              # id(array) -> [(ref, tensor)], latest last
        self._dependent = set()         # names of nodes computed from the inputs
        self._inputs = set()            # ids of placeholder tensors
        self._reported = set()
        self._modules = []
        self._consts = 0
        self._late = []                 # (LateList, the eager list it stands for)

    # binding tensors to graph values -----------------------------------------------
    def bind(self, t, ref):
        self._bound[id(t)] = (ref, t._version, t._version[0], t)
        self._by_data.setdefault(id(t._data), []).append((ref, t))

    def placeholder(self, t, name):
        node = self.graph.placeholder(name, self._meta(t))
        self._dependent.add(node.name)
        self._inputs.add(id(t))
        self.bind(t, node)
        return node

    def ref(self, t):
        """The graph value ``t`` holds: a bound value, a parameter/buffer, or a new constant."""
        hit = self._bound.get(id(t))
        if hit is not None and hit[1] is t._version and hit[2] == t._version[0]:
            return hit[0]
        if hit is None:
            alias = self._alias(t)
            if alias is not None:
                if alias[1]._requires_grad and not t._requires_grad:  # t = x.detach()
                    return self._record_detach(t, alias[0])
                return alias[0]
        if hit is not None and self._depends(hit[0]):
            self.report("a tensor computed from the inputs was changed in place in a way the graph can't follow "
                        "(through a view or outside ember's ops); its current value is used as a constant")
        key = self._named.get(id(t))
        value = t
        if key is None:  # a snapshot: later writes into t must not change the program
            key = f"_tensor_constant{self._consts}"
            self._consts += 1
            value = Tensor._make(t._data.copy(), t._dtype, t._device)
        node = self.graph.get_attr(key, self._meta(t))
        self.state[key] = value
        self.bind(t, node)
        return node

    def _record_detach(self, t, ref):
        meta = self._meta(t)
        meta["_prim"] = detach
        node = self.graph.call_function(name_of(detach), (ref,), {}, meta)
        if self._depends(ref):
            self._dependent.add(node.name)
        self.bind(t, node)
        return node

    def _alias(self, t):
        """The latest bound tensor sharing ``t``'s array and version counter, unchanged since bound."""
        for ref, other in reversed(self._by_data.get(id(t._data), ())):
            if other._version is t._version and self._fresh(other):
                return ref, other
        return None

    def _fresh(self, t):
        hit = self._bound.get(id(t))
        return hit is not None and hit[2] == t._version[0]

    def _depends(self, ref):
        return (ref.node if isinstance(ref, Out) else ref).name in self._dependent

    # observer interface ------------------------------------------------------------
    def run(self, prim, inputs, arrays, dev, params):
        dispatch.observer = None
        try:
            out = dispatch.execute(prim, inputs, arrays, dev, params)
        finally:
            dispatch.observer = self
        args = tuple(self._arg(x, a) for x, a in zip(inputs, arrays))
        meta = self._meta(out)
        meta["_prim"] = prim
        if variant_name(prim):
            meta["node_name"] = variant_name(prim)
        params = self._params(params)
        node = self.graph.call_function(name_of(prim), args, params, meta)
        if any(self._depends(r) for r in node.all_input_nodes):
            self._dependent.add(node.name)
        if type(out) is tuple:
            for i, o in enumerate(out):
                self.bind(o, Out(node, i))
        else:
            self.bind(out, node)
        return out

    def _params(self, params):
        """Op parameters as the graph holds them: a tensor (a weight only the backward reads) as its
        graph value; an empty list (filled after the op for its backward) as a LateList resolved
        when the capture ends."""
        out = None
        for k, v in params.items():
            if isinstance(v, Tensor):
                out = out or dict(params)
                out[k] = self.ref(v)
            elif type(v) is list and not v:
                out = out or dict(params)
                out[k] = late = LateList()
                self._late.append((late, v))
        return params if out is None else out

    def resolve_late(self):
        for late, filled in self._late:
            late[:] = [self.ref(t) for t in filled]

    def _arg(self, x, array):
        if isinstance(x, Tensor):
            ref = self.ref(x)
            if array is x._data:
                return ref
            if getattr(array, "dtype", None) != x._data.dtype or array.shape != x._data.shape:
                if array.shape != x._data.shape:
                    raise RuntimeError(f"capture: an op got an array of shape {array.shape} for a tensor of shape "
                                       f"{tuple(x._data.shape)}; the graph can't record that")
                # the dispatcher's type promotion cast this operand: record the cast so replay is exact
                cast = convert._to_copy(x, dtype=_dtype_of(array), device=x._device,
                                        src_dtype=x._dtype, src_device=x._device)
                return self.ref(cast)
            return ref
        if isinstance(x, np.ndarray):
            key = f"_tensor_constant{self._consts}"
            self._consts += 1
            t = Tensor._make(x.copy(), _dtype_of(x), CPU)
            self.state[key] = t
            return self.graph.get_attr(key, self._meta(t))
        return x

    def writing(self, dst, src):
        """``dst`` is about to be overwritten in place with ``src``'s value (``wrote`` follows)."""

    def wrote(self, dst, src):
        """``dst`` was overwritten in place with ``src``'s value (cast to ``dst``'s dtype). A view's
        base changes too: it is recorded as the functional ``copy_slices`` of the written values."""
        base = dst._base
        if id(dst) in self._inputs or (base is not None and id(base) in self._inputs):
            self.report("an in-place write into an input of the program; the replayed graph won't change the "
                        "caller's tensor (clone the input first)")
        elif id(dst) in self._named or (base is not None and id(base) in self._named):
            key = self._named.get(id(dst)) or self._named[id(base)]
            self.report(f"an in-place write into the parameter/buffer '{key}'; "
                        "the replayed graph won't update it (call .eval() before capturing, or clone it)")
        ref = self.ref(src)
        if src._dtype is not dst._dtype:
            cast = convert._to_copy(src, dtype=dst._dtype, device=dst._device,
                                    src_dtype=src._dtype, src_device=src._device)
            ref = self.ref(cast)
        if base is not None:
            hit = self._bound.get(id(base))
            old = hit[0] if hit is not None else self.ref(base)  # its value before this write
            idx = flat_index(xp_of(base._device), base._data, dst._data)
            meta = self._meta(base)
            meta["_prim"] = _copy_slices
            node = self.graph.call_function(name_of(_copy_slices), (old, ref), {"idx": idx, "written": False}, meta)
            if self._depends(old) or self._depends(ref):
                self._dependent.add(node.name)
            self.bind(base, node)
        self.bind(dst, ref)

    def value_read(self, t):
        hit = self._bound.get(id(t))
        if hit is None:
            alias = self._alias(t)
            ref = alias[0] if alias is not None else None
        else:
            ref = hit[0]
        if ref is None or not self._depends(ref):
            return
        what, f = describe_read(sys._getframe(1), "a tensor's value was read")
        if _in_argument_check(f):
            return
        self.report(f"{what} turns a value computed from the inputs into a Python constant, so the graph "
                    "won't follow other inputs (use tensor ops such as ember.where instead)")

    def report(self, message):
        frame = user_frame(2)
        where = source_line(frame)
        if self.report_mode == "error":
            raise ExportError(f"{where}: {message}")
        if where in self._reported:
            return
        self._reported.add(where)
        if frame is None:
            warnings.warn(message, TracerWarning, stacklevel=3)
        else:
            warnings.warn_explicit(f"{message}", TracerWarning, frame.f_code.co_filename, frame.f_lineno,
                                   module=frame.f_globals.get("__name__"))

    # metadata ---------------------------------------------------------------------
    def _meta(self, value):
        frame = user_frame(3)
        meta = {"stack": source_line(frame)}
        if self._modules:
            meta["module"] = self._modules[-1]
        if type(value) is tuple:
            meta["shape"] = [list(v._data.shape) for v in value]
            meta["dtype"] = [v._dtype.name for v in value]
        else:
            meta["shape"] = list(value._data.shape)
            meta["dtype"] = value._dtype.name
        return meta

    def track_modules(self, root):
        """Name each node with the module that ran it (forward hooks on every submodule)."""
        handles = []
        for path, m in root.named_modules():
            if not path:
                continue
            label = f"{path} ({type(m).__name__})"
            handles.append(m.register_forward_pre_hook(lambda mod, args, label=label: self._modules.append(label)))
            handles.append(m.register_forward_hook(lambda mod, args, out: self._modules.pop() and None))
        return handles

    # activation ------------------------------------------------------------------
    def __enter__(self):
        if dispatch.observer is not None:
            raise RuntimeError("a graph capture is already running (capture doesn't nest)")
        dispatch.observer = self
        _tensor.value_observer = self.value_read
        return self

    def __exit__(self, *exc):
        dispatch.observer = None
        _tensor.value_observer = None
        return False


def _dtype_of(array):
    return from_numpy_dtype(array.dtype)
