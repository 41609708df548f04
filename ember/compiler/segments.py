"""Resuming after a graph break: a function whose capture broke on a value runs as compiled segments.

A capture that breaks because Python needs a computed value (``if h.sum() > 0``, ``.item()``,
``x[idx]``, ``loss.backward()``) can't be one graph, but the ops between two such points can. The
first call after the break runs eagerly while a :class:`SegmentedCall` cuts its op stream into
segments. A segment ends where Python reads a value it computed, after an op whose result is then
written in place or whose output shape depends on values (``nonzero``), before a function wrapped
in ``ember.compiler.disable`` (which runs eagerly, its ops in no segment), and where the function
returns. Its graph takes the tensors it didn't compute (the call's arguments, parameters, earlier
segments' results) as inputs and returns the tensors it computed that were still alive at its end.

Later calls run the function's Python again. Each op is checked against the recording (the same
primitive, parameters and grad mode; each input computed by the same earlier op of the segment, or
an outside tensor with the recorded shape, strides, dtype and requires_grad) and returns a
placeholder of the recorded shape, dtype and strides (an integer one holds zeros: an argument
check reading it sees valid indices). Where the segment ends, its compiled graph runs and
the placeholders take the values and autograd history of its outputs. After a read Python may
branch, so segments form a tree: the next segment is the child whose first op matches, and a branch
not seen before is recorded like the first. An op that differs from the recording inside a segment
ends the replay: the pending ops run eagerly, and so does the rest of the call. Either way the call
computes what eager code computes.

What this does not follow, and leaves to eager execution for the whole function: writes into views
(the placeholders of a view and its base don't share memory), ops that hand tensors or lists through
their parameters, devices other than the CPU. An outside tensor is a graph input whatever its value,
so tensors the function builds anew on every call (``ember.ones(n)``) are fine.
"""
import contextlib
import weakref

import numpy as np

from ember import _tensor
from ember._tensor import Tensor
from ember.autograd import engine, grad_mode
from ember.backend import CPU, from_numpy_dtype
from ember.compiler import config
from ember.compiler.tracer import user_frame
from ember.export.capture import source_line
from ember.export.graph import Graph, Out
from ember.export.op_names import VALUE_DEPENDENT_SHAPES, name_of, variant_name
from ember.export.passes import eliminate_dead_code
from ember.ops import convert, dispatch
from ember.ops.convert import detach_record


class Unsegmentable(Exception):  # noqa: N818 - a signal
    """The function did something segments can't follow (module docstring)."""


class _PendingNode:
    """The ``grad_fn`` of a placeholder that will need a gradient (so it isn't mistaken for a leaf)."""

    def name(self):
        return "PendingSegment"

    def __repr__(self):
        return "<a compiled segment not run yet>"


_PENDING = _PendingNode()


class _Op:
    """One recorded op: ``args`` are ("n", k, i) output i of op k, ("d", k, i) its detached alias,
    ("x", j) the segment's input j, or ("v", value); ``outs`` each output's (shape, strides, dtype,
    requires_grad, C-ordered); ``flush_after``: the segment ends after it."""

    __slots__ = ("prim", "params", "args", "grad", "outs", "many", "flush_after", "stack")

    def __init__(self, prim, params, args, grad, stack):
        self.prim, self.params, self.args, self.grad, self.stack = prim, params, args, grad, stack
        self.outs, self.many, self.flush_after = (), False, False


class Segment:
    """A recorded run of ops, the layouts of its inputs, its outputs ((op, index) pairs), and the segments
    that followed it."""

    def __init__(self):
        self.ops, self.inputs, self.outputs, self.children = [], [], [], []
        self.run = None     # the compiled graph (built on first replay); False: run the ops eagerly
        self.settled = False  # outputs are what the first replay's Python held (the recording's autograd held more)


class SegmentTree:
    """The segments recorded for one guard set; ``disabled`` once they proved unable to follow the function."""

    def __init__(self):
        self.children, self.size, self.divergences, self.disabled, self.reason = [], 0, 0, False, None


def _layout(t):
    return t._data.shape, t._data.strides, t._dtype, t._requires_grad


def _out_layout(t):
    """An op output's layout, and whether a C-ordered placeholder has it."""
    return t._data.shape, t._data.strides, t._dtype, t._requires_grad, t._data.flags.c_contiguous


