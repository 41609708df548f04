"""Custom ops: a user function made into an op that behaves like a built-in one.

A ``CustomOpDef`` wraps one dispatcher record (a ``Primitive`` kept in ``registry.CUSTOM_OPS``) named
``<namespace>.<name>``: its tensor arguments are the record's inputs, its other arguments the record's
parameters. So a call is one dispatcher call: autograd records one node (whose derivative runs the
backward given to ``register_autograd``), graph capture records one ``ops.<namespace>.<name>`` call
that replays and saves like any op (in a process where the op is registered; a capture also checks
the fake function against the kernel), and on the meta device the ``register_fake`` function computes
the result's shape and dtype. ``ember.ops.<namespace>.<name>`` is the op, as ``torch.ops.<ns>.<name>``.
"""
import numpy as np

from ember._tensor import Tensor
from ember.autograd.grad_mode import no_grad
from ember.backend import CPU, device, from_numpy_dtype, meta
from ember.creation import zeros_like
from ember.library.contexts import BackwardContext, in_fake_context
from ember.library.namespaces import namespace, split_qualname
from ember.library.schema import parse_schema, schema_from_function
from ember.ops import dispatch
from ember.ops.dispatch import PRIMITIVES, Primitive
from ember.ops.registry import CUSTOM_OPS, NAMESPACES

_META = device("meta")
_ABSENT, _SINGLE = -1, -2  # tensor-slot codes; n >= 0 is a list of n tensors


class CustomRecord(Primitive):
    """A custom op's dispatcher record: a ``Primitive`` kept in ``registry.CUSTOM_OPS`` under
    ``"namespace.name"`` rather than among the built-in records (a later definition replaces it)."""

    __slots__ = ()

    def __init__(self, forward, node_name, name):
        super().__init__(forward, node_name, save=True, save_output=True, name=name)
        del PRIMITIVES[name]  # registered by Primitive.__init__; custom ops live apart from the built-ins
        CUSTOM_OPS[name] = self


