"""Shared helpers for the export tests: compare a replayed graph with eager code."""
import numpy as np

import ember
from ember.export.program import Program, capture


def leaves(value):
    if isinstance(value, ember.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in leaves(v)]
    return []


def run_with_grads(fn, inputs):
    xs = [x.detach().clone().requires_grad_(x.is_floating_point()) for x in inputs]
    out = fn(*xs)
    outs = [o for o in leaves(out) if o.requires_grad]
    if outs:
        total = sum((o * ember.linspace(0.5, 1.5, o.numel(), dtype=o.dtype).reshape(o.shape)).sum() for o in outs)
        total.backward()
    return out, [None if x.grad is None else x.grad.numpy() for x in xs]


def assert_replay_matches(fn, inputs, atol=1e-10):
    """capture fn on inputs, replay the graph on fresh copies: same values and same input gradients."""
    expected, expected_grads = run_with_grads(fn, inputs)
    graph, state, in_spec, _ = capture(fn, tuple(x.detach().clone() for x in inputs))
    program = Program(graph, state, in_spec)
    got, got_grads = run_with_grads(program, inputs)
    for a, b in zip(leaves(expected), leaves(got), strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=atol, rtol=1e-10)
    for ga, gb in zip(expected_grads, got_grads):
        assert (ga is None) == (gb is None)
        if ga is not None:
            np.testing.assert_allclose(ga, gb, atol=atol, rtol=1e-10)
    return graph
