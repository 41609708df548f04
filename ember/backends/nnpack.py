"""NNPACK: not part of ember; ``enabled`` is recorded."""
import sys

from ember.backends._flags import temporarily

enabled = True


def is_available():
    return False


def set_flags(_enabled):
    old = (enabled,)
    sys.modules[__name__].enabled = _enabled
    return old


def flags(enabled=False):
    return temporarily(sys.modules[__name__], dict(enabled=enabled))