class CustomOpDef:
    """A custom op: call it like a function (or as ``ember.ops.<ns>.<name>``), add kernels, a fake
    (shape) function and an autograd formula with the ``register_*`` methods."""

    def __init__(self, namespace_name, name, schema, fn=None, device_types=None, replace=True):
        self._namespace, self._name, self._schema = namespace_name, name, schema
        self._qualname = f"{namespace_name}::{name}"
        self._signature = schema.signature()
        self._kernels = {}  # device type ("cpu", "cuda"; None: any) -> function on tensors
        self._fake = self._backward = self._setup_context = self._vmap = None
        self._autocast = {}
        self._composite = None  # a function run directly on tensors (Library.impl "CompositeImplicitAutograd")
        key = f"{namespace_name}.{name}"
        if key in CUSTOM_OPS and not replace:
            raise RuntimeError(f"Tried to register an operator ({self._qualname}{schema}) with the same name "
                               "multiple times: it is already defined")
        self._prim = CustomRecord(self._forward, f"GeneratedBackwardFor_{namespace_name}_{name}_defaultBackward", key)
        self._prim.derivative(self._derivative)
        namespace(namespace_name)._ops[name] = self
        if fn is not None:
            self.register_kernel(device_types, fn)
        self.__doc__ = getattr(fn, "__doc__", None)

    # the public face -------------------------------------------------------------------------
    @property
    def default(self):
        """The op's only overload (PyTorch's ``torch.ops.ns.name.default``): the op itself."""
        return self

    @property
    def name(self):
        return self._qualname

    @property
    def schema(self):
        return str(self._schema)

    def __repr__(self):
        return f"<CustomOpDef({self._qualname})>"

    def register_kernel(self, device_types, fn=None):
        """Use ``fn`` for tensors on ``device_types`` ("cpu", "cuda", a list; None: every device)."""
        def register(fn):
            types = [None] if device_types is None else [device_types] if isinstance(device_types, str) else list(
                device_types)
            for t in types:
                if t is not None and device(t).type not in ("cpu", "cuda"):
                    raise ValueError(f"{self._qualname}: register_kernel expects 'cpu' or 'cuda', got {t!r}")
                self._kernels[None if t is None else device(t).type] = fn
            return fn
        return register(fn) if fn is not None else register

    def register_fake(self, fn=None, *, allow_override=True):
        """The op's shape/dtype function: called with meta tensors, it returns meta tensors of the
        result's shapes and dtypes (``ember.empty_like(x)``). Used on the meta device and by ``opcheck``."""
        def register(fn):
            if self._fake is not None and not allow_override:
                raise RuntimeError(f"{self._qualname} already has a fake implementation")
            self._fake = fn
            return fn
        return register(fn) if fn is not None else register

    def register_autograd(self, backward, /, *, setup_context=None):
        """``backward(ctx, *grads)`` returns one gradient per argument (None for non-tensors);
        ``setup_context(ctx, inputs, output)`` saves what it needs (``ctx.save_for_backward``)."""
        if not self._schema.is_functional:
            raise RuntimeError(f"Cannot register autograd formula for non-functional operator {self!r} with schema "
                               f"{self._qualname}{self._schema}. Please create a functional operator and register "
                               "an autograd formula for that.")
        if not callable(backward) or (setup_context is not None and not callable(setup_context)):
            raise TypeError(f"{self._qualname}: register_autograd expects callables")
        self._backward, self._setup_context = backward, setup_context

    def register_vmap(self, fn=None):
        """Record a batching rule ``fn(info, in_dims, *args) -> (outputs, out_dims)`` for ``vmap``."""
        def register(fn):
            self._vmap = fn
            return fn
        return register(fn) if fn is not None else register

    def register_autocast(self, device_type, cast_inputs):
        """Cast floating tensor arguments to ``cast_inputs`` when an autocast region of ``device_type``
        is active (recorded; applied by an autocast implementation)."""
        self._autocast[device(device_type).type] = cast_inputs

    def remove(self):
        """Forget the op (its name becomes free; graphs that call it no longer load)."""
        if CUSTOM_OPS.get(self._prim.name) is self._prim:
            del CUSTOM_OPS[self._prim.name]
        ns = NAMESPACES.get(self._namespace)
        if ns is not None and ns._ops.get(self._name) is self:
            del ns._ops[self._name]

    # calling -----------------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        try:
            bound = self._signature.bind(*args, **kwargs)
        except TypeError as e:
            raise TypeError(f"{self._qualname}(): {e}. Declaration: {self._qualname}{self._schema}") from None
        bound.apply_defaults()
        values = bound.arguments
        if self._composite is not None:
            return self._composite(*args, **kwargs)
        inputs, params, slots = [], {}, []
        for a in self._schema.arguments:
            v = values[a.name]
            if not a.is_tensor:
                params[a.name] = list(v) if isinstance(v, tuple) else v
                continue
            if v is None and a.type.startswith("Tensor?"):
                slots.append(_ABSENT)
            elif a.type.endswith("[]"):
                if not isinstance(v, (list, tuple)) or not all(isinstance(t, Tensor) for t in v):
                    raise TypeError(f"{self._qualname}(): argument '{a.name}' must be a list of Tensors")
                inputs.extend(v)
                slots.append(len(v))
            elif isinstance(v, Tensor):
                inputs.append(v)
                slots.append(_SINGLE)
            else:
                raise TypeError(f"{self._qualname}(): argument '{a.name}' must be Tensor, not {type(v).__name__}. "
                                f"Declaration: {self._qualname}{self._schema}")
        if any(s != _SINGLE for s in slots):  # recorded only where the layout isn't one tensor per argument
            params["_tensor_slots"] = slots
        if not inputs:  # nothing for the dispatcher to follow: run the CPU kernel directly
            args, kw = _call_args(self._schema, values)
            with no_grad():
                return self._kernel(CPU)(*args, **kw)
        if self._schema.mutated and dispatch.observer is not None:
            dispatch.observer.report(f"custom op {self._qualname} writes its argument(s) {self._schema.mutated}; "
                                     "a captured graph can't replay that write")
        out = dispatch.apply(self._prim, inputs, params)
        if dispatch.observer is not None and self._fake is not None:
            self._check_fake(values, out)
        for a, v in zip(self._schema.arguments, (values[a.name] for a in self._schema.arguments)):
            if a.mutable and v is not None:
                for t in (v if isinstance(v, (list, tuple)) else (v,)):
                    t._version[0] += 1
        returns = self._schema.returns
        if not returns:
            return None
        if returns == ["Tensor[]"]:
            return list(out)
        return out

    def _check_fake(self, values, out):
        """While a graph is captured, the fake function must agree with the kernel on the result's shapes
        and dtypes (the captured program runs it on the meta device): a mismatch is reported like any
        other capture problem (an ExportError in strict export, a warning in tracing)."""
        observer, dispatch.observer = dispatch.observer, None  # the fake's own ops are not part of the graph
        try:
            meta_values = {k: _to_meta(v) for k, v in values.items()}
            args, kwargs = _call_args(self._schema, meta_values)
            with no_grad():
                fake = in_fake_context(self._fake)(*args, **kwargs)
        finally:
            dispatch.observer = observer
        real = out if isinstance(out, tuple) else (out,)
        fake = tuple(fake) if isinstance(fake, (tuple, list)) else (fake,)
        for i, (r, f) in enumerate(zip(real, fake)):
            if not isinstance(f, Tensor) or tuple(f.shape) != tuple(r.shape) or f.dtype is not r.dtype:
                got = f"{f.dtype.name}{list(f.shape)}" if isinstance(f, Tensor) else type(f).__name__
                observer.report(f"custom op {self._qualname}: its fake function gives {got} for output {i}, the "
                                f"kernel {r.dtype.name}{list(r.shape)}; fix the register_fake function")
        if len(real) != len(fake):
            observer.report(f"custom op {self._qualname}: its fake function returns {len(fake)} tensors, the "
                            f"kernel {len(real)}")

    def _kernel(self, dev):
        fn = self._kernels.get(dev.type, self._kernels.get(None))
        if fn is None:
            have = sorted({"CPU" if k == "cpu" else "CUDA" if k == "cuda" else "every device"
                           for k in self._kernels} | ({"Meta"} if self._fake else set()))
            raise NotImplementedError(f"Could not run '{self._qualname}' with arguments from the "
                                      f"'{dev.type.upper()}' backend: it has no kernel for {dev.type} tensors "
                                      f"(kernels: {have or 'none'}; add one with register_kernel)")
        return fn

    def _forward(self, ctx, xp, *arrays, _tensor_slots=None, **params):
        dev = _device_of(xp, arrays)
        if _tensor_slots is None:  # every tensor argument is one tensor
            _tensor_slots = [_SINGLE] * len(arrays)
        schema = self._schema
        values, i = dict(params), 0
        for a, slot in zip((a for a in schema.arguments if a.is_tensor), _tensor_slots):
            if slot == _ABSENT:
                values[a.name] = None
                continue
            n = 1 if slot == _SINGLE else slot
            ts = [_as_tensor(arr, dev, writable=a.mutable) for arr in arrays[i:i + n]]
            values[a.name] = ts[0] if slot == _SINGLE else ts
            i += n
        if dev == _META:
            if self._fake is None:
                raise RuntimeError(f"There was no fake impl registered for {self!r}. This is necessary for the meta "
                                   f"device, export and opcheck to work. Please use "
                                   f"`{self._name}.register_fake` to add a fake impl.")
            fn = in_fake_context(self._fake)
        else:
            fn = self._kernel(dev)
        args, kwargs = _call_args(schema, values)
        with no_grad():
            try:
                out = fn(*args, **kwargs)
            except (ValueError, RuntimeError) as e:  # NumPy's (or ember's in-place check's) read-only write
                if "read-only" in str(e):
                    raise RuntimeError(f"{self._qualname}: the kernel wrote into an argument that is not declared "
                                       f"in mutates_args (declared: {schema.mutated or 'none'}); declare it, or "
                                       "write into a new tensor") from None
                raise
        ctx.params, ctx.slots = params, _tensor_slots
        return self._result_arrays(out, arrays)

    def _result_arrays(self, out, arrays):
        returns = self._schema.returns
        outs = () if not returns else tuple(out) if (returns == ["Tensor[]"] or len(returns) > 1) else (out,)
        if not returns and out is not None:
            raise RuntimeError(f"{self._qualname}: the schema returns nothing but the kernel returned "
                               f"{type(out).__name__}")
        if len(returns) > 1 and len(outs) != len(returns):
            raise RuntimeError(f"{self._qualname}: the schema returns {len(returns)} tensors, the kernel {len(outs)}")
        roots = {id(_root(a)) for a in arrays}
        result = []
        for k, o in enumerate(outs):
            if not isinstance(o, Tensor):
                raise RuntimeError(f"{self._qualname}: output {k} of the kernel is {type(o).__name__}, "
                                   "expected a Tensor")
            if id(_root(o._data)) in roots or any(_root(o._data) is _root(r) for r in result):
                raise RuntimeError(f"{self._qualname}: The output of this custom operator (1) must not also be an "
                                   "input to this custom operator and (2) may not alias any inputs to this custom "
                                   "operator or other returns. Please instead return a clone of the offending "
                                   "output tensor(s) (e.g. return x.clone()).")
            result.append(o._data)
        if returns == ["Tensor"]:
            return result[0]
        return tuple(result)

    # autograd ----------------------------------------------------------------------------------
    def _derivative(self, node, *grads):
        if self._backward is None:
            raise RuntimeError(f"Trying to backward through {self._namespace}.{self._name}.default but no autograd "
                               "formula was registered. Please use register_autograd to add one.")
        saved = node.saved_tensors
        n_in = len(node.next_functions)
        flat_in, outs = saved[:n_in], saved[n_in:]
        needs = node.needs_input_grad
        values, needs_by_arg, i = dict(node.params), [], 0
        for a, slot in zip(self._schema.arguments, _slots_by_arg(self._schema, node.slots)):
            if not a.is_tensor:
                needs_by_arg.append(False)
                continue
            if slot == _ABSENT:
                values[a.name] = None
                needs_by_arg.append(False)
                continue
            n = 1 if slot == _SINGLE else slot
            values[a.name] = flat_in[i] if slot == _SINGLE else list(flat_in[i:i + n])
            needs_by_arg.append(any(needs[i:i + n]))
            i += n
        inputs = tuple(values[a.name] for a in self._schema.arguments)
        returns = self._schema.returns
        output = outs[0] if returns == ["Tensor"] else list(outs) if returns == ["Tensor[]"] else tuple(outs)
        ctx = BackwardContext(tuple(needs_by_arg))
        if self._setup_context is not None:
            self._setup_context(ctx, inputs, output)
        grads = tuple(zeros_like(o) if g is None else g for g, o in zip(grads, outs))
        result = self._backward(ctx, *grads) if returns != ["Tensor[]"] else self._backward(ctx, list(grads))
        if not isinstance(result, (tuple, list)) or len(self._schema.arguments) == 1 and isinstance(result, list):
            result = (result,)
        if len(result) != len(self._schema.arguments):
            raise RuntimeError(f"{self._qualname}: the backward returned {len(result)} gradients, expected one per "
                               f"argument of {self._qualname}{self._schema} ({len(self._schema.arguments)}; None for "
                               "non-tensor arguments)")
        flat = []
        for a, g, slot in zip(self._schema.arguments, result, _slots_by_arg(self._schema, node.slots)):
            if not a.is_tensor:
                if g is not None:
                    raise RuntimeError(f"{self._qualname}: the backward returned a gradient for the non-tensor "
                                       f"argument '{a.name}'; return None there")
            elif slot == _SINGLE:
                flat.append(g)
            elif slot >= 0:
                flat.extend([None] * slot if g is None else g)
        return tuple(flat)


