"""Shared-memory tensors: share_memory_ / is_shared / Module.share_memory, and tensors that stay
shared when sent to a process started with the "spawn" method or through a queue."""
import multiprocessing

import numpy as np
import pytest

import ember
import ember.multiprocessing as emp


def _add_one(t, done, received):
    t.add_(1)
    done.put(t)  # sent back through a queue: still the same shared memory
    received.wait(60)  # the sender must live until the receiver has taken the descriptor, as in PyTorch


def test_share_memory_keeps_values_and_marks_the_tensor():
    t = ember.arange(12.0).reshape(3, 4)
    assert not t.is_shared()
    assert t.share_memory_() is t and t.is_shared()
    np.testing.assert_array_equal(t.numpy(), np.arange(12.0).reshape(3, 4))
    assert not t.clone().is_shared()
    assert ember.zeros(0).share_memory_().is_shared()


def test_module_share_memory_covers_parameters_and_buffers():
    m = ember.nn.BatchNorm1d(3)
    assert m.share_memory() is m
    assert all(p.is_shared() for p in m.parameters()) and all(b.is_shared() for b in m.buffers())
    assert isinstance(m.weight, ember.nn.Parameter) and m.weight.requires_grad


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_a_child_writes_into_the_parents_shared_tensor(method):
    ctx = emp.get_context(method)
    t = ember.zeros(2, 3).share_memory_()
    view = t[:, 1:]  # a non-contiguous view, sent as offset + strides into the same memory
    done, received = ctx.Queue(), ctx.Event()
    p = ctx.Process(target=_add_one, args=(view, done, received))
    p.start()
    back = done.get(timeout=60)
    received.set()
    p.join(60)
    assert p.exitcode == 0
    np.testing.assert_array_equal(t.numpy(), [[0, 1, 1], [0, 1, 1]])
    back.add_(1)  # the tensor the child sent back maps the same pages
    np.testing.assert_array_equal(t.numpy(), [[0, 2, 2], [0, 2, 2]])


def test_unshared_tensors_are_copied():
    ctx = multiprocessing.get_context("fork")
    t = ember.zeros(3)
    done, received = ctx.Queue(), ctx.Event()
    p = ctx.Process(target=_add_one, args=(t, done, received))
    p.start()
    back = done.get(timeout=30)
    received.set()
    p.join(30)
    assert t.tolist() == [0, 0, 0] and back.tolist() == [1, 1, 1]
