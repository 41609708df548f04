"""A compiled function: guards -> cached graph, graph breaks -> eager, the recompile limit.

Each call computes its guard key (``guards.call_key``); a hit runs the cached graph through
its backend. A miss captures the function again (``tracer.capture_for_compile``) and compiles
the graph. A capture that breaks because Python needs a computed value (a branch on a tensor,
``.item()``, an index tensor, ``backward()``) or calls a function in ``ember.compiler.disable``
runs that call, and every later call with the same guards, as compiled segments between those
points (``segments.py``). Any other break (an in-place write into an input, grad mode turned on
inside a no-grad call) runs the function's Python as written: a module's direct children then run
through their own compiled functions, so the work below the break stays compiled.
"""
import functools
import types
import warnings
import weakref

from ember.autograd import grad_mode
from ember.compiler import config
from ember.compiler.backends import lookup_backend
from ember.compiler.segments import SegmentTree, run_segmented
from ember.compiler.guards import Unguardable, call_key, describe_miss, without_shapes
from ember.compiler.tracer import GraphBreak, Session, capture_for_compile
from ember.export.passes import eliminate_dead_code, fold_constants
from ember.export.program import flatten_inputs
from ember.nn.modules.module import Module
from ember.ops import dispatch

MODES = (None, "default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
STANCES = ("default", "force_eager", "eager_on_recompile", "fail_on_recompile")
_stance = ["default"]
_compiling = [0]
_every = weakref.WeakSet()


class Unsupported(RuntimeError):  # noqa: N818 - torch._dynamo.exc.Unsupported
    """``fullgraph=True`` met a graph break (the message names the source line), or a recompile was
    refused by ``set_stance("fail_on_recompile")``."""


class RecompileLimitWarning(UserWarning):
    """A compiled function hit ``ember.compiler.config.recompile_limit`` and now runs eagerly for new guards."""


def is_compiling():
    """Whether ``ember.compile`` is capturing a function right now."""
    return _compiling[0] > 0


class _Entry:
    """One guard set's outcome: ``run`` (the compiled graph) and the live tensors it writes, or a break."""

    __slots__ = ("run", "written", "graph", "graph_break", "segments")

    def __init__(self, run=None, written=(), graph=None, graph_break=None, segments=None):
        self.run, self.written, self.graph, self.graph_break = run, written, graph, graph_break
        self.segments = segments  # after a resumable break: the compiled segments (segments.SegmentTree)


class CompiledFunction:
    """``fn`` compiled (see the module docstring); ``counters`` shows captures, recompiles, breaks."""

    def __init__(self, fn, module=None, *, fullgraph=False, dynamic=None, backend="inductor", mode=None,
                 options=None):
        if mode not in MODES:
            raise RuntimeError(f"Unrecognized mode={mode!r}, should be one of: {', '.join(m for m in MODES if m)}")
        if mode is not None and options is not None:
            raise RuntimeError("Either mode or options can be specified, but both can't be specified at the same time.")
        functools.update_wrapper(self, fn)
        self._fn, self._module = fn, module
        self.fullgraph, self.dynamic, self.mode, self.options = fullgraph, dynamic, mode, dict(options or {})
        self._backend_name = backend
        self._compile_graph = lookup_backend(backend)
        self._children = {}
        self.reset()
        _every.add(self)

    def reset(self):
        """Forget every compiled graph (the next call captures again)."""
        self.cache = {}
        self.counters = {"captures": 0, "recompiles": 0, "graph_breaks": 0, "eager_calls": 0, "segmented_calls": 0}
        self._warned = False
        for child in self._children.values():
            child.reset()

    def __get__(self, obj, objtype=None):  # decorating a method
        return self if obj is None else types.MethodType(self, obj)

    def __call__(self, *args, **kwargs):
        if _stance[0] == "force_eager" or dispatch.observer is not None:  # inside another capture: be traced
            return self._fn(*args, **kwargs)
        leaves, spec = flatten_inputs(args, kwargs)
        try:
            key = call_key(self._fn, self._module, leaves, spec)
        except Unguardable:
            return self._eager(args, kwargs)
        entry = self.cache.get(key)
        if entry is None:
            entry = self._compile(key, args, kwargs, leaves)
        if entry.run is None:
            if entry.segments is not None and not entry.segments.disabled and _stance[0] == "default":
                self.counters["segmented_calls"] += 1
                return run_segmented(entry.segments, self._fn, args, kwargs, self._compile_graph)
            return self._eager(args, kwargs)
        out, values = entry.run(*leaves)
        if not entry.written:
            return out
        with grad_mode.no_grad():
            for t, v in zip(entry.written, values):
                t.copy_(v)
        return out

    # compiling ----------------------------------------------------------------------
    def _compile(self, key, args, kwargs, leaves):
        refused = self._over_limit(key)
        if refused:
            self.cache[key] = entry = _Entry()
            return entry
        if self.cache:
            self.counters["recompiles"] += 1
        self.counters["captures"] += 1
        session = Session(grad_mode.is_grad_enabled())
        _compiling[0] += 1
        try:
            graph, state, written = capture_for_compile(self._fn, args, kwargs, self._module, session)
        except GraphBreak as e:
            if self.fullgraph:
                raise Unsupported(f"{e.where}: graph break in {self._name()} with fullgraph=True: {e.reason}") from None
            self.counters["graph_breaks"] += 1
            self.cache[key] = entry = _Entry(graph_break=e, segments=SegmentTree() if e.resumable else None)
            return entry
        finally:
            _compiling[0] -= 1
        fold_constants(graph, state, keep={k for k in state if not k.startswith("_tensor_constant")})
        eliminate_dead_code(graph)
        run = self._compile_graph(graph, state, leaves)
        self.cache[key] = entry = _Entry(run, written, graph)
        return entry

    def _over_limit(self, key):
        """Whether this miss may not compile (warns once); shape-only misses count apart when dynamic."""
        if not self.cache:
            return False
        if _stance[0] == "fail_on_recompile":
            old = next(iter(self.cache))
            raise Unsupported(f"{self._name()} must recompile ({describe_miss(old, key)} changed) but the stance is "
                              "fail_on_recompile")
        if _stance[0] == "eager_on_recompile":
            return True
        loose = without_shapes(key)
        same_guards = [k for k in self.cache if without_shapes(k) == loose]
        if same_guards and self.dynamic is not False:
            if len(same_guards) < config.dynamic_shape_limit:
                return False
        elif len({without_shapes(k) for k in self.cache}) < config.limit():
            return False
        if not self._warned:
            self._warned = True
            old = next(iter(self.cache))
            warnings.warn(f"{self._name()} hit the recompile limit ({config.limit()}, "
                          f"ember.compiler.config.recompile_limit); last change: {describe_miss(old, key)}. "
                          "New guard sets now run eagerly.", RecompileLimitWarning, stacklevel=4)
        return True

    def _eager(self, args, kwargs):
        """Run the function's Python as written; a module's direct children run compiled."""
        self.counters["eager_calls"] += 1
        module = self._module
        if module is None or _stance[0] != "default":
            return self._fn(*args, **kwargs)
        swapped = []
        for name, child in module._modules.items():
            if child is None or "forward" in child.__dict__:
                continue
            compiled = self._children.get(name)
            if compiled is None or compiled._module is not child:
                compiled = self._children[name] = CompiledFunction(
                    child.forward, child, fullgraph=False, dynamic=self.dynamic, backend=self._backend_name,
                    mode=self.mode, options=self.options or None)
            child.__dict__["forward"] = compiled
            swapped.append(child)
        try:
            return self._fn(*args, **kwargs)
        finally:
            for child in swapped:
                child.__dict__.pop("forward", None)

    def _name(self):
        return getattr(self._fn, "__qualname__", None) or repr(self._fn)


class OptimizedModule(Module):
    """What ``ember.compile(module)`` returns: calls run ``module``'s forward compiled; ``_orig_mod`` is the module
    (its state_dict keys gain the ``_orig_mod.`` prefix, as torch's do)."""

    def __init__(self, mod, **compile_kwargs):
        super().__init__()
        self._orig_mod = mod
        self.__dict__["_compiled_forward"] = CompiledFunction(mod.forward, mod, **compile_kwargs)
        self.training = mod.training

    def forward(self, *args, **kwargs):
        return self._compiled_forward(*args, **kwargs)

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self._modules["_orig_mod"], name)


def reset_all():
    for compiled in list(_every):
        compiled.reset()