def _slots_by_arg(schema, slots):
    it = iter(slots)
    return [next(it) if a.is_tensor else None for a in schema.arguments]


def _call_args(schema, values):
    """The kernel's positional and keyword arguments, in the schema's order."""
    args = [values[a.name] for a in schema.arguments if not a.kwarg_only]
    kwargs = {a.name: values[a.name] for a in schema.arguments if a.kwarg_only}
    return args, kwargs


def _as_tensor(array, dev, writable):
    if not writable and isinstance(array, np.ndarray) and array.flags.writeable and dev is CPU:
        array = array.view()
        array.flags.writeable = False
    return Tensor._make(array, from_numpy_dtype(array.dtype), dev)


def _to_meta(value):
    """A meta tensor like ``value`` (made without running an op), or ``value`` itself if not a tensor."""
    if isinstance(value, Tensor):
        return Tensor._make(meta.stand_in(value.shape, value.dtype.np), value.dtype, _META)
    if isinstance(value, (list, tuple)):
        return type(value)(_to_meta(v) for v in value)
    return value


def _device_of(xp, arrays):
    if xp is np:
        return CPU
    if xp is meta:
        return _META
    return device("cuda", getattr(getattr(arrays[0], "device", None), "id", 0))


def _root(a):
    while getattr(a, "base", None) is not None:
        a = a.base
    return a


