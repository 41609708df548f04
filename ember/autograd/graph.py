"""Graph nodes: one ``Node`` per recorded op, ``AccumulateGrad`` per leaf.

A node is also the op's ``ctx``: the forward may stash non-tensor values on it
(``ctx.dim = dim``), and the dispatcher records the saved tensors, the edges to
the inputs' nodes and the input metadata used to shape gradients.
"""
import weakref

from ember._tensor import Tensor
from ember.backend.sparse_coo import CooArray
from ember.autograd import anomaly
from ember.autograd.hooks import RemovableHandle

_FREED = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you call "
    ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
    "graph a second time or if you need to access saved tensors after calling backward."
)


class Node:
    """A backward function in the graph. Subclasses implement ``_backward(*grads)``."""

    # nodes carry forward-time attributes in __dict__; these are the engine's own
    next_functions = ()
    _saved = None
    _freed = False
    _meta = ()
    _pre_hooks = None
    _hooks = None
    _trace = None
    num_outputs = 1

    def name(self):
        return type(self).__name__

    def __repr__(self):
        return f"<{self.name()} object at {hex(id(self))}>"

    # saved tensors ---------------------------------------------------------------
    def _save(self, tensors, outputs=()):
        """Record tensors for backward together with their versions; outputs are kept
        as their data only (rebuilt on access) so the graph holds no reference cycle."""
        output_ids = {id(o) for o in outputs}
        saved = []
        for t in tensors:
            counter = getattr(t, "_version", None)
            if counter is None:  # a Python scalar operand
                saved.append((t, None, None))
            elif id(t) in output_ids:
                saved.append((None, counter[0], (t._data, t._dtype, t._device, counter, t._output_nr)))
            else:
                saved.append((t, counter[0], None))
        self._saved = saved

    @property
    def saved_tensors(self):
        if self._freed:
            raise RuntimeError(_FREED)
        if self._saved is None:
            return ()
        out = []
        for t, version, output in self._saved:
            if output is not None:
                data, dtype, device, counter, nr = output[:5]
                t = Tensor._make(data, dtype, device, True, self, nr)
                t._version = counter
                if len(output) > 5 and output[5]:  # the output's forward AD tangents (ember.ops.dual adds them)
                    t._fw_grads = dict(output[5])
            if version is not None and t._version[0] != version:
                producer = t.grad_fn.name() if t.grad_fn is not None else "a leaf"
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by an "
                    f"inplace operation: [{t.type()} {list(t.shape)}], which is output {t._output_nr} of "
                    f"{producer}, is at version {t._version[0]}; expected version {version} instead. "
                    "Hint: the tensor was changed in place after it was used; use an out-of-place "
                    "operation (e.g. x = x + y instead of x += y) or .clone() it first."
                )
            out.append(t)
        return tuple(out)

    def _free(self):
        if self._saved is not None:
            self._saved = None
            self._freed = True

    # hooks -------------------------------------------------------------------------
    def register_hook(self, fn):
        """Hook run after this node computed its input gradients: ``fn(grad_inputs, grad_outputs)``."""
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(fn)
        return RemovableHandle(self._hooks, fn)

    def register_prehook(self, fn):
        if self._pre_hooks is None:
            self._pre_hooks = {}
        self._pre_hooks.setdefault(-1, []).append(fn)
        return RemovableHandle(self._pre_hooks[-1], fn)

    def _tensor_pre_hooks(self, output_nr):
        if self._pre_hooks is None:
            self._pre_hooks = {}
        return self._pre_hooks.setdefault(output_nr, [])

    # running ---------------------------------------------------------------------
    def _apply(self, grads):
        """Run the backward: returns one gradient per entry of next_functions,
        reduced to each input's shape and cast to its dtype."""
        if anomaly.state.enabled:
            result = anomaly.run_checked(self, self._backward, grads)
        else:
            result = self._backward(*grads)
        if type(result) is not tuple:
            result = (result,)
        out = []
        for g, meta in zip(result, self._meta):
            if g is not None and meta is not None:
                shape, dtype = meta
                if g._data.shape != shape:
                    g = _sum_to(g, shape)
                if g._dtype is not dtype:
                    g = g.to(dtype)
            out.append(g)
        if anomaly.state.enabled:
            anomaly.check_nan(self, out)
        return out


def _sum_to(g, shape):
    """Sum a broadcast gradient back to ``shape``."""
    lead = g.dim() - len(shape)
    dims = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and g.shape[i + lead] != 1)
    if dims:
        g = g.sum(dims, keepdim=True)
    if lead:
        g = g.reshape(shape)
    return g


class OpNode(Node):
    """The node of a primitive op: its backward is the primitive's derivative.

    The dispatcher sets the slots on every node it records; the forward's own
    values go in __dict__."""

    __slots__ = ("_prim", "next_functions", "_meta")

    def name(self):
        return self._prim.node_name

    def _backward(self, *grads):
        return self._prim.backward(self, *grads)

    @property
    def needs_input_grad(self):
        return tuple(m is not None for m in self._meta)


class AccumulateGrad(Node):
    """The node that adds a leaf's gradient into ``leaf.grad``."""

    def __init__(self, variable):
        self.variable = variable
        self.next_functions = ()

    def _accumulate(self, grad, create_graph):
        var = self.variable  # its tensor hooks ran in the engine, before any capture
        if var.grad is None:
            if not create_graph:
                grad = grad.detach()
                if type(grad._data) is CooArray or not _owns_memory(grad._data):
                    grad = grad.clone()
            var.grad = grad
        elif create_graph or var.grad.requires_grad or type(grad._data) is CooArray \
                or type(var.grad._data) is CooArray:
            var.grad = add_grads(var.grad, grad)
        else:
            var.grad._data += grad._data
        for hook in var._post_acc_hooks or ():
            hook(var)


def add_grads(a, b):
    """``a + b`` for two gradients of one tensor; a sparse one joins a dense one (dense + sparse is the
    order PyTorch's add takes)."""
    return b + a if type(a._data) is CooArray and type(b._data) is not CooArray else a + b


def _owns_memory(a):
    flags = a.flags
    return a.base is None and flags.writeable and flags.c_contiguous


def accumulator(tensor):
    """The (cached) AccumulateGrad node of a leaf that requires grad."""
    ref = tensor._grad_acc
    node = ref() if ref is not None else None
    if node is None:
        node = AccumulateGrad(tensor)
        tensor._grad_acc = weakref.ref(node)
    return node
