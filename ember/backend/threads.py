"""Large elementwise kernels on every core, in cache-sized pieces.

NumPy runs each ufunc on one core and streams the whole array through memory once per
pass; PyTorch runs a fused elementwise loop on all its intra-op threads. ``blocked``
narrows that gap without compiled code: a kernel written as a few in-place NumPy/SciPy
calls is run on row blocks of its arrays, one contiguous range per thread (NumPy and
SciPy release the GIL inside their loops), and each thread walks its range in pieces
of about ``PIECE_BYTES`` so that a multi-pass kernel (the GELU's gradient) works in
cache. Arrays under ``MIN_ELEMENTS`` run inline, where handing work to a thread costs
more than it saves.

It pays only where the kernel is compute-bound: SciPy's ``ndtr`` on 2M floats went from
28 to 14.4 ms on two cores, while a plain add (0.4 ms) or an Adam step on a 256x1024
parameter gained nothing (one core already saturates this machine's memory bandwidth)
and lost ~50 us to the hand-off, so those stay plain NumPy.

OpenBLAS keeps its idle threads spinning for a while after every GEMM, which would
take the other cores from these blocks; ``ember/_blas_env.py`` shortens that wait
(``OPENBLAS_THREAD_TIMEOUT``) when ember is imported before NumPy.

>>> import numpy as np
>>> x = np.arange(6.0)
>>> blocked(lambda out, a: np.multiply(a, 2, out=out), np.empty_like(x), x)
array([ 0.,  2.,  4.,  6.,  8., 10.])
"""
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

MIN_ELEMENTS = 1 << 17
PIECE_BYTES = 1 << 18

_num_threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
_pool = None


def get_num_threads():
    """How many threads ember's CPU kernels use: ``ember.get_num_threads()`` is the core count by default."""
    return _num_threads


def set_num_threads(n):
    """Run ember's CPU kernels on ``n`` threads, as ``torch.set_num_threads``: the split elementwise
    kernels here and the BLAS library's GEMMs (through threadpoolctl); 1 keeps all work on the caller."""
    global _num_threads, _pool
    if type(n) is not int:
        raise RuntimeError(f"set_num_threads expects an int, but got {type(n).__name__}")
    if n < 1:
        raise RuntimeError("set_num_threads expects a positive integer")
    from threadpoolctl import threadpool_limits  # loaded on first use: it inspects every loaded library

    threadpool_limits(limits=n, user_api="blas")
    if n != _num_threads and _pool is not None:
        _pool.shutdown(wait=True)
        _pool = None
    _num_threads = n


def init_num_threads():
    """Start the worker threads of ember's split CPU kernels now rather than on their first use."""
    if _num_threads > 1:
        _workers()


def _forget_pool_after_fork():
    """A forked child (a DataLoader worker) has none of the parent's threads; it starts its own pool on demand."""
    global _pool
    _pool = None


os.register_at_fork(after_in_child=_forget_pool_after_fork)


def _workers():
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(_num_threads - 1, thread_name_prefix="ember-elementwise")
    return _pool


def _split_axis(shape, parts):
    return next((axis for axis, size in enumerate(shape) if size >= parts), None)


def _slicer(axis):
    lead = (slice(None),) * axis
    return lambda a, lo, hi: a[lead + (slice(lo, hi),)] if isinstance(a, np.ndarray) else a


def _run_range(kernel, arrays, axis, lo, hi, rows_per_piece):
    take = _slicer(axis)
    for start in range(lo, hi, rows_per_piece):
        stop = min(start + rows_per_piece, hi)
        kernel(*(take(a, start, stop) for a in arrays))


def blocked(kernel, *arrays):
    """Run ``kernel(*arrays)`` piecewise over the leading axis of ``arrays[0]``; returns ``arrays[0]``.

    ``kernel`` must be elementwise along that axis and write its results into the arrays
    it is given (the first is usually the output). The other arrays must have
    ``arrays[0]``'s shape, or broadcast to it; non-arrays are passed through whole.
    """
    result = first = arrays[0]
    size = first.size
    axis = _split_axis(first.shape, 2)
    if size < MIN_ELEMENTS or type(first) is not np.ndarray or axis is None:
        kernel(*arrays)
        return result
    if all(not isinstance(a, np.ndarray) or (a.shape == first.shape and a.flags.c_contiguous) for a in arrays):
        arrays = tuple(a.reshape(-1) if isinstance(a, np.ndarray) else a for a in arrays)
        first, axis = arrays[0], 0
    else:
        arrays = tuple(
            np.broadcast_to(a, first.shape) if isinstance(a, np.ndarray) and a.shape != first.shape else a
            for a in arrays
        )
    rows = first.shape[axis]
    row_bytes = max(1, size // rows * first.itemsize)
    rows_per_piece = max(1, PIECE_BYTES // row_bytes)
    parts = min(_num_threads, rows)
    bounds = [rows * i // parts for i in range(parts + 1)]
    futures = [_workers().submit(_run_range, kernel, arrays, axis, lo, hi, rows_per_piece)
               for lo, hi in zip(bounds[1:-1], bounds[2:])]
    try:
        _run_range(kernel, arrays, axis, bounds[0], bounds[1], rows_per_piece)
    finally:
        for future in futures:
            future.result()
    return result