def _placeholder(layout):
    """A tensor of the recorded shape, strides and dtype, pending its segment's run. Integer and bool ones hold
    zeros (argument checks read index values: zeros are valid indices); float ones are left unset (zeroing
    4 MB cost 49 us, more than a fused kernel's pass over it)."""
    shape, strides, dtype, requires_grad, c_ordered = layout
    np_dtype = dtype.np
    alloc = np.empty if dtype.is_floating_point or dtype.is_complex else np.zeros
    if c_ordered or 0 in shape:
        data = alloc(shape, np_dtype)
    else:
        low = sum((n - 1) * s for n, s in zip(shape, strides) if s < 0)
        high = sum((n - 1) * s for n, s in zip(shape, strides) if s > 0)
        data = np.ndarray(shape, np_dtype, alloc(high - low + np_dtype.itemsize, np.uint8), -low, strides)
    return Tensor._make(data, dtype, CPU, requires_grad, _PENDING if requires_grad else None)


def _same(a, b):
    """Whether two op arguments or parameters are the same value (arrays by content, 1 and 1.0 apart)."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and a.dtype == b.dtype and bool(np.array_equal(a, b))
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and a != a:
        return b != b
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _same_params(a, b):
    return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)


def _frozen(params):
    """The op's parameters as a segment keeps them; tensors and lists (filled for the backward) refuse."""
    for v in params.values():
        if isinstance(v, (Tensor, list)):
            raise Unsegmentable("an op hands a tensor or a list through its parameters")
    return dict(params)


def _transplant(t, real):
    """Give placeholder ``t`` the value and autograd history of ``real``, in place (Python holds ``t``)."""
    t._data, t._requires_grad, t.grad_fn, t._version = real._data, real._requires_grad, real.grad_fn, real._version
    t.__dict__.update(real.__dict__)


