"""``ember.jit``: PyTorch's TorchScript entry points over ``ember.export``'s capture.

``trace`` records a run as a graph; ``script`` traces where the code has no data-dependent
control flow and otherwise runs the Python (and refuses to save); ``save``/``load`` use the
safe program file (``ember/export/README.md``)."""
from ember.export.capture import TracerWarning
from ember.export.scripting import ScriptedModule, script
from ember.export.tracing import (
    TracedModule, export, freeze, ignore, is_scripting, is_tracing, load, optimize_for_inference, save, trace, unused,
)

ScriptModule = TracedModule
RecursiveScriptModule = TracedModule

__all__ = ["RecursiveScriptModule", "ScriptModule", "ScriptedModule", "TracedModule", "TracerWarning", "export",
           "freeze", "ignore", "is_scripting", "is_tracing", "load", "optimize_for_inference", "save", "script",
           "trace", "unused"]
