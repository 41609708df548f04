"""Model versions and their workers: loading, warm-up, serving loops, restarts, scaling and health.

A version's status is what health reports: LOADING until every first worker has loaded and run its
warm-up batch, then READY (all workers serving), DEGRADED (some), UNAVAILABLE (none, e.g. while the only
worker is being replaced) or FAILED (its archive could not be loaded; the error is kept and shown).
"""
import asyncio
import os
import time

from ember.serve.archive import check_name, read_archive
from ember.serve.batching import Batcher, fail, scatter, stack
from ember.serve.errors import ServeError
from ember.serve.handlers import make_handler
from ember.serve.worker import ModelFailedError, WorkerDiedError, WorkerProcess


class WorkerSlot:
    """One place for a worker in a version: the process it holds now and the loop that feeds it batches."""

    def __init__(self, version, index):
        self.version, self.index = version, index
        self.worker = None
        self.state = "starting"
        self.restarts = 0
        self.retiring = asyncio.Event()
        self.lock = asyncio.Lock()
        self.task = None

    def describe(self):
        return {"id": self.index, "pid": self.worker.pid if self.worker else None, "status": self.state,
                "restarts": self.restarts}

    async def start(self):
        v = self.version
        self.state = "starting"
        loop = asyncio.get_running_loop()
        self.worker = await loop.run_in_executor(None, WorkerProcess, v.path, v.config.allow_modules, v.threads)
        seconds = await loop.run_in_executor(None, self.worker.wait_ready, v.config.load_timeout_s)
        v.metrics.load_seconds.labels(v.name, v.version).set(seconds)
        self.state = "ready"
        v.update_gauges()

    async def replace(self, dead):
        """Start a new worker unless another caller already replaced ``dead``."""
        async with self.lock:
            if self.worker is not dead or self.retiring.is_set() or dead.alive() and self.state == "ready":
                return
            self.state = "restarting"
            self.restarts += 1
            v = self.version
            v.metrics.worker_restarts.labels(v.name, v.version).inc()
            v.update_gauges()
            await asyncio.get_running_loop().run_in_executor(None, dead.kill)
            try:
                await self.start()
            except (RuntimeError, OSError) as e:
                self.state = "failed"
                v.update_gauges()
                v.log(f"worker {self.index} could not be restarted: {e}")

    async def serve(self):
        """Feed batches to this slot's worker until the slot retires."""
        v = self.version
        while not self.retiring.is_set():
            getter = asyncio.ensure_future(v.batcher.next_request())
            retire = asyncio.ensure_future(self.retiring.wait())
            await asyncio.wait({getter, retire}, return_when=asyncio.FIRST_COMPLETED)
            retire.cancel()
            if not getter.done():
                getter.cancel()
                break
            batch = await v.batcher.collect(getter.result())
            v.metrics.batch_size.labels(v.name).observe(sum(r.rows for r in batch))
            await self.run(batch)

    async def run(self, batch):
        v = self.version
        arrays = stack(batch)
        for attempt in range(2):
            if self.state != "ready" and self.worker is not None:
                await self.replace(self.worker)   # waits for a restart in progress, or starts one
            if self.state != "ready":
                fail(batch, ServeError(503, f"model {v.name!r} has no ready worker; retry shortly",
                                       headers={"Retry-After": "1"}))
                return
            worker = self.worker
            try:
                outputs = await asyncio.get_running_loop().run_in_executor(
                    None, worker.infer, arrays, v.config.request_timeout_s + 1.0)
            except WorkerDiedError as e:
                v.log(str(e))
                if self.worker is worker and self.state == "ready":
                    self.state = "dead"
                await self.replace(worker)
                if attempt:
                    fail(batch, ServeError(500, f"model {v.name!r}: {e}"))
                if all(r.future.done() for r in batch):   # every request timed out or was abandoned
                    return
                continue
            except ModelFailedError as e:
                await self.isolate(batch, e)
                return
            rows = sum(r.rows for r in batch)
            bad = [o.shape for o in outputs if o.ndim == 0 or o.shape[0] != rows]
            if bad:
                fail(batch, ServeError(500, f"model {v.name!r} returned outputs of shapes {bad} for a batch of "
                                            f"{rows} rows; each output needs the batch as its first dimension"))
            else:
                scatter(batch, outputs)
            return

    async def isolate(self, batch, error):
        """A batch failed: run its requests one by one so only the request at fault gets the error."""
        if len(batch) == 1:
            fail(batch, ServeError(400, f"model {self.version.name!r} failed on this input: {error}"))
            return
        for request in batch:
            await self.run([request])


