"""Compiled CPU kernels: plain Python loops that numba compiles on first use and caches on disk.

A kernel is written beside the op that uses it, as a loop over a range of rows::

    @kernel
    def _scale_rows(lo, hi, x, out, factor):
        for i in range(lo, hi):
            for j in range(x.shape[1]):
                out[i, j] = x[i, j] * factor

and the op runs it when ``usable(x)`` says so, otherwise its NumPy reference path::

    parallel(_scale_rows, x.shape[0], x, out, 2.0)

``parallel`` cuts ``range(n)`` into one contiguous block per thread and runs the blocks on
ember's own worker threads (``backend.threads``); the kernels are compiled with ``nogil`` so
the blocks run at once. Every output element is written by one block, so results do not
depend on the thread count, and ``ember.set_num_threads`` governs these kernels as it governs
BLAS and the split elementwise kernels.

Why not numba's ``parallel=True``/``prange``: each of its threading layers fails a case ember
must survive, measured with numba 0.68 here. ``omp`` (GNU OpenMP) kills a forked child that
runs a kernel ("Terminating: fork() called from a process already using GNU OpenMP"), which is
every DataLoader worker; ``workqueue`` aborts the whole process when two Python threads call
kernels at once ("Concurrent access has been detected"), which a server or a thread pool does;
``tbb`` needs the ``tbb`` wheel, whose ``libtbb.so.12`` lands in the venv's ``lib/`` where the
loader does not look. ember's pool has none of these problems (it is forgotten in a forked
child and restarted on demand), and one pool rather than two keeps the cores from being
oversubscribed.

Nothing here imports numba until a kernel first runs, so ``import ember`` compiles nothing.
The cache lives in ``$NUMBA_CACHE_DIR`` when that is set, else in ``$XDG_CACHE_HOME/ember/numba``
(``~/.cache/ember/numba``), so it works when site-packages is read-only. ``EMBER_KERNELS=0``
turns every kernel off (the NumPy paths run), as does the ``disabled()`` context the tests use
to compare the two paths.
"""
import os
import threading
import time
from contextlib import contextmanager

import numpy as np

from ember.backend import threads

KERNEL_DTYPES = frozenset(np.dtype(t) for t in (np.float32, np.float64, np.int8, np.int16, np.int32, np.int64,
                                                np.uint8, np.uint16, np.uint32, np.uint64, np.bool_))

_state = threading.local()
_enabled = os.environ.get("EMBER_KERNELS", "1") != "0"
_numba = None  # the numba module once loaded; False when it cannot be
_load_lock = threading.Lock()
_kernels = []  # every Kernel made, for the start-up benchmark and the tests


