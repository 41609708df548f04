"""oneDNN (MKL-DNN) switches: ember is not built with oneDNN, so ``is_available()`` is False; the flags are recorded."""
import sys

from ember.backends._flags import temporarily

enabled = True
deterministic = False
allow_tf32 = True


def is_available():
    return False


def flags(enabled=False, deterministic=False, allow_tf32=True):
    return temporarily(sys.modules[__name__], dict(enabled=enabled, deterministic=deterministic,
                                                   allow_tf32=allow_tf32))


def set_flags(_enabled=None, _deterministic=None, _allow_tf32=None):
    module = sys.modules[__name__]
    old = (enabled, deterministic, allow_tf32)
    for n, v in (("enabled", _enabled), ("deterministic", _deterministic), ("allow_tf32", _allow_tf32)):
        if v is not None:
            setattr(module, n, v)
    return old
