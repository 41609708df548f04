"""What runs inside a DataLoader worker process: seeding, ``get_worker_info``, the batch
fetcher (shared with the single-process loader) and the worker's task loop.

A worker exits by itself when the main process dies, even while it runs user code (a watchdog
thread polls the parent's pid). A batch or an exception that cannot be pickled does not vanish in
the result queue's feeder thread: the worker sends a :class:`SendFailure` in its place, naming the
object's type, and the main process raises it with the batch's sample indices.
"""
import os
import pickle
import queue
import random
import sys
import threading
import time
import traceback
from multiprocessing.reduction import ForkingPickler

import numpy as np

from ember.random import manual_seed

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


class _Readable(str):
    """A KeyError's message: ``str(KeyError(m))`` is ``repr(m)``, which would escape the traceback's newlines."""

    def __repr__(self):
        return str(self)


class ExceptionWrapper:
    """An exception caught in a worker, carried to the main process with its traceback (re-raised as
    its own type when that type can be pickled, else as a RuntimeError naming it)."""

    def __init__(self, where):
        exc_type, exc, tb = sys.exc_info()
        self.msg = f"Caught {exc_type.__name__} {where}.\nOriginal " + "".join(traceback.format_exception(exc_type, exc, tb))
        try:
            pickle.loads(pickle.dumps(exc_type))
            self.exc_type = exc_type
        except Exception:
            self.exc_type = RuntimeError
            self.msg = f"(the exception type {exc_type.__module__}.{exc_type.__qualname__} cannot be pickled) {self.msg}"

    def reraise(self):
        msg = _Readable(self.msg) if issubclass(self.exc_type, KeyError) else self.msg
        try:
            error = self.exc_type(msg)
        except Exception:
            error = RuntimeError(self.msg)
        raise error


class SendFailure:
    """Sent in place of a reply that could not be pickled: where in it, of what type, and why."""

    def __init__(self, worker_id, path, type_name, reason):
        self.worker_id, self.path, self.type_name, self.reason = worker_id, path, type_name, reason

    def error(self, indices):
        what = "the next batch of its IterableDataset" if indices is None else f"the batch of sample indices {indices}"
        return RuntimeError(
            f"DataLoader worker {self.worker_id} could not send {what} to the main process: {self.path} is a "
            f"{self.type_name}, which cannot be pickled ({self.reason}). Return tensors, arrays, numbers, strings "
            "and containers of them from the dataset and collate_fn.")


def _unpicklable(obj, path):
    """``(path, object)`` of the first part of ``obj`` that does not pickle, looking inside containers."""
    children = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, (list, tuple)) else ()
    for key, value in children:
        try:
            ForkingPickler.dumps(value)
        except Exception:
            return _unpicklable(value, f"{path}[{key!r}]")
    return path, obj


def _report_send_failures(result_queue, worker_id):
    """Make the result queue's feeder thread answer a reply it cannot pickle with a SendFailure."""
    def on_error(error, message):
        task_id, epoch, data = message
        what = "the exception" if isinstance(data, ExceptionWrapper) else "batch"
        path, culprit = _unpicklable(data, what)
        t = type(culprit)
        result_queue.put((task_id, epoch, SendFailure(worker_id, path, f"{t.__module__}.{t.__qualname__}",
                                                      f"{type(error).__name__}: {error}")))
    result_queue._on_queue_feeder_error = on_error


def _exit_with_parent(parent):
    """A daemon thread that ends this worker once the main process is gone, whatever the worker is doing."""
    def watch():
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(1)
    threading.Thread(target=watch, name="ember-parent-watchdog", daemon=True).start()


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
                getitems = getattr(self.dataset, "__getitems__", None)
                if getitems:
                    return self.collate_fn(getitems(indices))
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
    manual_seed(seed)
    np.random.seed(np.random.SeedSequence(seed).generate_state(1)[0])


def worker_loop(fetcher, index_queue, result_queue, worker_id, num_workers, seed, init_fn):
    """Serve ``(task_id, epoch, indices)`` tasks until ``None`` arrives or the parent dies;
    reply ``(task_id, epoch, batch | ExceptionWrapper | Exhausted())``."""
    global _worker_info
    parent = os.getppid()
    _exit_with_parent(parent)
    result_queue.cancel_join_thread()
    _report_send_failures(result_queue, worker_id)
    _seed_all(seed)
    _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=fetcher.dataset)
    where = f"in DataLoader worker process {worker_id}"
    init_error, epoch = None, None
    try:
        if init_fn is not None:
            init_fn(worker_id)
    except Exception:
        init_error = ExceptionWrapper(where + " (in worker_init_fn)")
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
            loading = "the next batch of its IterableDataset" if indices is None else f"sample indices {indices}"
            data = ExceptionWrapper(f"{where} while loading {loading}")
        result_queue.put((task_id, task_epoch, data))
