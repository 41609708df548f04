"""Activation checkpointing, as ``torch.utils.checkpoint``: trade compute for memory.

``checkpoint(fn, *args)`` runs ``fn`` without recording its graph (its intermediate activations
are freed as soon as the forward moves on) and runs it again, with recording, when the backward
needs its gradients. The random state (dropout) and the autocast state of the first run are
restored for the second, so the two runs compute the same values.

- ``use_reentrant=True``: PyTorch's original form, an ``autograd.Function`` (``CheckpointFunction``)
  whose backward recomputes and runs a nested backward; gradients reach the tensor arguments
  and, by accumulation, the parameters ``fn`` uses. Works with ``.backward()`` only.
- ``use_reentrant=False``: while the first run goes, a dispatcher interceptor notes every tensor
  that requires grad and reaches an op (arguments, parameters, captured tensors); the node it
  builds points at all of them. The backward recomputes with each of them replaced by a detached
  alias and asks the engine for the aliases' gradients, so ``ember.autograd.grad``, keyword
  arguments and ``context_fn`` work too.

>>> y = checkpoint(block, x, use_reentrant=False)   # doctest: +SKIP
"""
import contextlib
import warnings

from ember._tensor import Tensor
from ember.amp import autocast_mode
from ember.autograd import grad_mode
from ember.autograd.engine import run_backward
from ember.autograd.function import Function
from ember.ops import dispatch
from ember.random import get_rng_state, set_rng_state
from ember.utils.selective_checkpoint import (
    SAC_IGNORED_OPS, CheckpointPolicy, SelectiveCheckpointContext, create_selective_checkpoint_contexts,
)

__all__ = [
    "SAC_IGNORED_OPS", "CheckpointError", "CheckpointFunction", "CheckpointPolicy", "DefaultDeviceType",
    "GraphExecGroup", "SelectiveCheckpointContext", "check_backward_validity", "checkpoint", "checkpoint_sequential",
    "create_selective_checkpoint_contexts", "detach_variable", "get_device_states", "noop_context_fn",
    "set_checkpoint_debug_enabled", "set_checkpoint_early_stop", "set_device_states",
]

_debug_override = [None]
_early_stop = [True]
_groups = []  # the GraphExecGroup blocks entered, innermost last


class CheckpointError(RuntimeError):
    """The recomputation did not match the first run (shapes, dtypes or the ops that ran)."""


class DefaultDeviceType:
    """The device type whose random state checkpoint saves (ember draws every device's numbers on the host)."""

    _default_device_type = "cuda"

    @staticmethod
    def set_device_type(device="cuda"):
        DefaultDeviceType._default_device_type = device

    @staticmethod
    def get_device_type():
        return DefaultDeviceType._default_device_type


def noop_context_fn():
    """The default ``context_fn``: no context around either run."""
    return contextlib.nullcontext(), contextlib.nullcontext()


def detach_variable(inputs):
    """Detached copies of a tuple of tensors, each requiring grad as its original did."""
    if not isinstance(inputs, tuple):
        raise RuntimeError(f"Only tuple of tensors is supported. Got Unsupported input type: {type(inputs).__name__}")
    out = []
    for x in inputs:
        if not isinstance(x, Tensor):
            out.append(x)
            continue
        d = x.detach()
        d.requires_grad = x.requires_grad
        out.append(d)
    return tuple(out)


def check_backward_validity(inputs):
    if not any(isinstance(x, Tensor) and x.requires_grad for x in inputs):
        warnings.warn("None of the inputs have requires_grad=True. Gradients will be None", stacklevel=3)


def get_device_states(*args):
    """The GPU devices among ``args`` and the random state each draws from (ember's host generator)."""
    devices = sorted({x.device.index or 0 for x in args if isinstance(x, Tensor) and x.device.type == "cuda"})
    return devices, [get_rng_state() for _ in devices]


def set_device_states(devices, states, *, device_type=None):
    """Restore states from ``get_device_states`` (all of them are the one host generator's)."""
    for state in states[:1]:
        set_rng_state(state)


@contextlib.contextmanager
def set_checkpoint_debug_enabled(enabled):
    """Within the block, every checkpoint's ``debug`` is ``enabled`` (None: each call's own flag)."""
    previous = _debug_override[0]
    _debug_override[0] = enabled
    try:
        yield
    finally:
        _debug_override[0] = previous


@contextlib.contextmanager
def set_checkpoint_early_stop(enable):
    """Within the block, whether a recomputation may stop once it has what the backward needs (default True).

    ember's recomputation always runs the checkpointed function to its end, because the backward asks for the
    gradients of its outputs; the flag is kept (``_early_stop``) so code that sets it runs unchanged."""
    previous = _early_stop[0]
    _early_stop[0] = bool(enable)
    try:
        yield
    finally:
        _early_stop[0] = previous


class GraphExecGroup:
    """Backward calls inside one block recompute each non-reentrant checkpoint at most once: the first
    keeps the recomputed graph, later ones (over other parts of it) reuse it. No effect on use_reentrant=True."""

    def __init__(self):
        self._recomputed = {}  # id(checkpoint state) -> (state, outputs, aliases)

    def __enter__(self):
        _groups.append(self)
        return self

    def __exit__(self, *exc):
        _groups.remove(self)
        self._recomputed.clear()
        return False


