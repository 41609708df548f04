"""Python-native (DSL) kernel overrides, PyTorch's Triton/CuteDSL operator replacements. ember registers
no DSL overrides, so there is nothing to list; switching operations off is recorded and answered."""
import contextlib

available_dsls = []
all_dsls = []
_DISABLED = set()


def get_dsl_operations(dsl):
    raise ValueError(f"unknown DSL {dsl!r}: ember registers no DSL operation overrides (available: {all_dsls})")


def is_dsl_disabled(dsl):
    get_dsl_operations(dsl)


def disable_operations(*names):
    _DISABLED.update(names)


def enable_operations(*names):
    _DISABLED.difference_update(names)


def is_operation_disabled(name):
    return name in _DISABLED


@contextlib.contextmanager
def operations_disabled(*names):
    """Switch ``names`` off for a ``with`` block."""
    added = set(names) - _DISABLED
    _DISABLED.update(added)
    try:
        yield
    finally:
        _DISABLED.difference_update(added)
