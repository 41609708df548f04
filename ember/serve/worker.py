"""Inference worker processes: each loads one archive, runs a warm-up batch, then runs batches on request.

Workers are processes (``spawn``), not threads: a model that crashes or is killed takes down only its
worker, which the server replaces, and memory a model holds is returned when its worker goes. The choice
was measured (``benchmarks/bench_serve.py --threads-vs-processes``): see benchmarks/README.md.
The pipe between the server and its workers carries NumPy arrays between ember's own processes; nothing
read from an archive is ever unpickled.
"""
import multiprocessing
import time
import traceback

import numpy as np

from ember.autograd.grad_mode import no_grad
from ember.backend.threads import set_num_threads
from ember._tensor import Tensor
from ember.creation import from_numpy
from ember.serve.archive import build_model, read_archive


class WorkerDiedError(RuntimeError):
    """The worker process exited (crashed or was killed) before answering."""


class ModelFailedError(RuntimeError):
    """The model raised on a batch; the message is the model's error, without a traceback."""


def warmup_inputs(manifest):
    """One zero-valued sample per input, free dimensions set to 1."""
    return [np.zeros([1] + [1 if d is None else d for d in s["shape"]], dtype=s["datatype"])
            for s in manifest["inputs"]]


def run_model(model, arrays):
    with no_grad():
        out = model(*[from_numpy(np.ascontiguousarray(a)) for a in arrays])
    outs = out if isinstance(out, (tuple, list)) else (out,)
    if not all(isinstance(o, Tensor) for o in outs):
        raise TypeError(f"model returned {type(out).__name__}; a server model must return a tensor or a tuple of tensors")
    return [o.detach().cpu().numpy() for o in outs]


def worker_main(conn, archive_path, allowed_prefixes, threads):
    """The worker process: load, warm up, report ``("ready", seconds)`` or ``("error", msg)``, then serve."""
    try:
        start = time.perf_counter()
        set_num_threads(threads)
        archive = read_archive(archive_path)
        model = build_model(archive, allowed_prefixes)
        run_model(model, warmup_inputs(archive.manifest))
        conn.send(("ready", time.perf_counter() - start))
    except Exception as e:  # noqa: BLE001 - any load failure is reported to the server by name
        conn.send(("error", f"{type(e).__name__}: {e}"))
        return
    while True:
        try:
            msg = conn.recv()
        except (EOFError, KeyboardInterrupt):
            return
        if msg[0] == "stop":
            return
        try:
            conn.send(("ok", run_model(model, msg[1])))
        except Exception as e:  # noqa: BLE001 - the request fails, the worker lives on
            last = traceback.extract_tb(e.__traceback__)[-1:]
            where = f" (at {last[0].name})" if last else ""
            conn.send(("fail", f"{type(e).__name__}: {e}{where}"))


class WorkerProcess:
    """The server's handle on one worker process. Its methods block: call them from a thread pool."""

    def __init__(self, archive_path, allowed_prefixes, threads):
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=worker_main, args=(child, archive_path, tuple(allowed_prefixes), threads),
                                   daemon=True, name="ember-serve-worker")
        self.process.start()
        child.close()
        self.load_seconds = None

    @property
    def pid(self):
        return self.process.pid

    def alive(self):
        return self.process.is_alive()

    def wait_ready(self, timeout):
        """Block until the worker has loaded and warmed up; raises RuntimeError with its error otherwise."""
        kind, value = self._receive(timeout, "loading the model")
        if kind != "ready":
            raise RuntimeError(value)
        self.load_seconds = value
        return value

    def infer(self, arrays, timeout):
        try:
            self.conn.send(("infer", arrays))
        except (BrokenPipeError, OSError):
            raise WorkerDiedError(f"worker {self.pid} exited with code {self.process.exitcode}") from None
        kind, value = self._receive(timeout, "running a batch")
        if kind == "fail":
            raise ModelFailedError(value)
        return value

    def _receive(self, timeout, doing):
        deadline = time.monotonic() + timeout
        while not self.conn.poll(0.05):
            if not self.process.is_alive() and not self.conn.poll(0):
                raise WorkerDiedError(f"worker {self.pid} exited with code {self.process.exitcode} while {doing}")
            if time.monotonic() > deadline:
                self.kill()
                raise WorkerDiedError(f"worker {self.pid} took longer than {timeout:g} s {doing} and was stopped")
        try:
            return self.conn.recv()
        except (EOFError, OSError):
            raise WorkerDiedError(f"worker {self.pid} exited with code {self.process.exitcode} while {doing}") from None

    def stop(self, timeout=5.0):
        try:
            self.conn.send(("stop",))
        except (BrokenPipeError, OSError):
            pass
        self.process.join(timeout)
        self.kill()
        self.conn.close()

    def kill(self):
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
