"""The DataLoader iterator that loads in worker processes.

Tasks ``(task_id, epoch, indices)`` go round-robin to the live workers, at most
``prefetch_factor`` per worker ahead; replies land in one result queue and are handed out
in task order (a reorder buffer). While waiting the loader polls the workers' liveness, so
a killed worker raises instead of hanging, and reports a stalled worker after
``_loader_iter.STALL_WARNING_SECONDS``. Workers are shut down when the epoch ends, or when
the iterator is garbage-collected (an early ``break``), by a ``weakref.finalize``.
"""
import itertools
import multiprocessing
import queue
import time
import warnings
import weakref

from ember.utils.data import _loader_iter
from ember.utils.data._worker import ExceptionWrapper, Exhausted, SendFailure, worker_loop

_POLL_SECONDS = 0.05


def _context(ctx):
    if ctx is None:
        methods = multiprocessing.get_all_start_methods()
        return multiprocessing.get_context("fork" if "fork" in methods else None)
    return multiprocessing.get_context(ctx) if isinstance(ctx, str) else ctx


def _shutdown(workers, index_queues, result_queue):
    for q in index_queues:
        try:
            q.put(None)
        except (OSError, ValueError):
            pass
    deadline = time.monotonic() + 1.0
    for p in workers:
        p.join(timeout=max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            p.terminate()
            p.join(timeout=1.0)
    for q in (*index_queues, result_queue):
        q.cancel_join_thread()
        q.close()


class MultiProcessIter(_loader_iter.LoaderIter):
    def __init__(self, loader):
        self._loader, n = loader, loader.num_workers
        ctx = _context(loader.multiprocessing_context)
        base_seed = loader._base_seed()
        self._result_queue = ctx.Queue()
        self._index_queues, self._workers = [], []
        fetcher = loader._fetcher()
        for wid in range(n):
            q = ctx.Queue()
            p = ctx.Process(target=worker_loop, daemon=True,
                            args=(fetcher, q, self._result_queue, wid, n, base_seed + wid, loader.worker_init_fn))
            p.start()
            self._index_queues.append(q)
            self._workers.append(p)
        self._shutdown = weakref.finalize(self, _shutdown, self._workers, self._index_queues, self._result_queue)
        self._epoch = -1
        self.start_epoch()

    def start_epoch(self):
        """Begin a new epoch on the same workers (stale replies of an unfinished one are dropped)."""
        loader = self._loader
        if self._epoch >= 0:
            loader._base_seed()
        self._epoch += 1
        self._tasks, self._skip = loader._plan_epoch()
        self._progress = loader._progress
        self._sent = self._received = 0
        self._outstanding, self._results = {}, {}
        self._active = [True] * len(self._workers)
        self._cycle = itertools.cycle(range(len(self._workers)))
        self._tasks_done = False
        for _ in range(loader.prefetch_factor * len(self._workers)):
            self._send()

    def _send(self):
        if self._tasks_done or not any(self._active):
            return
        indices = next(self._tasks, None)  # a stream's tasks are an endless run of None
        if indices is None and not self._loader._iterable:
            self._tasks_done = True
            return
        wid = next(w for w in self._cycle if self._active[w])
        self._index_queues[wid].put((self._sent, self._epoch, indices))
        self._outstanding[self._sent] = (wid, indices)
        self._sent += 1

    def __next__(self):
        while True:
            if self._received >= self._sent:
                if not self._loader.persistent_workers:
                    self._shutdown()
                raise StopIteration
            data = self._wait(self._received)
            wid, indices = self._outstanding.pop(self._received)
            self._received += 1
            if isinstance(data, Exhausted):
                self._active[wid] = False
                continue
            self._send()
            if isinstance(data, ExceptionWrapper):
                data.reraise()
            if isinstance(data, SendFailure):
                raise data.error(indices)
            if self._should_yield():
                return data

    def _wait(self, task_id):
        start, warned, timeout = time.monotonic(), False, self._loader.timeout
        while task_id not in self._results:
            try:
                got_id, epoch, data = self._result_queue.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                waited = time.monotonic() - start
                self._check_alive()
                if timeout > 0 and waited > timeout:
                    self._shutdown()
                    raise RuntimeError(f"DataLoader timed out after {timeout} seconds") from None
                if not warned and waited > _loader_iter.STALL_WARNING_SECONDS:
                    warned = True
                    self._warn_stall(task_id, waited)
                continue
            if epoch == self._epoch:
                self._results[got_id] = data
        return self._results.pop(task_id)

    def _check_alive(self):
        for p in self._workers:
            if not p.is_alive():
                self._shutdown()
                raise RuntimeError(f"DataLoader worker (pid {p.pid}) exited unexpectedly with exit code "
                                   f"{p.exitcode}") from None

    def _warn_stall(self, task_id, waited):
        wid, indices = self._outstanding[task_id]
        what = "the next batch of its IterableDataset" if indices is None else f"sample indices {indices}"
        warnings.warn(f"DataLoader has waited {waited:.1f} s for worker {wid} (pid {self._workers[wid].pid}), "
                      f"which is loading {what}", RuntimeWarning, stacklevel=3)