def _autocast_state():
    return [(d, autocast_mode.is_autocast_enabled(d), autocast_mode.get_autocast_dtype(d))
            for d in autocast_mode.DEVICE_TYPES]


@contextlib.contextmanager
def _replay(rng_state, autocast_state):
    """The random and autocast state of the first run, for the recomputation."""
    saved = get_rng_state() if rng_state is not None else None
    with contextlib.ExitStack() as stack:
        if rng_state is not None:
            set_rng_state(rng_state)
        for device, enabled, dtype in autocast_state:
            if enabled:
                stack.enter_context(autocast_mode.autocast(device, dtype=dtype))
        try:
            yield
        finally:
            if saved is not None:
                set_rng_state(saved)


class CheckpointFunction(Function):
    """The reentrant checkpoint: ``CheckpointFunction.apply(fn, preserve_rng_state, *args)``."""

    @staticmethod
    def forward(ctx, run_function, preserve_rng_state, *args):
        check_backward_validity(args)
        ctx.run_function = run_function
        ctx.rng_state = get_rng_state() if preserve_rng_state else None
        ctx.autocast_state = _autocast_state()
        ctx.inputs = [None if isinstance(a, Tensor) else a for a in args]
        ctx.tensor_indices = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx.save_for_backward(*(a for a in args if isinstance(a, Tensor)))
        return run_function(*args)

    @staticmethod
    def backward(ctx, *grads):
        inputs = list(ctx.inputs)
        for i, t in zip(ctx.tensor_indices, detach_variable(ctx.saved_tensors)):
            inputs[i] = t
        with _replay(ctx.rng_state, ctx.autocast_state), grad_mode.enable_grad():
            outputs = ctx.run_function(*inputs)
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        pairs = [(o, g) for o, g in zip(outputs, grads)
                 if isinstance(o, Tensor) and o.requires_grad and g is not None]
        if not pairs:
            raise RuntimeError("none of output has requires_grad=True, this checkpoint() is not necessary")
        run_backward([o for o, _ in pairs], [g for _, g in pairs], retain_graph=False, create_graph=False)
        return (None, None, *(x.grad if isinstance(x, Tensor) else None for x in inputs))


def checkpoint(function, *args, use_reentrant=None, context_fn=noop_context_fn, determinism_check="default",
               debug=False, preserve_rng_state=True, **kwargs):
    """Run ``function(*args, **kwargs)`` without keeping its activations; recompute them for backward."""
    if use_reentrant is None:
        warnings.warn("ember.utils.checkpoint: the use_reentrant parameter should be passed explicitly. "
                      "use_reentrant=False is recommended; without it ember runs use_reentrant=True, as PyTorch "
                      "does.", stacklevel=2)
        use_reentrant = True
    if determinism_check not in ("default", "none"):
        raise ValueError(f"determinism_check should be one of ['default', 'none'], but got {determinism_check}")
    debug = debug if _debug_override[0] is None else _debug_override[0]
    if use_reentrant:
        if context_fn is not noop_context_fn or debug:
            raise ValueError("Passing `context_fn` or `debug` is only supported when use_reentrant=False.")
        if kwargs:
            raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
        return CheckpointFunction.apply(function, preserve_rng_state, *args)
    return _checkpoint_without_reentrant(function, args, kwargs, context_fn, determinism_check, debug,
                                         preserve_rng_state)


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Split ``functions`` (a Sequential or list of modules) into ``segments`` runs and checkpoint
    each but the last: ``checkpoint_sequential(model, 2, x, use_reentrant=False)``."""
    if use_reentrant is None:
        warnings.warn("ember.utils.checkpoint.checkpoint_sequential: the use_reentrant parameter should be passed "
                      "explicitly; without it ember runs use_reentrant=True, as PyTorch does.", stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    if hasattr(functions, "children") and not isinstance(functions, (list, tuple)):
        functions = list(functions.children())
    if segments <= 0:
        raise ValueError(f"checkpoint_sequential: segments must be positive, got {segments}")
    size = len(functions) // segments
    if size == 0:
        raise ValueError(f"checkpoint_sequential: {segments} segments for {len(functions)} functions")

    def run(start, end):
        def forward(x):
            for f in functions[start:end + 1]:
                x = f(x)
            return x
        return forward

    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run(start, end), input, use_reentrant=use_reentrant, preserve_rng_state=preserve)
    return run(end + 1, len(functions) - 1)(input)


# the non-reentrant form ---------------------------------------------------------------------------

_origins = {}  # id(alias) -> the tensor it stands for, while an outer checkpoint recomputes


class _Boundary:
    """Notes the tensors that require grad and reach an op during the unrecorded first run, and
    the names of the ops (for ``debug``). A tensor that is an outer checkpoint's alias is also
    known by its original's id: the recomputation, run later, sees the original."""

    def __init__(self, debug):
        self.tensors, self.keys, self.ids, self.ops = [], [], set(), [] if debug else None

    def wrap(self, next_run):
        def run(prim, inputs, arrays, dev, params):
            for x in inputs:
                if getattr(x, "_requires_grad", False) and id(x) not in self.ids:
                    self.ids.add(id(x))
                    self.tensors.append(x)
                    keys, t = [id(x)], x
                    while id(t) in _origins:
                        t = _origins[id(t)]
                        keys.append(id(t))
                    self.keys.append(keys)
            if self.ops is not None:
                self.ops.append(prim.name)
            return next_run(prim, inputs, arrays, dev, params)
        return run


