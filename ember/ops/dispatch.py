"""The dispatcher: runs a primitive's forward on backend arrays and records its node.

Shared mechanics live here once: device checks, PyTorch's type promotion,
wrapping results as tensors, recording the graph, and in-place updates.
Un-broadcasting gradients happens when the node runs (``graph.Node._apply``).
"""

import functools

import numpy as np

from ember._tensor import Tensor
from ember.autograd import anomaly, forward_ad, grad_mode
from ember.autograd.graph import OpNode, accumulator
from ember.backend import CPU, PROMOTE, array_module, device, from_numpy_dtype, meta
from ember.backend.dtype import _from_np, bool_, get_default_dtype, int64
from ember.backend.gpu_memory import out_of_memory
from ember.backend.sparse_coo import LayoutError, unsupported_message

_state = grad_mode.state
_anomaly = anomaly.state
_dual = forward_ad.state
_XP = {CPU: np}


PRIMITIVES = {}  # name -> Primitive, every record in the package (ember.ops.registry re-exports it)


class Primitive:
    r"""One differentiable operation: its forward on arrays and its derivative in ember ops.

    ``save`` lists the input positions the derivative reads (True: all of them),
    ``save_output`` asks for the result (True) or for some outputs of a multi-output
    forward (their positions); ``view`` marks ops whose result shares memory with input 0.
    ``name`` (unique; by default the forward's name without ``_`` and ``_forward``) keys
    the record in ``PRIMITIVES``; ``node_name`` is PyTorch's name for the recorded node
    (``grad_fn.name()``). Where PyTorch names the same computation differently by how it
    was called (``MmBackward0``, ``BmmBackward0``, ...), the caller picks one of the
    record's ``variant``\s: the same forward and derivative under another node name.
    ``jvp_rule`` is the forward-mode rule (``@prim.jvp``, run by ``ember.ops.dual``).
    """

    __slots__ = ("name", "forward", "backward", "jvp_rule", "node_name", "save", "save_output", "view", "variants")

    def __init__(self, forward, node_name, save=(), save_output=False, view=False, *, name=None):
        self.name = name or _record_name(forward)
        self.forward = forward
        self.node_name = node_name
        self.backward = None
        self.jvp_rule = None
        self.save = save
        self.save_output = save_output
        self.view = view
        self.variants = {}
        if self.name in PRIMITIVES:
            raise ValueError(f"primitive name {self.name!r} is taken (by {PRIMITIVES[self.name].forward.__module__}); "
                             "pass Primitive(..., name=...) a unique name, or declare a variant of that record")
        PRIMITIVES[self.name] = self

    def derivative(self, fn):
        self.backward = fn
        for v in self.variants.values():
            v.backward = fn
        return fn

    def jvp(self, fn):
        """Declare the forward-mode rule ``fn(j)`` (``j``: an ``ember.ops.dual.Jvp``), written in
        ember ops; it returns the output's tangent (a tuple for a tuple result, None where none)."""
        self.jvp_rule = fn
        for v in self.variants.values():
            v.jvp_rule = fn
        return fn

    def variant(self, node_name, *, save=None, save_output=None, view=None):
        """This record recorded as ``node_name`` (cached): flags not given are this record's."""
        if node_name == self.node_name and save is save_output is view is None:
            return self
        v = self.variants.get(node_name)
        if v is None:
            v = self.variants[node_name] = Variant(self, node_name, save, save_output, view)
        return v

    def named(self, node_name):
        """The form of this record that records ``node_name`` nodes (for replaying a capture)."""
        return self if node_name == self.node_name else self.variants[node_name]

    @property
    def node_names(self):
        return (self.node_name, *self.variants)

    def __call__(self, *inputs, **params):
        return apply(self, inputs, params)

    def __repr__(self):
        return f"<primitive {self.name}>"


class Variant:
    """A primitive's forward and derivative recorded under another node name; the
    dispatcher reads the same attributes off it as off its ``base``."""

    __slots__ = ("base", "name", "forward", "backward", "jvp_rule", "node_name", "save", "save_output", "view")

    def __init__(self, base, node_name, save, save_output, view):
        self.base, self.name, self.node_name = base, base.name, node_name
        self.forward, self.backward, self.jvp_rule = base.forward, base.backward, base.jvp_rule
        self.save = base.save if save is None else save
        self.save_output = base.save_output if save_output is None else save_output
        self.view = base.view if view is None else view

    def __call__(self, *inputs, **params):
        return apply(self, inputs, params)

    def __repr__(self):
        return f"<primitive {self.name} as {self.node_name}>"


