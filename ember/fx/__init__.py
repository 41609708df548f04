"""``ember.fx``: torch.fx's names over ``ember.export``'s IR (``Graph``, ``Node``, ``GraphModule``,
``symbolic_trace``). Capture is by execution: the graph is the ops a run performed."""
from ember.export.fx_module import GraphModule, symbolic_trace, wrap
from ember.export.graph import Graph, Node

__all__ = ["Graph", "GraphModule", "Node", "symbolic_trace", "wrap"]
