"""Fusion: the graph's call nodes cut into steps, runs of elementwise ops becoming one kernel.

A ``Group`` is a run of elementwise ops over one loop shape, optionally ending with a
reduction over the last dim (sum, mean, amax); its value reads and writes happen inside
one loop, so intermediates never reach memory. A group is closed when an op outside it
reads one of its values, when the shape changes, or after its reduction. Ops a kernel
cannot express stay single steps, run as the op's own array-level forward. A kernel splits its
rows over the threads, so a reduction of a group that is one long row of heavy work is left
to run alone: the group then splits, where with the reduction it would run on one thread.
"""
import math

from ember.compiler.inductor import derivatives
from ember.compiler.inductor.pointwise import REDUCTIONS, is_pointwise
from ember.export.graph import Node, Out
from ember.export.op_names import draws_random


# elements per thread block: handing a block to a worker costs ~40-50 us here, what a one-thread ReLU over
# ~500k float32 elements takes (measured: 1M elements 92 us on one thread, 84 on two)
ELEMENTS_PER_THREAD = 1 << 19
SPLIT_AT = 2 * ELEMENTS_PER_THREAD  # below this much work no split gives two blocks
_TRANSCENDENTAL = frozenset({"exp", "log", "log1p", "expm1", "tanh", "sigmoid", "erf", "sin", "cos"})


def work_per_element(nodes):
    """An element's work in ReLU units (what ``ELEMENTS_PER_THREAD`` was measured with): an inline exp, tanh
    or sigmoid costs ~0.7 ns an element against a memory-bound ReLU's ~0.09."""
    return 1 + 8 * sum(n.target in _TRANSCENDENTAL for n in nodes)


def one_long_row(group):
    """Whether the group's loop is a single row with work enough to split over threads."""
    rows, cols = (math.prod(group.shape[:-1]), group.shape[-1]) if group.shape else (1, 1)
    return rows == 1 and cols * work_per_element(group.nodes) >= SPLIT_AT


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
        elif (reducing and group is not None and tuple(node.args[0].meta["shape"]) == group.shape
              and not one_long_row(group)):
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
