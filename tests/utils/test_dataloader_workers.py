"""DataLoader with worker processes: same batches as num_workers=0 and as torch, seeding,
errors (exception, killed worker, timeout, stall warning), shutdown, persistence, resume."""
import gc
import multiprocessing
import os
import random
import signal
import time

import numpy as np
import pytest
import torch
import torch.utils.data as tdata

import ember
import ember.utils.data as edata
from ember.utils.data import _loader_iter
from tests.utils.data_common import Mixed, Squares, assert_same_batches
from tests.utils.plain_datasets import check_worker_id


class Sharded:
    """IterableDataset (for either library) that splits range(n) between workers."""

    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = self.info()
        if info is None:
            return iter(range(self.n))
        return iter(range(info.id, self.n, info.num_workers))


class EmberSharded(Sharded, edata.IterableDataset):
    info = staticmethod(edata.get_worker_info)


class TorchSharded(Sharded, tdata.IterableDataset):
    info = staticmethod(tdata.get_worker_info)


class Seeds(edata.Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        info = edata.get_worker_info()
        return [random.random(), float(np.random.rand()), ember.rand(1).item(), info.id, info.seed, os.getpid()]


class Faulty(Squares):
    """Squares, but index ``bad`` misbehaves in the way ``mode`` names."""

    def __init__(self, n, bad, mode, seconds=0.0):
        super().__init__(n)
        self.bad, self.mode, self.seconds = bad, mode, seconds

    def __getitem__(self, i):
        if i == self.bad:
            if self.mode == "raise":
                raise ValueError(f"bad sample {i}")
            if self.mode == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(self.seconds)
        return super().__getitem__(i)


def _no_children(wait=2.0):
    deadline = time.monotonic() + wait
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.02)
    return not multiprocessing.active_children()


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("kwargs", [{"batch_size": 3}, {"batch_size": 4, "drop_last": True}, {"batch_size": None}])
def test_workers_match_single_process_and_torch(workers, kwargs):
    single = list(edata.DataLoader(Mixed(10), **kwargs))
    assert_same_batches(edata.DataLoader(Mixed(10), num_workers=workers, **kwargs),
                        tdata.DataLoader(Mixed(10), **kwargs))
    assert_same_batches(edata.DataLoader(Mixed(10), num_workers=workers, **kwargs), single)
    assert _no_children()


def test_shuffled_batches_do_not_depend_on_num_workers():
    def run(workers):
        loader = edata.DataLoader(Squares(11), batch_size=3, shuffle=True, num_workers=workers, prefetch_factor=None,
                                  generator=ember.Generator().manual_seed(4))
        return [b.tolist() for b in loader]
    assert run(0) == run(1) == run(2)


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("batch_size", [None, 2])
def test_iterable_sharding_matches_torch(workers, batch_size):
    e = edata.DataLoader(EmberSharded(9), batch_size=batch_size, num_workers=workers)
    t = tdata.DataLoader(TorchSharded(9), batch_size=batch_size, num_workers=workers)
    assert_same_batches(e, t)


def test_worker_seeds_are_reproducible_and_distinct():
    def run():
        loader = edata.DataLoader(Seeds(), batch_size=None, num_workers=2, generator=ember.Generator().manual_seed(7))
        return list(loader)
    first = run()
    assert [r[:5] for r in run()] == [r[:5] for r in first]
    w0, w1 = first[0], first[1]
    assert (w0[3], w1[3]) == (0, 1) and w1[4] == w0[4] + 1 and w0[5] != w1[5]
    assert w0[:3] != w1[:3]
    assert edata.get_worker_info() is None


def test_worker_init_fn_and_spawn_context():
    loader = edata.DataLoader(Squares(4), batch_size=2, num_workers=1, multiprocessing_context="spawn",
                              worker_init_fn=check_worker_id)
    assert [b.tolist() for b in loader] == [[0, 1], [4, 9]]
    assert _no_children()


def test_worker_exception_is_reraised_with_traceback():
    loader = edata.DataLoader(Faulty(6, bad=3, mode="raise"), batch_size=1, num_workers=2)
    with pytest.raises(ValueError, match=r"(?s)Caught ValueError in DataLoader worker process 1.*"
                                         r"Traceback.*__getitem__.*bad sample 3"):
        list(loader)
    del loader
    gc.collect()
    assert _no_children()


def test_killed_worker_raises_instead_of_hanging():
    loader = edata.DataLoader(Faulty(6, bad=2, mode="kill"), batch_size=1, num_workers=2)
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid \d+\) exited unexpectedly"):
        list(loader)
    assert time.monotonic() - start < 5
    assert _no_children()


def test_timeout():
    loader = edata.DataLoader(Faulty(4, bad=1, mode="sleep", seconds=3), batch_size=1, num_workers=1, timeout=0.3)
    with pytest.raises(RuntimeError, match="DataLoader timed out after 0.3 seconds"):
        list(loader)
    assert _no_children()


def test_stall_warning_names_worker_and_indices(monkeypatch):
    monkeypatch.setattr(_loader_iter, "STALL_WARNING_SECONDS", 0.2)
    loader = edata.DataLoader(Faulty(6, bad=3, mode="sleep", seconds=0.8), batch_size=1, num_workers=2)
    with pytest.warns(RuntimeWarning, match=r"worker 1 \(pid \d+\), which is loading sample indices \[3\]"):
        assert [b.tolist() for b in loader] == [[i * i] for i in range(6)]


def test_no_leaked_workers_after_early_break():
    loader = edata.DataLoader(Squares(100), batch_size=2, num_workers=2)
    for i, _ in enumerate(loader):
        if i == 2:
            break
    gc.collect()
    assert _no_children()
    it = iter(loader)
    next(it)
    assert len(multiprocessing.active_children()) == 2
    del it
    assert _no_children()


def test_persistent_workers_keep_processes_across_epochs():
    loader = edata.DataLoader(Seeds(), batch_size=None, num_workers=2, persistent_workers=True)
    pids = [{r[5] for r in loader} for _ in range(2)]
    assert pids[0] == pids[1] and len(pids[0]) == 2
    sharded = edata.DataLoader(EmberSharded(5), batch_size=2, num_workers=2, persistent_workers=True)
    assert [[b.tolist() for b in sharded] for _ in range(2)] == [[[0, 2], [1, 3], [4]]] * 2
    half = iter(sharded)
    next(half)
    assert [b.tolist() for b in sharded] == [[0, 2], [1, 3], [4]]
    del loader, sharded, half
    gc.collect()
    assert _no_children()


@pytest.mark.parametrize("workers", [0, 2])
def test_resume_mid_epoch_with_workers(workers):
    def make():
        return edata.DataLoader(Squares(13), batch_size=2, shuffle=True, num_workers=workers)
    first = make()
    it = iter(first)
    seen = [next(it).tolist() for _ in range(3)]
    state = first.state_dict()
    rest = [b.tolist() for b in it]
    second = make()
    second.load_state_dict(state)
    resumed = [b.tolist() for b in second]
    assert resumed == rest and len(seen) + len(resumed) == 7
    assert sorted(v for b in seen + resumed for v in b) == [i * i for i in range(13)]
    assert _no_children()


def test_empty_dataset_with_workers():
    assert list(edata.DataLoader(Squares(0), batch_size=2, num_workers=2)) == []
    assert _no_children()


def test_torch_and_ember_loaders_agree_on_len_with_workers():
    assert len(edata.DataLoader(Squares(7), batch_size=2, num_workers=2)) == len(
        tdata.DataLoader(Squares(7), batch_size=2, num_workers=2)) == 4
    assert torch.utils.data.get_worker_info() is None
