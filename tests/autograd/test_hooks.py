"""Tensor and node hooks, retain_grad, post-accumulate hooks, against torch."""
import pytest
import torch

import ember
from autograd_helpers import both, leaf


def test_leaf_hook_replaces_gradient_and_remove():
    def run(lib):
        x = leaf(lib, [1.0, 2.0])
        handle = x.register_hook(lambda g: g * 10)
        (x * x).sum().backward()
        first = x.grad.clone()
        handle.remove()
        x.grad = None
        (x * x).sum().backward()
        return [first, x.grad]
    both(run)


def test_leaf_hook_runs_for_autograd_grad():
    def run(lib):
        x = leaf(lib, [1.0, 2.0])
        x.register_hook(lambda g: g * 10)
        return list(lib.autograd.grad((x * x).sum(), x))
    both(run)


def test_non_leaf_hook_changes_what_flows_on():
    def run(lib):
        x = leaf(lib, [1.0, 2.0])
        y = x * 3
        y.register_hook(lambda g: g + 1)
        (gx,) = lib.autograd.grad((y * y).sum(), x, retain_graph=True)
        (gy,) = lib.autograd.grad((y * y).sum(), y)
        return [gx, gy]
    both(run)


def test_hook_returning_none_observes():
    def run(lib):
        seen = []
        x = leaf(lib, [1.0, -1.0])
        y = x.exp()
        y.register_hook(lambda g: seen.append(g.clone()))
        x.register_hook(lambda g: seen.append(g.clone()))
        (y * 2).sum().backward()
        return seen + [x.grad]
    both(run)


def test_hooks_run_in_registration_order():
    for lib in (ember, torch):
        order = []
        x = leaf(lib, [1.0])
        x.register_hook(lambda g: order.append("a") or g * 2)
        x.register_hook(lambda g: order.append("b") or g + 1)
        (x * 1).sum().backward()
        assert order == ["a", "b"] and x.grad.tolist() == [3.0]


def test_retain_grad_sees_hooked_gradient():
    def run(lib):
        x = leaf(lib, [1.0, 2.0])
        y = x * 3
        y.retain_grad()
        y.register_hook(lambda g: g * 2)
        (y * y).sum().backward()
        return [y.grad, x.grad]
    both(run)


def test_hook_on_tensor_without_grad_raises():
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't require gradient"):
            lib.ones(2).register_hook(lambda g: g)


def test_post_accumulate_grad_hook():
    for lib in (ember, torch):
        seen = []
        x = leaf(lib, [1.0, 2.0])
        x.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.tolist()))
        (x * 3).sum().backward()
        (x * 3).sum().backward()
        assert seen == [[3.0, 3.0], [6.0, 6.0]]
        with pytest.raises(RuntimeError, match="post accumulate grad hooks cannot be registered on non-leaf"):
            (x * 3).register_post_accumulate_grad_hook(lambda p: None)


def test_node_hook_and_prehook():
    for lib in (ember, torch):
        seen = []
        x = leaf(lib, [1.0, 2.0])
        y = x * 2
        y.grad_fn.register_prehook(lambda go: seen.append(("pre", go[0].tolist())))
        handle = y.grad_fn.register_hook(lambda gi, go: seen.append(("post", gi[0].tolist(), go[0].tolist())))
        y.sum().backward(retain_graph=True)
        handle.remove()
        y.sum().backward()
        assert seen == [("pre", [1.0, 1.0]), ("post", [2.0, 2.0], [1.0, 1.0]), ("pre", [1.0, 1.0])]


def test_node_prehook_replaces_gradient():
    def run(lib):
        x = leaf(lib, [1.0, 2.0])
        y = x.exp()
        y.grad_fn.register_prehook(lambda go: (go[0] * 0 + 1,))
        (y * 5).sum().backward()
        return [x.grad]
    both(run)


def test_hook_modifying_gradient_for_shared_leaf():
    def run(lib):
        x = leaf(lib, [1.0, 2.0])
        a, b = x * 2, x * 3
        a.register_hook(lambda g: g * 0)
        (a + b).sum().backward()
        return [x.grad]
    both(run)


def test_removable_handle_as_context_manager():
    x = ember.ones(1, requires_grad=True)
    with x.register_hook(lambda g: g * 4):
        (x * 1).sum().backward()
    (x * 1).sum().backward()
    assert x.grad.tolist() == [5.0]