class ModelVersion:
    def __init__(self, registry, path, workers, max_batch_size=None, max_batch_delay_ms=None, name=None):
        self.registry, self.config, self.metrics = registry, registry.config, registry.metrics
        self.path = os.fspath(path)
        self.archive = read_archive(self.path)
        self.manifest = self.archive.manifest
        self.archive.state_dict = self.archive.program = None   # the workers read the file themselves
        self.name, self.version = check_name(name or self.manifest["name"]), self.manifest["version"]
        self.handler = make_handler(self.manifest, self.config)
        self.max_batch_size = max_batch_size or self.config.max_batch_size
        self.max_batch_delay_ms = self.config.max_batch_delay_ms if max_batch_delay_ms is None else max_batch_delay_ms
        self.batcher = Batcher(self.max_batch_size, self.max_batch_delay_ms / 1000, self.config.queue_size,
                               on_depth=self.metrics.queue_depth.labels(self.name).set)
        self.target_workers = workers
        self.threads = self.config.worker_threads or max(1, (os.cpu_count() or 1) // workers)
        self.slots = []
        self.restarting = set()
        self.loading, self.error = True, None

    def log(self, message):
        self.registry.log(f"model {self.name} {self.version}: {message}")

    @property
    def status(self):
        if self.error:
            return "FAILED"
        if self.loading:
            return "LOADING"
        ready = sum(s.state == "ready" for s in self.slots)
        return "READY" if ready == len(self.slots) else "DEGRADED" if ready else "UNAVAILABLE"

    @property
    def ready(self):
        return self.status in ("READY", "DEGRADED")

    def update_gauges(self):
        self.metrics.workers_ready.labels(self.name, self.version).set(sum(s.state == "ready" for s in self.slots))

    async def load(self):
        start = time.perf_counter()
        try:
            await self.scale(self.target_workers)
        except (RuntimeError, OSError) as e:
            self.error = str(e)
            self.log(f"failed to load: {e}")
            await self.stop()
        else:
            self.log(f"ready with {len(self.slots)} worker(s) in {time.perf_counter() - start:.2f} s")
        self.loading = False

    async def scale(self, n):
        """Grow to ``n`` workers (waiting until they are warm) or retire the surplus."""
        self.target_workers = n
        new = [WorkerSlot(self, i) for i in range(len(self.slots), n)]
        self.slots.extend(new)
        try:
            await asyncio.gather(*(s.start() for s in new))
        except (RuntimeError, OSError):
            self.slots = [s for s in self.slots if s not in new]
            await asyncio.gather(*(asyncio.get_running_loop().run_in_executor(None, s.worker.kill)
                                   for s in new if s.worker is not None))
            self.update_gauges()
            raise
        for s in new:
            s.task = asyncio.create_task(s.serve())
        surplus, self.slots = self.slots[n:], self.slots[:n]
        await self._retire(surplus)
        self.update_gauges()

    async def _retire(self, slots):
        for s in slots:
            s.retiring.set()
        for s in slots:
            if s.task:
                await s.task
            if s.worker:
                await asyncio.get_running_loop().run_in_executor(None, s.worker.stop)
            s.state = "stopped"

    async def stop(self):
        slots, self.slots = self.slots, []
        await self._retire(slots)
        waiting = list(self.batcher.held)
        while not self.batcher.queue.empty():
            waiting.append(self.batcher.queue.get_nowait())
        fail(waiting, ServeError(503, f"model {self.name!r} version {self.version!r} was unloaded"))

    async def watch(self):
        """Replace workers that died while idle, so health tells the truth before the next request."""
        for s in list(self.slots):
            if s.state == "ready" and s.worker is not None and not s.worker.alive():
                s.state = "dead"
                self.update_gauges()
                task = asyncio.create_task(s.replace(s.worker))
                self.restarting.add(task)   # keep a reference until it is done
                task.add_done_callback(self.restarting.discard)

    def describe(self):
        m = self.manifest
        return {"modelName": self.name, "modelVersion": self.version, "modelUrl": os.path.basename(self.path),
                "status": self.status, "error": self.error, "handler": m["handler"],
                "minWorkers": self.target_workers, "maxWorkers": self.target_workers,
                "batchSize": self.max_batch_size, "maxBatchDelay": self.max_batch_delay_ms,
                "queueDepth": self.batcher.depth(), "inputs": m["inputs"], "outputs": m["outputs"],
                "workers": [s.describe() for s in self.slots], "isDefault": self.registry.is_default(self)}
