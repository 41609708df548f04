"""Host <-> GPU transfers on the (fake) CUDA device: pinned memory, asynchronous copies on the current
stream, and DataLoader(pin_memory=True) with its pin thread."""
import threading

import numpy as np
import pytest

import ember
import ember.utils.data as edata


def _queued(stream):
    return stream._stream.transfers


def test_non_blocking_copy_from_pinned_memory_is_queued_on_the_current_stream(fake_cuda):
    x = ember.arange(12, dtype=ember.float32).reshape(3, 4)
    pinned = x.pin_memory()
    s = ember.cuda.Stream()
    with ember.cuda.stream(s):
        y = pinned.to("cuda", non_blocking=True)
        z = pinned.cuda(non_blocking=True)
    assert _queued(s) == [("set", 48), ("set", 48)]
    assert y.device.type == "cuda" and np.array_equal(y.cpu().numpy(), x.numpy()) and np.array_equal(
        z.cpu().numpy(), x.numpy())


def test_blocking_or_pageable_copies_are_not_asynchronous(fake_cuda):
    s = ember.cuda.Stream()
    with ember.cuda.stream(s):
        ember.ones(4).to("cuda", non_blocking=True)  # pageable memory: an ordinary copy
        ember.ones(4).pin_memory().to("cuda")  # blocking
        ember.ones(4, 2).pin_memory().mT.to("cuda", non_blocking=True)  # not contiguous
    assert _queued(s) == []


def test_non_blocking_copy_to_the_host_lands_in_pinned_memory(fake_cuda):
    x = ember.arange(6, device="cuda").float()
    s = ember.cuda.Stream()
    with ember.cuda.stream(s):
        h = x.to("cpu", non_blocking=True)
    s.synchronize()
    assert h.is_pinned() and h.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert _queued(s) == [("get", 24)]
    assert not x.cpu().is_pinned()


def test_non_blocking_copy_keeps_the_gradient_path(fake_cuda):
    x = ember.ones(3).pin_memory().requires_grad_()
    (x.to("cuda", non_blocking=True) * 2).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0, 2.0] and x.grad.device.type == "cpu"


class Pairs(edata.Dataset):
    def __len__(self):
        return 7

    def __getitem__(self, i):
        return {"x": ember.full((2,), float(i)), "y": (ember.tensor(i), "label")}


@pytest.mark.parametrize("num_workers", [0, 2])
def test_dataloader_pins_every_tensor_of_the_batch(fake_cuda, num_workers):
    loader = edata.DataLoader(Pairs(), batch_size=3, pin_memory=True, num_workers=num_workers)
    batches = list(loader)
    assert [b["y"][0].tolist() for b in batches] == [[0, 1, 2], [3, 4, 5], [6]]
    assert all(b["x"].is_pinned() and b["y"][0].is_pinned() for b in batches)
    assert batches[0]["y"][1] == ("label",) * 3


def test_the_pin_thread_runs_beside_the_workers_and_resumes_exactly(fake_cuda):
    loader = edata.DataLoader(Pairs(), batch_size=1, pin_memory=True, num_workers=2)
    it = iter(loader)
    first = [next(it)["y"][0].item() for _ in range(3)]
    assert any(t.name == "ember-pin-memory" for t in threading.enumerate())
    state = loader.state_dict()
    assert state["yielded"] == 3  # batches the thread pinned ahead are not counted as seen
    it.close()
    again = edata.DataLoader(Pairs(), batch_size=1, pin_memory=True)
    again.load_state_dict(state)
    assert first == [0, 1, 2] and [b["y"][0].item() for b in again] == [3, 4, 5, 6]


def test_pin_thread_passes_a_workers_error_on(fake_cuda):
    class Broken(Pairs):
        def __getitem__(self, i):
            if i == 2:
                raise KeyError("sample 2 is broken")
            return super().__getitem__(i)

    with pytest.raises(KeyError, match="sample 2 is broken"):
        list(edata.DataLoader(Broken(), batch_size=1, pin_memory=True, num_workers=1))
