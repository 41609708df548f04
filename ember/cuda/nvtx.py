"""``ember.cuda.nvtx``: NVTX ranges and marks (CuPy's ``cupy.cuda.nvtx``), which Nsight Systems shows
on its timeline. Without a GPU they do nothing.

>>> with ember.cuda.nvtx.range("forward"):   # doctest: +SKIP
...     y = model(x)
"""
import contextlib

from ember.backend.device import gpu_module

_depth = [0]


def _nvtx():
    xp = gpu_module()
    return None if xp is None else xp.cuda.nvtx


def range_push(msg):
    """Open a nested range; returns its depth (0-based), as torch's."""
    nvtx = _nvtx()
    if nvtx is not None:
        nvtx.RangePush(msg)
    _depth[0] += 1
    return _depth[0] - 1


def range_pop():
    """Close the innermost range; returns the depth it had (-1 when none was open)."""
    if _depth[0] == 0:
        return -1
    nvtx = _nvtx()
    if nvtx is not None:
        nvtx.RangePop()
    _depth[0] -= 1
    return _depth[0]


def mark(msg):
    """An instant event on the timeline."""
    nvtx = _nvtx()
    if nvtx is not None:
        nvtx.Mark(msg)


@contextlib.contextmanager
def range(msg, *args, **kwargs):  # noqa: A001 - torch's name
    """``with nvtx.range("step {}", i):`` a range around the block (``msg.format(*args, **kwargs)``)."""
    range_push(msg.format(*args, **kwargs))
    try:
        yield
    finally:
        range_pop()


__all__ = ["mark", "range", "range_pop", "range_push"]