class SegmentedCall:
    """One call of the function: replays the tree's segments, records new ones (module docstring).

    It is the dispatcher's observer and the tensors' value observer while the call runs."""

    def __init__(self, tree, compile_graph):
        self.tree, self.compile_graph = tree, compile_graph
        self.grad = grad_mode.is_grad_enabled()
        self.finished = []        # weakrefs to earlier segments' outputs (for the views check)
        self.parent = tree        # the last finished segment (the tree's root at first)
        self.seg = None           # the segment being replayed or recorded
        self.recording = False
        self.pos = 0              # replay: the next op of seg
        self.ext = []             # the outside tensors bound to seg's inputs
        self.ext_ids = {}         # recording: id(outside tensor) -> input number
        self.made = {}            # id(array) -> ((k, i), weakref(array)) for what seg computed
        self.outs = []            # per op of seg: ((weakref(tensor), weakref(array)), ...) per output
        self.on = True

    # the observer interface --------------------------------------------------------------
    def run(self, prim, inputs, arrays, dev, params):
        inputs = self._casts(inputs, arrays)
        if self.seg is None and not self._follow(prim, inputs, params):
            self._begin()
        if not self.on:  # a cast above diverged
            return dispatch.execute(prim, inputs, arrays, dev, params)
        if self.recording:
            return self._record(prim, inputs, arrays, dev, params)
        return self._replay(prim, inputs, arrays, dev, params)

    def value_read(self, t):
        if self.seg is not None and self._local(t) is not None:
            self._end()

    def outside(self, fn, args, kwargs):
        """``fn`` (wrapped in ``ember.compiler.disable``) runs as plain eager code between two segments."""
        if self.on and self.seg is not None:
            self._end()
        with _unobserved():
            return fn(*args, **kwargs)

    def around_backward(self, run, tensors):
        """The autograd engine (``backward()``, ``autograd.grad``) runs as eager code, never as recorded ops,
        after the segment that computes its tensors."""
        for t in tensors:
            if self.on:
                self.value_read(t)
        with _unobserved():
            return run()

    def writing(self, dst, src):
        if not self.recording and self.seg is not None:  # the recording ended its segment before such a write
            self._diverge()

    def wrote(self, dst, src):
        if self.recording:
            if dst._base is not None or self._has_views(dst):
                self._give_up(Unsegmentable("an in-place write into a view"))
                return
            if self.seg is not None:
                self.seg.ops[-1].flush_after = True
                self._end()

    def report(self, message):  # custom ops that write their arguments
        if self.recording:
            self._give_up(Unsegmentable(message))

    def finish(self):
        """The function returned: end the last segment."""
        if self.on and self.seg is not None:
            self._end()

    def abandon(self):
        """The function raised: a segment being recorded is incomplete, so it is dropped."""
        if self.recording and self.seg is not None:
            self.parent.children.remove(self.seg)

    # identifying tensors ------------------------------------------------------------------
    def _local(self, t):
        """((k, i), detached) when ``t`` holds a value the current segment computed, else None."""
        hit = self.made.get(id(t._data))
        if hit is not None and hit[1]() is t._data:
            k, i = hit[0]
            return hit[0], self.seg.ops[k].outs[i][3] and not t._requires_grad
        return None

    def _has_views(self, t):
        refs = [tensor_ref for op_refs in self.outs for tensor_ref, _ in op_refs] + self.finished
        return any(other is not None and other is not t and other._base is t for other in (r() for r in refs))

    def _casts(self, inputs, arrays):
        """The dispatcher cast an operand for type promotion: the cast is an op of its own, as capture records it."""
        for n, (x, a) in enumerate(zip(inputs, arrays)):
            if a is not getattr(x, "_data", a) and getattr(a, "dtype", None) != x._data.dtype:
                inputs = list(inputs)
                inputs[n] = convert._to_copy(x, dtype=from_numpy_dtype(a.dtype), device=x._device,
                                             src_dtype=x._dtype, src_device=x._device)
        return inputs

    # recording ----------------------------------------------------------------------------
    def _begin(self):
        if self.tree.size >= config.segment_limit:
            self._stop()
            return
        self.seg, self.ext, self.ext_ids = Segment(), [], {}
        self.parent.children.append(self.seg)
        self.tree.size += 1
        self.recording = True

    def _record(self, prim, inputs, arrays, dev, params):
        try:
            op = _Op(prim, _frozen(params), tuple(self._describe(x) for x in inputs), grad_mode.is_grad_enabled(),
                     source_line(user_frame(3)))
            if op.grad and not self.grad:
                raise Unsegmentable("grad mode is turned on inside a function called without it")
            name_of(prim)
        except Unsegmentable as e:
            self._give_up(e)
            return dispatch.execute(prim, inputs, arrays, dev, params)
        except RuntimeError as e:  # an op outside the registry
            self._give_up(Unsegmentable(str(e)))
            return dispatch.execute(prim, inputs, arrays, dev, params)
        dispatch.observer = None
        try:
            out = dispatch.execute(prim, inputs, arrays, dev, params)
        finally:
            dispatch.observer = self
        outs = out if type(out) is tuple else (out,)
        if any(o._device is not CPU for o in outs):
            self._give_up(Unsegmentable("a tensor on a device other than the CPU"))
            return out
        op.outs, op.many = tuple(_out_layout(o) for o in outs), type(out) is tuple
        self.seg.ops.append(op)
        self._remember(len(self.seg.ops) - 1, outs)
        if prim.name in VALUE_DEPENDENT_SHAPES:
            op.flush_after = True
            self._end()
        return out

    def _describe(self, x):
        if not isinstance(x, Tensor):
            if isinstance(x, np.ndarray):
                raise Unsegmentable("an op got a NumPy array as an operand")
            return ("v", x)
        local = self._local(x)
        if local is not None:
            (k, i), detached = local
            return ("d" if detached else "n", k, i)
        if x._device is not CPU:
            raise Unsegmentable("a tensor on a device other than the CPU")
        j = self.ext_ids.get(id(x))
        if j is None:  # self.ext holds x, so its id stays its own while the segment records
            j = self.ext_ids[id(x)] = len(self.ext)
            self.ext.append(x)
            self.seg.inputs.append(_layout(x))
        return ("x", j)

    def _remember(self, k, outs):
        refs = []
        for i, o in enumerate(outs):
            array_ref = weakref.ref(o._data)
            self.made[id(o._data)] = ((k, i), array_ref)
            refs.append((weakref.ref(o), array_ref))
        self.outs.append(tuple(refs))

    def _alive(self, by_array):
        """The (op, index) outputs of the segment that something still holds."""
        found = []
        for k, refs in enumerate(self.outs):
            for i, (tensor_ref, array_ref) in enumerate(refs):
                if tensor_ref() is not None or (by_array and array_ref() is not None):
                    found.append((k, i))
        return found

    def _close_recording(self):
        seg = self.seg
        seg.outputs = self._alive(by_array=False)  # at least these: eager autograd holds some tensors too
        self.finished += [self.outs[k][i][0] for k, i in seg.outputs]
        self.recording, self.ext, self.ext_ids = False, [], {}

    # replaying ----------------------------------------------------------------------------
    def _follow(self, prim, inputs, params):
        """Start replaying the child of the last segment whose first op this is; False if none is."""
        for child in self.parent.children:
            self.seg, self.ext = child, [None] * len(child.inputs)
            if child.ops and self._matches(child.ops[0], prim, inputs, params):
                self.pos, self.recording = 0, False
                return True
        self.seg = None
        return False

    def _matches(self, op, prim, inputs, params):
        """Whether this call of ``prim`` is ``op`` (binding the segment's inputs it reads). It runs for every op
        of every replay, so the common cases come first and inline."""
        if op.prim is not prim or op.grad != grad_mode.state.enabled or len(op.args) != len(inputs):
            return False
        made = self.made
        for a, x in zip(op.args, inputs):
            kind = a[0]
            if kind == "v":
                if isinstance(x, Tensor) or not _same(a[1], x):
                    return False
            elif not isinstance(x, Tensor):
                return False
            elif kind == "x":
                if not self._bind(a[1], x):
                    return False
            else:
                hit = made.get(id(x._data))
                if hit is None or hit[0] != (a[1], a[2]) or hit[1]() is not x._data:
                    return False
                if (kind == "d") != (self.seg.ops[a[1]].outs[a[2]][3] and not x._requires_grad):
                    return False
        return not params and not op.params or _same_params(op.params, params)

    def _bind(self, j, x):
        """Input j is ``x`` in this call: the first op to use it binds it; later ones must pass it again."""
        bound = self.ext[j]
        if bound is None:
            if _layout(x) != self.seg.inputs[j] or self._local(x) is not None:
                return False
            self.ext[j] = x
            return True
        return bound is x or (bound._data is x._data and bound._requires_grad == x._requires_grad)

    def _replay(self, prim, inputs, arrays, dev, params):
        op = self.seg.ops[self.pos]
        if self.pos and not self._matches(op, prim, inputs, params):
            self._diverge()
            return dispatch.execute(prim, inputs, arrays, dev, params)
        outs = tuple([_placeholder(layout) for layout in op.outs]) if op.many else (_placeholder(op.outs[0]),)
        self._remember(self.pos, outs)
        self.pos += 1
        if op.flush_after:
            self._end()
        return outs if op.many else outs[0]

    def _flush(self):
        """The replayed segment ended where its recording did: run it, fill the placeholders."""
        seg = self.seg
        alive = self._alive(by_array=True)
        if not seg.settled:
            seg.outputs, seg.settled = alive, True
        wanted = set(seg.outputs)
        if not wanted.issuperset(alive):  # something holds a value the recording saw die: return it from now on
            seg.outputs = seg.outputs + [o for o in alive if o not in wanted]
            seg.run = None
            values = self._run_eagerly(len(seg.ops))
        else:
            with _unobserved():
                if seg.run is None:
                    seg.run = self._compile(seg)
                if seg.run is not False:
                    with grad_mode.set_grad_enabled(self.grad):
                        results = seg.run(*self.ext)
            values = self._run_eagerly(len(seg.ops)) if seg.run is False else dict(zip(seg.outputs, results))
        self._fill(values)

    def _compile(self, seg):
        try:
            graph = _graph(seg, self.grad)
            eliminate_dead_code(graph)
            return self.compile_graph(graph, {}, list(self.ext))
        except Exception:  # noqa: BLE001 - a backend that can't take this graph: its ops run eagerly
            return False

    def _run_eagerly(self, count):
        """The segment's first ``count`` ops through the dispatcher: {(op, index): tensor}."""
        values = {}
        with _unobserved():
            for k, op in enumerate(self.seg.ops[:count]):
                args = []
                for a in op.args:
                    if a[0] == "x":
                        args.append(self.ext[a[1]])
                    elif a[0] == "v":
                        args.append(a[1])
                    else:
                        v = values[a[1], a[2]]
                        args.append(v.detach() if a[0] == "d" else v)
                with grad_mode.set_grad_enabled(op.grad):
                    out = dispatch.apply(op.prim, args, dict(op.params))
                for i, o in enumerate(out if op.many else (out,)):
                    values[k, i] = o
        return values

    def _fill(self, values):
        for k, refs in enumerate(self.outs):
            for i, (tensor_ref, array_ref) in enumerate(refs):
                real = values.get((k, i))
                if real is None:
                    continue
                t = tensor_ref()
                if t is not None:
                    _transplant(t, real)
                    self.finished.append(tensor_ref)
                held = array_ref()
                if held is not None and held is not real._data:  # an alias (a detach()) holds the placeholder
                    held[...] = real._data

    def _diverge(self):
        """An op differs from the recording: the pending ops run eagerly, and so does the rest of the call."""
        self._fill(self._run_eagerly(self.pos))
        self.tree.divergences += 1
        if self.tree.divergences > config.segment_limit:
            self.tree.disabled = True
        self._stop()

    # ending -------------------------------------------------------------------------------
    def _end(self):
        if self.recording:
            self._close_recording()
        elif self.pos < len(self.seg.ops):  # Python needs a value earlier than the recording did
            self._diverge()
            return
        else:
            self._flush()
        self.parent, self.seg = self.seg, None
        self.made, self.outs = {}, []

    def _give_up(self, reason):
        """Recording met something segments can't follow: the function runs eagerly from now on."""
        self.abandon()
        self.tree.disabled, self.tree.reason = True, str(reason)
        self._stop()

    def _stop(self):
        self.on, self.seg, self.recording = False, None, False
        dispatch.observer = _tensor.value_observer = engine.around = None


