"""What runs inside a DataLoader worker process: seeding, ``get_worker_info``, the batch
fetcher (shared with the single-process loader) and the worker's task loop."""
import os
import queue
import random
import sys
import traceback

import numpy as np

import ember

_worker_info = None


class WorkerInfo:
    """Read-only facts about the current worker: ``id``, ``num_workers``, ``seed``, ``dataset``."""

    def __init__(self, **kwargs):
        for k, v in kwargs.items():
            object.__setattr__(self, k, v)

    def __setattr__(self, key, value):
        raise RuntimeError(f"Cannot assign attributes to {type(self).__name__} objects")

    def __repr__(self):
        return (f"WorkerInfo(id={self.id}, num_workers={self.num_workers}, seed={self.seed}, "
                f"dataset={self.dataset!r})")


def get_worker_info():
    """Inside a DataLoader worker: its ``WorkerInfo`` (use it to shard an ``IterableDataset``);
    in the main process: ``None``.

    >>> ember.utils.data.get_worker_info() is None
    True
    """
    return _worker_info


class ExceptionWrapper:
    """An exception caught in a worker, carried to the main process with its traceback."""

    def __init__(self, where):
        exc_type, exc, tb = sys.exc_info()
        self.exc_type = exc_type
        self.msg = f"Caught {exc_type.__name__} {where}.\nOriginal " + "".join(traceback.format_exception(exc_type, exc, tb))

    def reraise(self):
        try:
            error = self.exc_type(self.msg)
        except Exception:
            error = RuntimeError(self.msg)
        raise error


class Exhausted:
    """A worker's reply once its copy of an IterableDataset has run out."""


class Fetcher:
    """Turns one task (a list of indices, an index, or ``None`` for a stream) into a batch."""

    def __init__(self, dataset, iterable, auto_collation, collate_fn, batch_size, drop_last):
        self.dataset, self.iterable, self.auto_collation = dataset, iterable, auto_collation
        self.collate_fn, self.batch_size, self.drop_last = collate_fn, batch_size, drop_last
        self.stream = None

    def restart(self):
        self.stream = iter(self.dataset) if self.iterable else None

    def fetch(self, indices):
        """The batch for ``indices``; raises StopIteration when a stream has no batch left."""
        if not self.iterable:
            if self.auto_collation:
                return self.collate_fn([self.dataset[i] for i in indices])
            return self.collate_fn(self.dataset[indices])
        if not self.auto_collation:
            return self.collate_fn(next(self.stream))
        samples = []
        for sample in self.stream:
            samples.append(sample)
            if len(samples) == self.batch_size:
                break
        if not samples or (self.drop_last and len(samples) < self.batch_size):
            raise StopIteration
        return self.collate_fn(samples)


def _seed_all(seed):
    random.seed(seed)
    ember.manual_seed(seed)
    np.random.seed(np.random.SeedSequence(seed).generate_state(1)[0])


def worker_loop(fetcher, index_queue, result_queue, worker_id, num_workers, seed, init_fn):
    """Serve ``(task_id, epoch, indices)`` tasks until ``None`` arrives or the parent dies;
    reply ``(task_id, epoch, batch | ExceptionWrapper | Exhausted())``."""
    global _worker_info
    parent = os.getppid()
    result_queue.cancel_join_thread()
    _seed_all(seed)
    _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=fetcher.dataset)
    where = f"in DataLoader worker process {worker_id}"
    init_error, epoch = None, None
    try:
        if init_fn is not None:
            init_fn(worker_id)
    except Exception:
        init_error = ExceptionWrapper(where)
    while True:
        try:
            task = index_queue.get(timeout=1.0)
        except queue.Empty:
            if os.getppid() != parent:
                return
            continue
        if task is None:
            return
        task_id, task_epoch, indices = task
        if init_error is not None:
            result_queue.put((task_id, task_epoch, init_error))
            continue
        if task_epoch != epoch:
            epoch = task_epoch
            fetcher.restart()
        try:
            data = fetcher.fetch(indices)
        except StopIteration:
            data = Exhausted()
        except Exception:
            data = ExceptionWrapper(where)
        result_queue.put((task_id, task_epoch, data))