def _record_name(forward):
    name = forward.__name__.lstrip("_")
    return name[:-len("_forward")] if name.endswith("_forward") else name


def primitive(node_name, *, save=(), save_output=False, view=False, name=None):
    """Declare a primitive from its forward ``fn(ctx, xp, *arrays, **params)``."""
    return lambda forward: Primitive(forward, node_name, save, save_output, view, name=name)


class _Scratch:
    """The ctx a forward gets when nothing is recorded: what it stashes is never read after the forward."""


_NO_CTX = _Scratch()
_SCRATCH = _NO_CTX.__dict__  # emptied after each such forward: stashed intermediates (a fused LSTM's) must not linger
_generic = np.generic
_new_tensor = object.__new__
observer = None  # graph capture (ember.export) sets an object with run(...) and wrote(dst, src); None otherwise
batching = None  # ember.func.vmap sets an object with claims(prim, inputs, params), run(...), write(dst, src) while it runs


def per_sample(fn=None, *, own_storage=False):
    """Mark a composite that computes on its inputs' host arrays (a LAPACK call, a NumPy search): under
    vmap it runs once per sample and the results are stacked (``ember.func``'s per-sample fallback).
    ``own_storage``: each sample is a copy with a storage of its own (ops that address the storage)."""
    if fn is None:
        return functools.partial(per_sample, own_storage=own_storage)

    @functools.wraps(fn)
    def composite(*args, **kwargs):
        if batching is not None:
            out = batching.composite(fn, args, kwargs, own_storage)
            if out is not NotImplemented:
                return out
        return fn(*args, **kwargs)
    return composite


def refuse_batched(name, *tensors):
    """PyTorch's refusal of an op that cannot run under vmap (it changes a batched tensor's geometry)."""
    if batching is not None and batching.holds(tensors):
        raise RuntimeError(f"vmap: {name} changes the shape and strides of a batched tensor in place; "
                           "it cannot run under vmap")


def xp_of(device):
    if device is CPU:
        return np
    xp = _XP.get(device)
    if xp is None:
        xp = _XP[device] = array_module(device)
    return xp


def _forward_on(dev, prim, ctx, arrays, params):
    """The forward on a device other than the CPU: a GPU's work runs with that GPU current."""
    xp = xp_of(dev)
    if dev.type != "cuda":
        return prim.forward(ctx, xp, *arrays, **params)
    with xp.cuda.Device(dev.index):
        try:
            return prim.forward(ctx, xp, *arrays, **params)
        except MemoryError as e:
            raise out_of_memory(e, dev.index, xp.get_default_memory_pool()) from None


def device_mismatch(op, a, b):
    return RuntimeError(
        f"Expected all tensors to be on the same device, but found at least two devices, {a} and {b}! "
        f"(in {op}; move them with .to(device) first)"
    )


def apply(prim, inputs, params):
    """Run ``prim`` on tensor (or Python scalar) inputs."""
    dev = None
    arrays = []
    for x in inputs:
        if isinstance(x, Tensor):
            arrays.append(x._data)
            if dev is None:
                dev = x._device
            elif x._device is not dev:
                raise device_mismatch(prim.name, dev, x._device)
        else:
            arrays.append(x)
    return run(prim, inputs, arrays, dev, params)


def execute(prim, inputs, arrays, dev, params):
    """Run the forward, wrap the result, and record a node when a gradient is needed."""
    if batching is not None and batching.claims(prim, inputs, params):
        return batching.run(prim, inputs, arrays, params)
    return run_unbatched(prim, inputs, arrays, dev, params)