def _graph(seg, grad_enabled):
    """The segment as a graph: one placeholder per input, its ops, a tuple of its outputs."""
    graph = Graph()
    ins = [graph.placeholder(f"in{j}", _meta(layout)) for j, layout in enumerate(seg.inputs)]
    refs, detached = {}, {}

    def detach(key, ref, layout):
        if key not in detached:
            meta = _meta(layout)
            meta["_prim"] = detach_record
            detached[key] = graph.call_function(name_of(detach_record), (ref,), {}, meta)
        return detached[key]

    for k, op in enumerate(seg.ops):
        args = []
        for a in op.args:
            if a[0] == "x":
                args.append(ins[a[1]])
            elif a[0] == "v":
                args.append(a[1])
            elif a[0] == "n":
                args.append(refs[a[1], a[2]])
            else:
                args.append(detach(("d", a[1], a[2]), refs[a[1], a[2]], seg.ops[a[1]].outs[a[2]]))
        metas = [_meta(layout) for layout in op.outs]
        meta = {"stack": op.stack, "_prim": op.prim}
        meta["shape"] = [m["shape"] for m in metas] if op.many else metas[0]["shape"]
        meta["dtype"] = [m["dtype"] for m in metas] if op.many else metas[0]["dtype"]
        if variant_name(op.prim):
            meta["node_name"] = variant_name(op.prim)
        node = graph.call_function(name_of(op.prim), tuple(args), dict(op.params), meta)
        for i, layout in enumerate(op.outs):
            ref = Out(node, i) if op.many else node
            if grad_enabled and not op.grad:  # an op under no_grad inside a call that records gradients
                ref = detach(("g", k, i), ref, layout)
            refs[k, i] = ref
    graph.output(tuple(refs[o] for o in seg.outputs))
    return graph


@contextlib.contextmanager
def _unobserved():
    """Run ops (a segment, its compilation) as plain eager code, not as the function's."""
    saved = dispatch.observer, _tensor.value_observer, engine.around
    dispatch.observer = _tensor.value_observer = engine.around = None
    try:
        yield
    finally:
        dispatch.observer, _tensor.value_observer, engine.around = saved


def _meta(layout):
    return {"shape": list(layout[0]), "dtype": layout[2].name}


def run_segmented(tree, fn, args, kwargs, compile_graph):
    """``fn(*args, **kwargs)`` through the segments of ``tree`` (recording what they don't hold yet)."""
    call = SegmentedCall(tree, compile_graph)
    dispatch.observer, _tensor.value_observer, engine.around = call, call.value_read, call.around_backward
    try:
        out = fn(*args, **kwargs)
        call.finish()
    except BaseException:
        call.abandon()
        raise
    finally:
        dispatch.observer = _tensor.value_observer = engine.around = None
    return out
