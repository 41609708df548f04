"""``ember.jit``'s implementation: trace, script, save/load, freeze, optimize_for_inference."""
import warnings

import numpy as np

from ember._tensor import Tensor
from ember.autograd import grad_mode
from ember.export.capture import TracerWarning
from ember.export.dynamic import guards_from_json
from ember.export.module import ProgramModule
from ember.export.passes import eliminate_dead_code, fold_constants
from ember.export.program import Program, capture
from ember.export.program_file import load_program, save_program
from ember.nn.modules.module import Module

_tracing = [False]


class TracedModule(ProgramModule):
    """What ``ember.jit.trace`` returns: the captured graph as a module (``.graph``, ``.code``, ``.save``)."""

    def __init__(self, program, signature, name="TracedModule"):
        super().__init__(program, signature)
        self.__dict__["_name"] = name

    def _get_name(self):
        return self._name

    def save(self, f):
        """Write the program to a path or binary file (``ember.jit.load`` reads it)."""
        save_program(f, self._program.graph, self.current_state(), self._program.in_spec, self._signature, "trace")

    def graph_for(self, *args):
        return self.graph


def _signature(module, state):
    params = set()
    if module is not None:
        params = {k for k, _ in module.named_parameters()}
    return {"parameters": [k for k in state if k in params],
            "buffers": [k for k in state if k not in params and not k.startswith("_tensor_constant")],
            "constants": [k for k in state if k.startswith("_tensor_constant")]}


def trace(func, example_inputs=None, optimize=None, check_trace=True, check_inputs=None, check_tolerance=1e-5,
          strict=True, _force_outplace=False, _module_class=None, _compilation_unit=None,
          example_kwarg_inputs=None, _store_inputs=True):
    """Run ``func`` (a module or function) on ``example_inputs`` and return its graph as a module.

    Python control flow is unrolled for these inputs; reading a tensor's value in Python
    (``if x.sum() > 0``, ``.item()``) warns with a ``TracerWarning`` naming the line. The traced
    module accepts inputs of the example's dtypes and shapes and refuses others."""
    if isinstance(example_inputs, Tensor):
        example_inputs = (example_inputs,)
    args = tuple(example_inputs or ())
    kwargs = dict(example_kwarg_inputs or {})
    module = func if isinstance(func, Module) else None
    _tracing[0] = True
    try:
        graph, state, in_spec, out = capture(func, args, kwargs, "warn", module)
    finally:
        _tracing[0] = False
    eliminate_dead_code(graph)
    program = Program(graph, state, in_spec)
    name = type(func).__name__ if module is not None else getattr(func, "__name__", "function")
    traced = TracedModule(program, _signature(module, state), name)
    traced.__dict__["_origin"] = (func, module, args, kwargs)  # for optimize_for_inference; never saved
    if module is not None:
        traced.train(module.training)
    if check_trace:
        with grad_mode.no_grad():
            again = traced(*args, **kwargs)
        _check_outputs(out, again, check_tolerance)
    return traced


def _check_outputs(expected, got, tol):
    exp, _ = _leaves(expected), None
    for i, (a, b) in enumerate(zip(exp, _leaves(got))):
        x, y = np.asarray(a._data, dtype=np.float64), np.asarray(b._data, dtype=np.float64)
        if x.shape != y.shape or not np.allclose(x, y, rtol=tol, atol=tol, equal_nan=True):
            warnings.warn(f"Output nr {i + 1} of the traced function does not match the eager output (random ops, "
                          "or code the tracer couldn't see): the trace might not generalise", TracerWarning,
                          stacklevel=3)


def _leaves(value):
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _leaves(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _leaves(v)]
    return []


def save(m, f, _extra_files=None):
    """``ember.jit.save(traced, f)``: ``traced.save(f)``; a scripted module that fell back to Python raises."""
    if not hasattr(m, "save"):
        raise TypeError(f"ember.jit.save expects a traced or scripted module, got {type(m).__name__} "
                        "(trace it first: ember.jit.trace(model, example_inputs))")
    m.save(f)


def load(f, map_location=None, _extra_files=None):
    """Read a saved program as a module; no model class or source is needed."""
    graph, state, in_spec, signature, dynamic, kind = load_program(f, kind="any")
    if map_location is not None:
        state = {k: _move(v, map_location) for k, v in state.items()}
    if dynamic:
        guards, bind = guards_from_json(dynamic, graph)
        program = Program(graph, state, in_spec, guards, bind)
    else:
        program = Program(graph, state, in_spec)
    return TracedModule(program, signature, "RecursiveScriptModule")


def _move(t, location):
    return t.to(location).detach().requires_grad_(t._requires_grad)


def freeze(mod, preserved_attrs=None, optimize_numerics=True):
    """Inline the parameters as constants and fold everything that depends only on them."""
    if not isinstance(mod, ProgramModule):
        raise RuntimeError("ember.jit.freeze expects a traced or scripted module (ember.jit.trace(...))")
    if mod.training:
        raise RuntimeError("Freezing is currently only implemented for modules in eval mode. "
                           "Please call .eval() on your module before freezing.")
    keep = set(preserved_attrs or ())
    state = {k: (v.detach() if k not in keep else v) for k, v in mod.current_state().items()}
    graph = mod.graph.copy()
    fold_constants(graph, state, keep)
    signature = {"parameters": [k for k in mod._signature.get("parameters", []) if k in keep and k in state],
                 "buffers": [], "constants": [k for k in state if k not in keep]}
    program = Program(graph, state, mod._program.in_spec, mod._program.guards, mod._program.bind)
    frozen = TracedModule(program, signature, mod._get_name())
    frozen.eval()
    return frozen


def optimize_for_inference(mod, other_methods=None):
    """A graph for inference only: where the traced program is at hand, it is captured again
    without autograd (ops take their inference forms, e.g. max pooling without indices);
    then ``freeze`` (eval mode) folds what depends only on the weights, and dead code goes."""
    if not isinstance(mod, ProgramModule):
        raise RuntimeError("ember.jit.optimize_for_inference expects a traced or scripted module")
    if mod.training:
        mod = mod.eval()
    origin = mod.__dict__.get("_origin")
    if origin is not None:
        func, module, args, kwargs = origin
        if module is not None:
            was = module.training
            module.eval()
        try:
            graph, state, in_spec, _ = capture(func, args, kwargs, "warn", module, differentiable=False)
        finally:
            if module is not None:
                module.train(was)
        eliminate_dead_code(graph)
        mod = TracedModule(Program(graph, state, in_spec), _signature(module, state), mod._get_name()).eval()
    frozen = freeze(mod)
    eliminate_dead_code(frozen.graph)
    return frozen


def is_tracing():
    return _tracing[0]


def is_scripting():
    return False


def ignore(drop=False, **kwargs):
    """Accepted for compatibility: tracing runs whatever Python the function runs."""
    if callable(drop):
        return drop
    return lambda fn: fn


def unused(fn):
    return fn


def export(fn):
    return fn
