"""Fused optimizer steps: one compiled pass over a parameter, its gradient and its state.

Each elementwise update rule (``sgd.py``, ``adam.py``...) keeps its NumPy step as the reference
and adds a numba kernel ``kernel(lo, hi, param, grad, *state, *scalars)`` that reads element ``i``
of every array once and writes the parameter and state once: one pass over memory where the
NumPy step makes eight to twelve. ``run`` cuts the flattened parameter into one block of
elements per thread (``compiled.parallel``), so each element is written by one block and the
result does not depend on the thread count.

Parameters of up to a few hundred thousand elements (biases, norms, most layers of a model made of
many tensors) would each run on one core in turn, or pay a thread hand-off (~40 us) each. Inside
``batched()`` (``Optimizer.step`` opens it) their kernels are queued instead and run together when it
closes, the queue cut into one run of whole tensors per thread with about equal element counts: the
multi-tensor step of torch's ``foreach``. A tensor is still updated by one kernel call, so the bits do
not depend on the thread count.

The scalars are cast to the parameter's dtype before the call, so a float32 parameter is
updated in float32 arithmetic with float32 hyper-parameters, as PyTorch's CPU kernels do.
Float16/bfloat16 and complex parameters, sparse gradients, GPU arrays and mixed dtypes take the
NumPy step (``fusable`` says no).
"""
import bisect
import threading
from contextlib import contextmanager

import numpy as np

from ember.backend import compiled, threads

FLOAT_DTYPES = frozenset((np.dtype(np.float32), np.dtype(np.float64)))
QUEUED_BELOW = 1 << 18  # parameters smaller than this wait for the multi-tensor run (one hand-off for all)


def fusable(param, grad, *state):
    """True when the kernel can update ``param`` from ``grad`` with ``state`` (arrays, or None for absent buffers)."""
    if type(param) is not np.ndarray or param.dtype not in FLOAT_DTYPES:
        return False
    arrays = [a for a in state if a is not None]
    arrays.append(grad)
    for a in arrays:
        if type(a) is not np.ndarray or a.dtype != param.dtype or a.shape != param.shape:
            return False
    return compiled.usable(param)


def run(kernel, param, grad, state, scalars):
    """``kernel(lo, hi, param, grad, *state, *scalars)`` over every element.

    ``state`` may hold None for buffers the step does not use. Numeric scalars are cast to the parameter's
    dtype (bools stay flags). Non-contiguous arrays are updated through contiguous copies written back.
    """
    cast = param.dtype.type
    scalars = tuple(s if type(s) is bool else cast(s) for s in scalars)
    written = (param,) + tuple(state)
    flat = _flat_views(written + (grad,))
    queue = getattr(_queued, "calls", None)
    if flat is not None and queue is not None and param.size < QUEUED_BELOW:
        queue.append((kernel, param.size, flat + scalars))
        return
    if flat is not None:
        compiled.parallel(kernel, param.size, *flat, *scalars, min_rows_per_thread=compiled.MIN_ELEMENTS_PER_THREAD)
        return
    copies = [None if a is None else np.ascontiguousarray(a).reshape(-1) for a in written]
    g = np.ascontiguousarray(grad).reshape(-1)
    compiled.parallel(kernel, param.size, copies[0], g, *copies[1:], *scalars,
                      min_rows_per_thread=compiled.MIN_ELEMENTS_PER_THREAD)
    for target, copy in zip(written, copies):
        if copy is not None:
            target[...] = copy.reshape(target.shape)


_queued = threading.local()


@contextmanager
def batched():
    """Queue the kernels of small parameters met inside, and run them over the threads at the end."""
    if getattr(_queued, "calls", None) is not None:
        yield
        return
    _queued.calls = []
    try:
        yield
    finally:
        calls, _queued.calls = _queued.calls, None
        _run_queued(calls)


def _run_queued(calls):
    """Each call whole, in runs of consecutive calls with about equal element counts, one run per thread."""
    total = sum(size for _, size, _ in calls)
    parts = max(1, min(threads.get_num_threads(), len(calls), total // compiled.MIN_ELEMENTS_PER_THREAD))
    ends = list(np.cumsum([size for _, size, _ in calls]))
    bounds = [0] + [bisect.bisect_left(ends, total * i / parts) + 1 for i in range(1, parts)] + [len(calls)]
    compiled.parallel(_run_calls, parts, calls, bounds)


def _run_calls(lo, hi, calls, bounds):
    for kernel, size, args in calls[bounds[lo]:bounds[hi]]:
        kernel(0, size, *args)


def _flat_views(arrays):
    """1-D views of ``arrays`` (param first, grad last) that walk all of them in one element order, or None."""
    present = [a for a in arrays if a is not None]
    if all(a.flags.c_contiguous for a in present):
        views = [None if a is None else a.reshape(-1) for a in arrays]
    elif all(a.flags.f_contiguous for a in present):
        views = [None if a is None else a.T.reshape(-1) for a in arrays]
    else:
        return None
    return (views[0], views[-1]) + tuple(views[1:-1])
