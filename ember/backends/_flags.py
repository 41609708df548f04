"""The one mechanism behind every ``flags(...)`` context manager: set module attributes, restore them on exit."""
import contextlib
import importlib.util


@contextlib.contextmanager
def temporarily(module, values):
    """Set ``module.<name> = value`` for each item of ``values`` (None: leave it), restore on exit."""
    values = {k: v for k, v in values.items() if v is not None}
    old = {k: getattr(module, k) for k in values}
    for k, v in values.items():
        setattr(module, k, v)
    try:
        yield
    finally:
        for k, v in old.items():
            setattr(module, k, v)


def package_found(name):
    """Whether an importable package called ``name`` is installed (without importing it)."""
    return importlib.util.find_spec(name) is not None
