"""``ember.jit.script``: compile by tracing where that is exact, otherwise stay Python.

A script has no example inputs, so the module runs its Python on every call and captures
its graph on the first one. If that capture saw no data-dependent decision, the graph is
kept (``.graph``, ``.code``, ``.save()``, specialised to the first call's shapes); if it saw
one, the module keeps running its Python and ``.save()`` explains why it can't save."""
import warnings

from ember.export.capture import TracerWarning
from ember.export.module import ProgramModule
from ember.export.program import Program, capture
from ember.export.tracing import TracedModule, _signature
from ember.nn.modules.module import Module


class ScriptedModule(Module):
    """What ``ember.jit.script`` returns for a module or function."""

    def __init__(self, fn, module=None):
        super().__init__()
        if module is not None:
            self.add_module("original", module)
        self.__dict__["_fn"] = fn
        self.__dict__["_traced"] = None
        self.__dict__["_why"] = None

    def forward(self, *args, **kwargs):
        if self._traced is None and self._why is None:
            module = self._modules.get("original")
            with warnings.catch_warnings(record=True) as seen:
                warnings.simplefilter("always", TracerWarning)
                graph, state, in_spec, _ = capture(self._fn, args, kwargs, "warn", module)
            problems = [str(w.message) for w in seen if issubclass(w.category, TracerWarning)]
            if problems:
                lines = [f"{w.filename}:{w.lineno}" for w in seen if issubclass(w.category, TracerWarning)]
                self.__dict__["_why"] = f"{problems[0]} (at {', '.join(lines)})"
            else:
                program = Program(graph, state, in_spec)
                self.__dict__["_traced"] = TracedModule(program, _signature(module, state), "ScriptedModule")
        return self._fn(*args, **kwargs)  # the capture ran on grad-requiring copies: the caller gets eager's result

    def _require_graph(self):
        if self._why is not None:
            raise RuntimeError(
                "ember.jit.script can't compile this program: it has data-dependent control flow, so it runs as "
                f"Python and can't be saved as a graph. {self._why}. Use ember.jit.trace with inputs that take the "
                "branch you want, or ember.export.export, or rewrite the branch with tensor ops (ember.where).")
        if self._traced is None:
            raise RuntimeError("ember.jit.script compiles on the first call: call the scripted module once with "
                               "example inputs before .save()/.graph (or use ember.jit.trace(model, inputs)).")
        return self._traced

    @property
    def graph(self):
        return self._require_graph().graph

    @property
    def code(self):
        return self._require_graph().code

    def save(self, f):
        traced = self._require_graph()
        traced._program.state = traced.current_state()
        traced.save(f)


def script(obj, optimize=None, _frames_up=0, _rcb=None, example_inputs=None):
    """Script a module or function (see the module docstring); a traced module is returned as is."""
    if isinstance(obj, (ProgramModule, ScriptedModule)):
        return obj
    if isinstance(obj, Module):
        scripted = ScriptedModule(obj, obj)
        scripted.train(obj.training)
    elif callable(obj):
        scripted = ScriptedModule(obj)
    else:
        raise TypeError(f"ember.jit.script expects a Module or a function, got {type(obj).__name__}")
    if example_inputs:
        for inputs in example_inputs:
            scripted(*inputs)
    return scripted
