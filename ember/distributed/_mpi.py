"""mpi4py, imported on first use (``import ember`` never loads MPI), and the waiting loop every
MPI request goes through: it bounds each wait by the group's timeout and fails fast when the
launcher reports that another rank died."""
import atexit
import json
import os
import sys
import time

import numpy as np

from ember.distributed.constants import DistBackendError, ReduceOp

_MPI = None
_broken = []  # set when a collective failed: MPI_Finalize would wait for the lost rank forever


def mpi():
    """The ``mpi4py.MPI`` module, initialising MPI on first call."""
    global _MPI
    if _MPI is None:
        try:
            from mpi4py import MPI
        except ImportError as e:
            raise RuntimeError(
                "ember.distributed needs mpi4py and an MPI library: pip install 'ember[distributed]' "
                "(mpi4py and the mpich wheel)") from e
        _MPI = MPI
        atexit.register(_exit_if_broken)  # runs before mpi4py's own finalize hook (atexit is LIFO)
    return _MPI


def is_available():
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def mark_broken(message):
    _broken.append(message)


def _exit_if_broken():
    if _broken:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)


def mpi_op(op):
    MPI = mpi()  # noqa: N806 - the module, by its usual name
    return {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
            ReduceOp.MIN: MPI.MIN, ReduceOp.MAX: MPI.MAX}[op]


def wire_array(a, reducing):
    """``a`` as a contiguous array MPI can carry (and reduce, when ``reducing``)."""
    kind = a.dtype
    if kind == np.bool_:
        return np.ascontiguousarray(a).view(np.uint8)
    if kind.itemsize == 2 and kind.kind not in "iu":  # float16, bfloat16: MPI has no arithmetic for them
        return a.astype(np.float32) if reducing else np.ascontiguousarray(a).view(np.uint16)
    return np.ascontiguousarray(a)


def bool_op(op):
    """The byte op that gives ``op``'s logical meaning on 0/1 bytes."""
    return {ReduceOp.SUM: ReduceOp.MAX, ReduceOp.PRODUCT: ReduceOp.MIN}.get(op, op)


def peer_failure():
    """The launcher's report of a rank that already failed, or None (only under ``ember.distributed.run``)."""
    run_dir = os.environ.get("EMBER_RUN_DIR")
    if not run_dir:
        return None
    me = os.environ.get("RANK")
    try:
        names = sorted(n for n in os.listdir(run_dir) if n.startswith("failed-") and n != f"failed-{me}.json")
    except OSError:
        return None
    for name in names:
        try:
            with open(os.path.join(run_dir, name)) as f:
                return json.load(f)
        except (OSError, ValueError):
            continue  # being written; seen on the next look
    return None


def wait_all(requests, deadline, on_timeout, statuses=None):
    """Wait for ``requests`` until ``deadline`` (``time.monotonic()`` seconds).

    Polls ``Test`` (MPI makes progress only inside its calls): spinning for 0.2 ms, then yielding the
    core between polls for 20 ms, then sleeping up to 1 ms between polls, so that ranks that wait
    leave the CPU to those still computing.
    Returns normally (filling ``statuses`` when given), or raises what ``on_timeout(reason)`` returns.
    """
    MPI = mpi()  # noqa: N806 - the module, by its usual name
    start = time.monotonic()
    spin_until, yield_until, next_look, pause = start + 2e-4, start + 0.02, start, 5e-5
    while not MPI.Request.Testall(requests, statuses):
        now = time.monotonic()
        if now < spin_until:
            continue
        if now >= deadline:
            raise on_timeout(None)
        if now >= next_look:
            failed = peer_failure()
            if failed is not None:
                raise on_timeout(failed)
            next_look = now + 0.1
        if now < yield_until:
            os.sched_yield()  # on a busy machine the peer we wait for may need this core
            continue
        time.sleep(pause)
        pause = min(pause * 2, 0.001)


def timeout_error(message):
    mark_broken(message)
    return DistBackendError(message)
