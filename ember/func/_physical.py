"""Reverse mode for the transforms: graphs are recorded on physical tensors, so a gradient
is one backward pass over the physical graph.

A differentiated input is first broadcast along the vmap levels its function's result
is batched at (``prepare``; the levels of the arguments, and, when the result shows that
a closed-over tensor brought more, the function runs again with those): then each
sample's slice of the physical leaf is used by that sample alone, and the backward pass
leaves per-sample gradients in it (what ``vmap(grad(f))`` asks for).
Cotangents batched at levels newer than the graph (``vmap(vjp_fn)``, as in ``jacrev``)
flow through the backward formulas as batched tensors, so their batching rules vectorize
the backward pass too.
"""
from ember._tensor import Tensor
from ember.autograd import grad_mode
from ember.autograd.functional_api import grad as autograd_grad
from ember.creation import zeros_like
from ember.func._batched import expand_to, from_physical, to_physical

DEPTH = [0]  # forward passes of grad transforms now running (their results may be differentiated again)


def prepare(x, want, what="grad"):
    """``(physical leaf, logical input)`` for a differentiated input ``x``, broadcast to the vmap levels ``want``."""
    if not isinstance(x, Tensor):
        raise RuntimeError(f"{what}: expected the differentiated inputs to be Tensors, got {type(x).__name__}")
    if not x.dtype.is_floating_point and not x.is_complex():
        raise RuntimeError("only Tensors of floating point dtype can require gradients")
    phys, levels = to_physical(x)
    phys = expand_to(phys, levels, want)
    with grad_mode.enable_grad():  # a new node (or leaf) of the same memory; forward-mode tangents follow it
        phys = phys.view_as(phys) if phys.requires_grad else phys.view_as(phys).requires_grad_()
    return phys, from_physical(phys, want)


def create_graph(leaves):
    """Whether gradients must be differentiable: inside another transform or under user autograd."""
    return grad_mode.is_grad_enabled() and (DEPTH[0] > 0 or any(p.grad_fn is not None for p in leaves))


def by_id(levels):
    return sorted(set(levels), key=lambda lv: lv.id)


def vjp_physical(outputs, cotangents, leaves, levels, graph):
    """The gradients of ``outputs`` (logical) with ``cotangents`` w.r.t. the physical ``leaves``
    recorded under vmap ``levels``, returned as logical tensors."""
    outs, cts, extra_all = [], [], []
    for o, ct in zip(outputs, cotangents):
        p, lv = to_physical(o)
        outs.append(expand_to(p, lv, levels) if lv != levels else p)
        c, clv = to_physical(ct)
        extra = [lv for lv in clv if lv not in levels]
        union = by_id(levels + extra)
        c = expand_to(c, clv, union)
        if extra:  # the newer levels stay batched; the graph's become leading logical dims
            order = [union.index(lv) for lv in extra] + [union.index(lv) for lv in levels]
            c = from_physical(c.permute(*order, *range(len(union), c.dim())), extra)
            extra_all.extend(lv for lv in extra if lv not in extra_all)
        cts.append(c)
    with grad_mode.enable_grad():
        grads = autograd_grad(outs, leaves, cts, retain_graph=True, create_graph=graph, allow_unused=True)
    result = []
    for g, leaf in zip(grads, leaves):
        if g is None:
            result.append(from_physical(zeros_like(leaf), levels))
            continue
        p, glv = to_physical(g)
        if glv:  # leading dims: the newer levels, then the graph's; put them in level order
            n, k = len(glv), len(levels)
            p = p.permute(*range(n, n + k), *range(n), *range(n + k, p.dim()))
        result.append(from_physical(p, levels + glv))
    return result