def cache_dir():
    """Where compiled kernels are cached: ``$NUMBA_CACHE_DIR``, else ember's folder in the user's cache."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return os.environ["NUMBA_CACHE_DIR"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "ember", "numba")


def switched_on():
    """Whether the kernels are on for this process (``EMBER_KERNELS`` is not ``0``); numba is not imported."""
    return _enabled


def numba_module():
    """numba, imported on first use with its cache pointed at ``cache_dir()``; None when it is not installed."""
    global _numba
    if _numba is None:
        with _load_lock:
            if _numba is None:
                try:
                    import numba
                except ImportError:
                    _numba = False
                else:
                    numba.config.CACHE_DIR = cache_dir()
                    _numba = numba
    return _numba or None


def usable(*arrays):
    """True when the kernels are on, numba is installed and every array is a host array of a dtype numba handles
    (float16 and bfloat16 are not: those take the NumPy path)."""
    if not _enabled or getattr(_state, "off", False):
        return False
    for a in arrays:
        if type(a) is not np.ndarray or a.dtype not in KERNEL_DTYPES:
            return False
    return numba_module() is not None


@contextmanager
def disabled():
    """Run the NumPy reference paths in this thread while the context is open (tests compare the two)."""
    before = getattr(_state, "off", False)
    _state.off = True
    try:
        yield
    finally:
        _state.off = before


def kernel(fn=None, **options):
    """Decorator: ``fn`` is compiled by numba (``nogil``, cached on disk) the first time it is called.

    Keyword options go to ``numba.njit``; ``fastmath`` stays off unless asked for, since results must match
    the NumPy reference. Use bare (``@kernel``) or with options (``@kernel(boundscheck=True)``).
    """
    if fn is None:
        return lambda f: Kernel(f, options)
    return Kernel(fn, options)


class Kernel:
    """A lazily compiled numba function; ``compile_seconds`` is how long its first call took (compiling or
    loading from the cache), which the benchmarks report."""

    def __init__(self, fn, options):
        self.python_function = fn
        self._options = {"nogil": True, "cache": True, "error_model": "numpy", **options}
        self._compiled = None
        self.compile_seconds = None
        self.__name__, self.__doc__ = fn.__name__, fn.__doc__
        self.__qualname__ = f"{fn.__module__}.{fn.__qualname__}"
        _kernels.append(self)

    def __call__(self, *args):
        compiled = self._compiled
        if compiled is None:
            return self._first_call(args)
        return compiled(*args)

    def _first_call(self, args):
        numba = numba_module()
        if numba is None:
            raise RuntimeError(f"kernel {self.__name__} needs numba, which is not installed (pip install numba)")
        start = time.perf_counter()
        with _load_lock:
            if self._compiled is None:
                self._compiled = numba.njit(**self._options)(self.python_function)
        result = self._compiled(*args)
        if self.compile_seconds is None:
            self.compile_seconds = time.perf_counter() - start
        return result


def all_kernels():
    """Every kernel defined so far (those of the modules imported), in definition order."""
    return list(_kernels)


MIN_ELEMENTS_PER_THREAD = 1 << 15  # below this a hand-off to a worker thread costs more than it saves


def rows_per_thread(row_size):
    """``min_rows_per_thread`` for rows of ``row_size`` elements: ``MIN_ELEMENTS_PER_THREAD`` worth, at least one."""
    return max(1, MIN_ELEMENTS_PER_THREAD // max(1, row_size))


def parallel(kernel_fn, n, *args, min_rows_per_thread=1):
    """Run ``kernel_fn(lo, hi, *args)`` over ``range(n)`` in one contiguous block per thread; returns None.

    Blocks are fixed by ``n`` and the thread count alone, and each row goes to one block, so a kernel whose
    rows write disjoint outputs gives the same bits for any thread count. ``min_rows_per_thread`` keeps small
    problems on the calling thread, where handing work over costs more than it saves.
    """
    parts = min(threads.get_num_threads(), n // max(1, min_rows_per_thread))
    if parts <= 1:
        kernel_fn(0, n, *args)
        return
    bounds = [n * i // parts for i in range(parts + 1)]
    pool = threads._workers()
    futures = [pool.submit(kernel_fn, lo, hi, *args) for lo, hi in zip(bounds[1:-1], bounds[2:])]
    try:
        kernel_fn(bounds[0], bounds[1], *args)
    finally:
        for future in futures:
            future.result()


def parallel_rows(kernel_fn, n, row_size, *args):
    """``parallel`` over ``n`` rows of about ``row_size`` elements of work each: the split starts once every
    thread gets ``MIN_ELEMENTS_PER_THREAD`` elements."""
    parallel(kernel_fn, n, *args, min_rows_per_thread=rows_per_thread(row_size))


def flat(a):
    """``a`` as the C-ordered 1-d array an elementwise kernel walks (a view when ``a`` is C-contiguous)."""
    return np.ascontiguousarray(a).reshape(-1)


def elementwise(kernel_fn, inputs, *scalars, min_elements_per_thread=MIN_ELEMENTS_PER_THREAD):
    """A new array shaped and typed as ``inputs[0]``, written by ``kernel_fn(lo, hi, *inputs, out, *scalars)``
    over the flattened elements (every input of that shape), in one contiguous block per thread."""
    like = inputs[0]
    out = np.empty(like.shape, like.dtype)
    parallel(kernel_fn, like.size, *(flat(a) for a in inputs), out.reshape(-1), *scalars,
             min_rows_per_thread=min_elements_per_thread)
    return out