def run_unbatched(prim, inputs, arrays, dev, params):
    """``run`` for inputs that hold no batched tensor (vmap's batching rules end here)."""
    if observer is not None:
        return observer.run(prim, inputs, arrays, dev, params)
    if _dual.active:  # a forward AD level is on: tangents too (ember.ops.dual)
        return dual_run(prim, inputs, arrays, dev, params)
    needs_grad = False
    if _state.enabled and prim.backward is not None:
        for x in inputs:
            if getattr(x, "_requires_grad", False):
                needs_grad = True
                break
    if not needs_grad:
        try:
            out = prim.forward(_NO_CTX, np, *arrays, **params) if dev is CPU else \
                _forward_on(dev, prim, _NO_CTX, arrays, params)
        except ValueError:
            check_broadcast(arrays)
            raise
        except LayoutError as err:
            raise NotImplementedError(unsupported_message(prim.name, err.backend)) from None
        finally:
            if _SCRATCH:
                _SCRATCH.clear()
        if type(out) is tuple:
            return tuple(_wrap(o, dev, None, i, prim, inputs) for i, o in enumerate(out))
        if prim.view:
            return _wrap(out, dev, None, 0, prim, inputs)
        return _fresh(out, dev, None)

    ctx = OpNode()
    try:
        out = prim.forward(ctx, np, *arrays, **params) if dev is CPU else _forward_on(dev, prim, ctx, arrays, params)
    except ValueError:
        check_broadcast(arrays)
        raise
    except LayoutError as err:
        raise NotImplementedError(unsupported_message(prim.name, err.backend)) from None
    ctx._prim = prim
    next_functions, meta = [], []
    for x in inputs:
        if getattr(x, "_requires_grad", False):
            if x._base is not None and x.grad_fn is not None:
                _refresh_view(x)
            next_functions.append((x.grad_fn, x._output_nr) if x.grad_fn is not None else (accumulator(x), 0))
            meta.append((x._data.shape, x._dtype))
        else:
            next_functions.append((None, 0))
            meta.append(None)
    ctx.next_functions = tuple(next_functions)
    ctx._meta = meta
    if _anomaly.enabled:
        anomaly.record(ctx)
    if type(out) is tuple:
        ctx.num_outputs = len(out)
        result = tuple(_wrap(o, dev, ctx, i, prim, inputs) for i, o in enumerate(out))
    elif prim.view:
        result = _wrap(out, dev, ctx, 0, prim, inputs)
    else:
        result = _fresh(out, dev, ctx)
    if prim.save or prim.save_output:
        saved = list(inputs) if prim.save is True else [inputs[i] for i in prim.save]
        outs = ()
        if prim.save_output:
            outs = result if type(result) is tuple else (result,)
            if prim.save_output is not True:
                outs = tuple(outs[i] for i in prim.save_output)
            saved.extend(outs)
        ctx._save(saved, outs)
    return result


run = execute  # what apply and binary call: execute, or execute wrapped by the interceptors
_interceptors = {}  # name -> wrap(next_run) -> run


def intercept(name, wrap):
    """Route every primitive run through ``wrap(next_run)``, a function with ``run``'s signature that
    ends by calling ``next_run`` (autocast and the profiler); ``wrap=None`` removes ``name``'s.
    Interceptors nest by name, the first name outermost (autocast's casts reach the profiler).
    ``apply`` and ``binary`` look ``run`` up when they call it, so the plain path pays nothing."""
    global run
    if wrap is None:
        _interceptors.pop(name, None)
    else:
        _interceptors[name] = wrap
    run = execute
    for key in sorted(_interceptors, reverse=True):
        run = _interceptors[key](run)


def check_broadcast(arrays):
    """Raise PyTorch's RuntimeError when the operands' shapes don't broadcast together."""
    shape = None
    for a in arrays:
        s = getattr(a, "shape", None)
        if s is None:
            continue
        if shape is None:
            shape = tuple(s)
            continue
        n = max(len(shape), len(s))
        x, y = (1,) * (n - len(shape)) + shape, (1,) * (n - len(s)) + tuple(s)
        for i in range(n - 1, -1, -1):
            if x[i] != y[i] and x[i] != 1 and y[i] != 1:
                raise RuntimeError(f"The size of tensor a ({x[i]}) must match the size of tensor b ({y[i]}) "
                                   f"at non-singleton dimension {i}") from None
        shape = tuple(p if q == 1 else q for p, q in zip(x, y))


_META = device("meta")


def _fresh(out, dev, node):
    """The common result: one new tensor that is not a view (the hot path, kept flat)."""
    if isinstance(out, _generic):
        out = np.asarray(out)
    if dev is _META:
        out = meta.asarray(out)
    t = _new_tensor(Tensor)
    t._data = out
    t._dtype = dtype = _from_np[out.dtype]
    t._device = dev
    if node is not None and dtype.category >= 2:  # floating or complex: differentiable
        t._requires_grad = True
        t.grad_fn = node
    else:
        t._requires_grad = False
        t.grad_fn = None
    t._version = [0]
    return t


def _wrap(out, dev, node, nr, prim, inputs):
    if isinstance(out, _generic):
        out = np.asarray(out)
    if dev is _META:
        out = meta.asarray(out)
    dtype = _from_np[out.dtype]
    if node is not None and dtype.category < 2:
        node = None
    base = None
    if prim.view:
        base = inputs[0]._base if inputs[0]._base is not None else inputs[0]
        if node is not None:
            t = Tensor._make(out, dtype, dev, True, node, nr, base)
            t._view_version = base._version[0]  # its grad_fn is stale once the memory changes
            return t
    return Tensor._make(out, dtype, dev, node is not None, node, nr, base)


