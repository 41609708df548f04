"""``nn.attention``: choose the kernels ``scaled_dot_product_attention`` may use.

ember has one attention kernel, written with its own ops; it stands for the two backends torch
runs on the CPU (math and flash), so a selection without either makes
``scaled_dot_product_attention`` raise torch's "No viable backend" error.

>>> from ember.nn.attention import SDPBackend, sdpa_kernel
>>> with sdpa_kernel(SDPBackend.MATH):
...     pass
"""
import contextlib
import enum

__all__ = ["SDPBackend", "sdpa_kernel"]


class SDPBackend(enum.IntEnum):
    """torch's attention backend names."""
    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4


_enabled = [tuple(b for b in SDPBackend if b is not SDPBackend.ERROR)]


def enabled_backends():
    """The backends the innermost ``sdpa_kernel`` block allows (all of them outside any block)."""
    return _enabled[-1]


@contextlib.contextmanager
def sdpa_kernel(backends, set_priority=False):
    """Allow only ``backends`` (one SDPBackend or a list) inside the block."""
    if isinstance(backends, SDPBackend):
        backends = [backends]
    if not isinstance(backends, (list, tuple)) or not all(isinstance(b, SDPBackend) for b in backends):
        raise ValueError("Backend must be an instance of SDPBackend or a list of SDPBackend instances")
    _enabled.append(tuple(backends))
    try:
        yield
    finally:
        _enabled.pop()
