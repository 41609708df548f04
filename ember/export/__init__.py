"""``ember.export``: capture a program as a graph (IR in README.md), replay it, save it safely.

``export(module, args, dynamic_shapes=...)`` -> ``ExportedProgram``; ``save``/``load`` the
program file; ``ember.jit``, ``ember.fx`` and ``ember.onnx`` are faces over the same IR."""
from ember.export.capture import ExportError, TracerWarning
from ember.export.dynamic import Dim
from ember.export.exported import ExportedProgram, ExportGraphSignature, export, load, save
from ember.export.graph import Graph, Node, Out
from ember.export.interpreter import GraphRunError, run_graph
from ember.export.passes import eliminate_dead_code, fold_constants
from ember.export.symbolic import SymInt

__all__ = ["Dim", "ExportError", "ExportGraphSignature", "ExportedProgram", "Graph", "GraphRunError", "Node", "Out",
           "SymInt", "TracerWarning", "eliminate_dead_code", "export", "fold_constants", "load", "run_graph", "save"]