def define_op(qualname, schema_text, *, replace=False):
    """The op ``qualname`` with the schema ``"(Tensor x) -> Tensor"`` (no kernel yet)."""
    ns, name = split_qualname(qualname)
    given, schema = parse_schema(schema_text if "(" in schema_text.split("->")[0] else f"({schema_text})")
    return CustomOpDef(ns, name, schema, None, replace=replace)


def custom_op(name, fn=None, /, *, mutates_args, device_types=None, schema=None):
    """Make ``fn`` (type-annotated) the op ``name`` (``"mylib::swish"``); a decorator without ``fn``.

    >>> @custom_op("mylib::scale", mutates_args=())
    ... def scale(x: ember.Tensor, k: float) -> ember.Tensor:
    ...     return x * k
    >>> ember.ops.mylib.scale(ember.ones(2), 3.0)
    tensor([3., 3.])
    """
    def make(fn):
        ns, op_name = split_qualname(name)
        op_schema = parse_schema(schema)[1] if schema is not None else schema_from_function(fn, mutates_args)
        return CustomOpDef(ns, op_name, op_schema, fn, device_types)
    return make(fn) if fn is not None else make


def lookup_op(op):
    """The CustomOpDef of ``op`` (itself, or its name ``"ns::name"``)."""
    if isinstance(op, CustomOpDef):
        return op
    if isinstance(op, str):
        ns, name = op.split("::") if op.count("::") == 1 else (None, None)
        found = NAMESPACES.get(ns)
        if found is not None and name in found._ops:
            return found._ops[name]
        raise ValueError(f"unknown op {op!r}: define it first (ember.library.custom_op or Library.define)")
    raise TypeError(f"expected a custom op or its name 'ns::name', got {type(op).__name__}")