class _Substitute:
    """Replaces each boundary tensor by its detached alias in the recomputation's ops."""

    def __init__(self, aliases, debug):
        self.aliases, self.ops = aliases, [] if debug else None

    def wrap(self, next_run):
        def run(prim, inputs, arrays, dev, params):
            if self.ops is not None:
                self.ops.append(prim.name)
            if any(id(x) in self.aliases for x in inputs):
                inputs = tuple(self.aliases.get(id(x), x) for x in inputs)
            return next_run(prim, inputs, arrays, dev, params)
        return run


@contextlib.contextmanager
def _intercepting(wrap):
    name = f"_checkpoint{len([k for k in dispatch._interceptors if k.startswith('_checkpoint')]):03d}"
    dispatch.intercept(name, wrap)
    try:
        yield
    finally:
        dispatch.intercept(name, None)


class _Recompute(Function):
    """The node of one non-reentrant checkpoint: its inputs are the boundary tensors."""

    @staticmethod
    def forward(ctx, state, outputs, *boundary):
        ctx.state = state
        return tuple(outputs)

    @staticmethod
    def backward(ctx, *grads):
        st = ctx.state
        group = _groups[-1] if _groups else None
        if group is not None and id(st) in group._recomputed:
            outputs, targets = group._recomputed[id(st)][1:]
        else:
            outputs, targets = _recompute(st)
            if group is not None:
                group._recomputed[id(st)] = (st, outputs, targets)
        pairs = [(o, g) for o, g in zip(outputs, grads)
                 if isinstance(o, Tensor) and o.requires_grad and g is not None]
        if not pairs:
            return (None, None, *(None for _ in st["boundary"]))
        got = run_backward([o for o, _ in pairs], [g for _, g in pairs], retain_graph=group is not None,
                           create_graph=grad_mode.is_grad_enabled(), inputs=targets, accumulate=False)
        return (None, None, *got)


def _recompute(st):
    fn, args, kwargs, boundary, first_ops = st["fn"], st["args"], st["kwargs"], st["boundary"], st["ops"]
    targets = [detach_variable((t,))[0] for t in boundary]
    aliases = {k: a for a, keys in zip(targets, st["keys"]) for k in keys}
    substitute = _Substitute(aliases, first_ops is not None)
    for a, t in zip(targets, boundary):
        _origins[id(a)] = t
    try:
        with _replay(st["rng"], st["autocast"]), st["recompute_ctx"], grad_mode.enable_grad(), \
                _intercepting(substitute.wrap):
            outputs = _as_tuple(fn(*args, **kwargs))
    finally:
        for a in targets:
            del _origins[id(a)]
    if st["check"]:
        _check_same(st["meta"], outputs, first_ops, substitute.ops)
    return outputs, targets


def _as_tuple(out):
    return out if isinstance(out, tuple) else (out,)


def _meta(outputs):
    return [(tuple(o.shape), o.dtype) if isinstance(o, Tensor) else None for o in outputs]


def _check_same(meta, outputs, first_ops, again_ops):
    if _meta(outputs) != meta:
        message = ("torch.utils.checkpoint: Recomputed values for the following tensors have different metadata "
                   f"than during the forward pass.\noriginal (shape, dtype): {meta}\nrecomputed: {_meta(outputs)}")
        if first_ops is not None:
            message += f"\nops in the first run: {first_ops}\nops in the recomputation: {again_ops}"
        else:
            message += "\nPass debug=True to checkpoint() to see the ops that ran in each."
        raise CheckpointError(message)


def _checkpoint_without_reentrant(fn, args, kwargs, context_fn, determinism_check, debug, preserve_rng_state):
    forward_ctx, recompute_ctx = context_fn()
    rng = get_rng_state() if preserve_rng_state else None
    autocast_state = _autocast_state()
    boundary = _Boundary(debug)
    with forward_ctx, grad_mode.no_grad(), _intercepting(boundary.wrap):
        out = fn(*args, **kwargs)
    if not grad_mode.is_grad_enabled() or not boundary.tensors:
        return out
    outputs = _as_tuple(out)
    state = {"fn": fn, "args": args, "kwargs": kwargs, "boundary": boundary.tensors, "keys": boundary.keys,
             "ops": boundary.ops,
             "rng": rng, "autocast": autocast_state, "recompute_ctx": recompute_ctx,
             "check": determinism_check == "default", "meta": _meta(outputs)}
    wired = _Recompute.apply(state, outputs, *boundary.tensors)
    return wired if isinstance(out, tuple) else wired[0]
