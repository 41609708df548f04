"""Fusion: the graph's call nodes cut into steps, runs of elementwise ops becoming one kernel.

A ``Group`` is a run of elementwise ops over one loop shape, optionally ending with a
reduction over the last dim (sum, mean, amax); its value reads and writes happen inside
one loop, so intermediates never reach memory. A group is closed when an op outside it
reads one of its values, when the shape changes, or after its reduction. Ops a kernel
cannot express stay single steps, run as the op's own array-level forward.
"""
from ember.compiler.inductor import derivatives
from ember.compiler.inductor.pointwise import REDUCTIONS, is_pointwise
from ember.export.graph import Node, Out
from ember.export.op_names import draws_random


class Group:
    """Nodes of one kernel; ``inputs``: the values it reads from outside (refs), ``outputs``: its
    nodes read outside it (or by the graph's output), ``reduction``: its last node when it reduces."""

    def __init__(self, shape):
        self.shape, self.nodes, self.reduction = shape, [], None
        self.inputs, self.outputs = [], []

    @property
    def members(self):
        return set(self.nodes)


def _ref_node(r):
    return r.node if isinstance(r, Out) else r


def _reduces_last_dim(node):
    x = node.args[0]
    if not isinstance(x, Node) or len(node.args) != 1:
        return False
    ndim = len(x.meta["shape"])
    dims = node.kwargs.get("dims")
    dims = (dims,) if isinstance(dims, int) else tuple(dims or ())
    return ndim >= 1 and tuple(d % ndim for d in dims) == (ndim - 1,) and isinstance(x.meta["dtype"], str)


def partition(graph, needs_grad):
    """Execution steps: call nodes (run alone) and ``Group``s, in an order that respects every read.
    ``needs_grad``: the nodes a gradient flows through (their ops must have a traced derivative)."""
    steps, group = [], None

    def close():
        nonlocal group
        if group is not None:
            steps.append(group)
            group = None

    for node in graph.nodes:
        if node.op != "call_function":
            continue
        reads = [_ref_node(r) for r in node.all_input_nodes]
        fusible = is_pointwise(node) and not draws_random(node) and (
            node not in needs_grad or derivatives.template(node) is not None)
        reducing = (node.target in REDUCTIONS and _reduces_last_dim(node)
                    and not (node.target == "amax" and node in needs_grad))
        shape = tuple(node.meta["shape"]) if isinstance(node.meta.get("dtype"), str) else None
        if fusible and group is not None and group.shape == shape:
            group.nodes.append(node)
        elif reducing and group is not None and tuple(node.args[0].meta["shape"]) == group.shape:
            group.nodes.append(node)
            group.reduction = node
            close()
            continue
        elif fusible:
            close()
            group = Group(shape)
            group.nodes.append(node)
        else:
            if group is not None and any(r in group.members for r in reads):
                close()
            steps.append(node)
    close()
    return [_finish(s, graph, needs_grad) if isinstance(s, Group) else s for s in steps]


def _finish(group, graph, needs_grad):
    """A one-op group runs as the op, unless a gradient flows through it (its backward kernel then
    runs the op's derivative in one pass, not op by op). Otherwise list the group's inputs and outputs."""
    if len(group.nodes) == 1 and group.nodes[0] not in needs_grad:
        return group.nodes[0]
    members = group.members
    inputs = []
    for n in group.nodes:
        for a in n.args:
            if isinstance(a, (Node, Out)) and _ref_node(a) not in members and a not in inputs:
                inputs.append(a)
    users = graph.users()
    group.inputs = inputs
    group.outputs = [n for n in group.nodes if n is group.reduction or any(u not in members for u in users[n])]
    return group
