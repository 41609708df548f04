"""``ember.export``: capture a program as a graph (IR in README.md), replay it, save it safely."""
from ember.export.capture import ExportError, TracerWarning
from ember.export.graph import Graph, Node, Out

__all__ = ["ExportError", "Graph", "Node", "Out", "TracerWarning"]