def _refresh_view(x):
    """A recorded view whose memory changed in place since it was made gets a
    grad_fn that reads its base's current history."""
    made = getattr(x, "_view_version", None)
    if made is not None and made != x._version[0]:
        regenerate_view(x)


# ``ember.ops.dual`` sets this when it loads: the forward-mode half of ``run``, which runs ``run``.
dual_run = None


# ``ember.ops.inplace`` sets this when it loads: rebuilding a view's history runs primitives
# declared with this module, so that module sits above this one and plugs its function in.
regenerate_view = None


# type promotion: the one home of PyTorch's rules -----------------------------------------

def _scalar_dtype(tensor_dtype, s):
    """The dtype after a Python scalar ``s`` joins operands of ``tensor_dtype``: it only
    matters when its category (bool < int < float) is higher (the binary ops' hot case)."""
    if tensor_dtype.category >= 2 and (type(s) is float or type(s) is int):
        return tensor_dtype
    if isinstance(s, complex):
        return tensor_dtype if tensor_dtype.category == 3 else (
            tensor_dtype if tensor_dtype.category == 2 else get_default_dtype()).to_complex()
    if isinstance(s, float):
        return tensor_dtype if tensor_dtype.is_floating_point else get_default_dtype()
    if isinstance(s, bool):
        return tensor_dtype
    if isinstance(s, int):
        return tensor_dtype if tensor_dtype.category >= 1 else int64
    raise TypeError(f"expected a Tensor or a Python number, got {type(s).__name__}")


def result_type(*operands):
    """The dtype PyTorch computes operands (tensors, Python scalars; None skipped) in:
    ``ember.result_type(x, 0.5)``.

    Dimensioned tensors rank above 0-d tensors, which rank above Python scalars; a
    lower-ranked operand only changes the result when its category is higher.
    """
    dims = zero = None
    scalars = []
    for x in operands:
        if isinstance(x, Tensor):
            if x._data.ndim:
                dims = x._dtype if dims is None else PROMOTE[dims, x._dtype]
            else:
                zero = x._dtype if zero is None else PROMOTE[zero, x._dtype]
        elif x is not None:
            scalars.append(x)
    if dims is None or zero is None:
        dtype = dims or zero
    else:
        dtype = zero if zero.category > dims.category else dims
    for s in scalars:  # with no tensor, the first scalar's own dtype (bool joined by s) starts the fold
        dtype = _scalar_dtype(bool_ if dtype is None else dtype, s)
    return dtype


def binary(prim, a, b, float_result=False, **params):
    """Promote two operands (tensors or Python scalars) to their common dtype and run ``prim``."""
    if isinstance(a, Tensor):
        x, dev = a._data, a._device
        if isinstance(b, Tensor):
            y = b._data
            if b._device is not dev:
                if y.ndim != 0:
                    raise device_mismatch(prim.name, dev, b._device)
                y = xp_of(dev).asarray(y)  # a 0-d CPU tensor may join a GPU op, as in PyTorch
            if a._dtype is b._dtype and (a._dtype.is_floating_point or not float_result):
                return run(prim, (a, b), (x, y), dev, params)  # nothing to promote
            dtype = result_type(a, b)
        else:
            if isinstance(b, np.ndarray):  # an array operand joins as the CPU tensor it would make
                return binary(prim, a, _array_tensor(b), float_result, **params)
            y = b
            dtype = _scalar_dtype(a._dtype, b)
    elif isinstance(b, Tensor):
        if isinstance(a, np.ndarray):
            return binary(prim, _array_tensor(a), b, float_result, **params)
        x, y, dev = a, b._data, b._device
        dtype = _scalar_dtype(b._dtype, a)
    else:
        raise TypeError(f"{prim.name}(): expected at least one Tensor argument, "
                        f"got {type(a).__name__} and {type(b).__name__}")
    if float_result and dtype.category < 2:
        dtype = get_default_dtype()
    np_dtype = dtype.np
    if hasattr(x, "dtype") and x.dtype is not np_dtype and x.dtype != np_dtype:
        x = x.astype(np_dtype)
    if hasattr(y, "dtype") and y.dtype is not np_dtype and y.dtype != np_dtype:
        y = y.astype(np_dtype)
    return run(prim, (a, b), (x, y), dev, params)


def _array_tensor(array):
    return Tensor._make(array, from_numpy_dtype(array.dtype), CPU)
