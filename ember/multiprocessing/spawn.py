"""``spawn``/``start_processes``: run ``fn(rank, *args)`` in ``nprocs`` new processes, started by MPI.

The processes are ranks of one MPI job (through ``mpiexec`` and ember's per-rank agent), so they
can call ``init_process_group`` (with any ``init_method``: MPI already joined them). ``fn`` is
pickled by reference and the main script is re-imported in each child as with Python's "spawn"
start method, so guard the entry point with ``if __name__ == "__main__":``. Shared tensors in
``args`` arrive shared; other arguments are copied.
"""
import io
import json
import os
import pickle
import shutil
import sys
import tempfile
from multiprocessing import spawn as mp_spawn

from ember._tensor import Tensor
from ember.distributed._job import Job, mpiexec_path
from ember.multiprocessing.shared_memory import is_shared, reduce_by_path


class ProcessException(Exception):  # noqa: N818 - PyTorch's name
    def __init__(self, msg, error_index, pid):
        super().__init__(msg)
        self.msg, self.error_index, self.pid = msg, error_index, pid


class ProcessRaisedException(ProcessException):
    """A spawned process raised; the message holds its error."""


class ProcessExitedException(ProcessException):
    """A spawned process exited with a non-zero status or was killed by a signal."""

    def __init__(self, msg, error_index, pid, exit_code, signal_name=None):
        super().__init__(msg, error_index, pid)
        self.exit_code, self.signal_name = exit_code, signal_name


class _ArgsPickler(pickle.Pickler):
    def reducer_override(self, obj):
        if isinstance(obj, Tensor) and obj.device.type == "cpu" and is_shared(obj):
            return reduce_by_path(obj)
        return NotImplemented


class ProcessContext:
    """The running job: ``join()`` waits for it and raises the first failure."""

    def __init__(self, job, run_dir, nprocs):
        self._job, self._run_dir, self.nprocs = job, run_dir, nprocs

    def pids(self):
        pids = []
        for r in range(self.nprocs):
            try:
                with open(os.path.join(self._run_dir, f"started-{r}.json")) as f:
                    pids.append(json.load(f)["pid"])
            except OSError:
                pids.append(None)
        return pids

    def join(self, timeout=None):
        """Wait (up to ``timeout`` seconds); True once every process ended, raising if one failed."""
        status = self._job.wait(timeout)
        if status is None:
            return False
        failures = self._job.failures()
        shutil.rmtree(self._run_dir, ignore_errors=True)
        if status == 0:
            return True
        if not failures:
            raise ProcessExitedException(f"mpiexec exited with status {self._job.proc.returncode}", 0, None,
                                         self._job.proc.returncode)
        first = failures[0]
        rank, pid, code = first["rank"], first["pid"], first["returncode"]
        if code < 0:
            name = first["reason"].split("(")[-1].rstrip(")")
            raise ProcessExitedException(f"process {rank} terminated with signal {name}", rank, pid, code, name)
        raise ProcessRaisedException(f"\n\n-- Process {rank} terminated with the following error:\n{first['reason']}",
                                     rank, pid)


def start_processes(fn, args=(), nprocs=1, join=True, daemon=False, start_method="spawn", failure_grace=5.0):
    """Start ``nprocs`` processes running ``fn(rank, *args)``; wait for them when ``join``."""
    run_dir = tempfile.mkdtemp(prefix="ember-spawn-")
    preparation = mp_spawn.get_preparation_data("ember-spawn")
    preparation.pop("authkey", None)  # the children are not multiprocessing's: they need no key
    with open(os.path.join(run_dir, "main.pkl"), "wb") as f:
        pickle.dump(preparation, f)
    buf = io.BytesIO()
    _ArgsPickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump((fn, tuple(args)))
    with open(os.path.join(run_dir, "payload.pkl"), "wb") as f:
        f.write(buf.getvalue())
    cmd = [mpiexec_path(), "-n", str(nprocs), sys.executable, "-m", "ember.distributed._agent", run_dir,
           "127.0.0.1", "29500", str(failure_grace), "-m", "ember.multiprocessing._spawn_child", run_dir]
    context = ProcessContext(Job(cmd, run_dir, nprocs, failure_grace), run_dir, nprocs)
    if not join:
        return context
    while not context.join():
        pass
    return None


def spawn(fn, args=(), nprocs=1, join=True, daemon=False, start_method="spawn"):
    """Run ``fn(i, *args)`` for ``i`` in ``range(nprocs)``, each in its own process (an MPI rank).

    ``daemon`` and ``start_method`` are accepted for PyTorch's signature; the processes are always
    started by ``mpiexec`` and prepared as with the "spawn" method.

    >>> spawn(train, args=(world_size,), nprocs=world_size)  # doctest: +SKIP
    """
    return start_processes(fn, args, nprocs, join, daemon, start_method)
