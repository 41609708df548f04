"""Dynamic batching: concurrent requests to one model version are stacked into one batch.

Each request holds one array per model input, all with a leading batch dimension. A batch starts with the
oldest waiting request and takes the next ones whose per-sample shapes and dtypes match, until
``max_batch_size`` rows or ``max_batch_delay`` seconds after it started collecting. Requests that do not
match wait, first in line, for the next batch. The queue is bounded: a full queue refuses new requests
with 503 and ``Retry-After`` instead of growing.
"""
import asyncio
import collections
import time

import numpy as np

from ember.serve.errors import ServeError


class Request:
    __slots__ = ("arrays", "rows", "key", "future", "enqueued")

    def __init__(self, arrays, loop):
        self.arrays = arrays
        self.rows = arrays[0].shape[0]
        self.key = tuple((a.shape[1:], a.dtype.str) for a in arrays)
        self.future = loop.create_future()
        self.enqueued = time.perf_counter()


class Batcher:
    def __init__(self, max_batch_size, max_batch_delay_s, queue_size, on_depth=None):
        self.max_batch_size = max_batch_size
        self.max_batch_delay_s = max_batch_delay_s
        self.queue = asyncio.Queue(maxsize=queue_size)
        self.held = collections.deque()   # taken from the queue but left for the next batch (shape mismatch)
        self.on_depth = on_depth or (lambda depth: None)

    def depth(self):
        return self.queue.qsize() + len(self.held)

    def submit(self, arrays):
        """Queue a request; returns its future (resolving to one array per model output)."""
        request = Request(arrays, asyncio.get_running_loop())
        if len(self.held) >= self.queue.maxsize:
            raise _overloaded(self.queue.maxsize)
        try:
            self.queue.put_nowait(request)
        except asyncio.QueueFull:
            raise _overloaded(self.queue.maxsize) from None
        self.on_depth(self.depth())
        return request.future

    async def next_request(self):
        while True:
            request = self.held.popleft() if self.held else await self.queue.get()
            if not request.future.done():   # a request that timed out or was abandoned is skipped
                return request

    async def collect(self, first):
        """The batch that starts with ``first``: compatible requests until full or the delay runs out."""
        batch, rows = [first], first.rows
        deadline = time.perf_counter() + self.max_batch_delay_s
        skipped = []
        while rows < self.max_batch_size:
            if self.held:
                candidate = self.held.popleft()
            else:
                remaining = deadline - time.perf_counter()
                if remaining <= 0 and self.queue.empty():
                    break
                try:
                    candidate = self.queue.get_nowait() if remaining <= 0 else \
                        await asyncio.wait_for(self.queue.get(), remaining)
                except (asyncio.TimeoutError, asyncio.QueueEmpty):
                    break
            if candidate.future.done():
                continue
            if candidate.key == first.key and rows + candidate.rows <= self.max_batch_size:
                batch.append(candidate)
                rows += candidate.rows
            else:
                skipped.append(candidate)
                if len(skipped) > self.max_batch_size:
                    break
        self.held.extendleft(reversed(skipped))
        self.on_depth(self.depth())
        return batch


def stack(batch):
    """One array per model input, the batch's requests concatenated along dimension 0."""
    n_inputs = len(batch[0].arrays)
    return [batch[0].arrays[i] if len(batch) == 1 else np.concatenate([r.arrays[i] for r in batch])
            for i in range(n_inputs)]


def scatter(batch, outputs):
    """Give each request its rows of every output."""
    start = 0
    for request in batch:
        stop = start + request.rows
        if not request.future.done():
            request.future.set_result([o[start:stop] for o in outputs])
        start = stop


def fail(batch, error):
    for request in batch:
        if not request.future.done():
            request.future.set_exception(error)


def _overloaded(size):
    return ServeError(503, f"the model's queue is full ({size} requests waiting); retry shortly",
                      headers={"Retry-After": "1"})
