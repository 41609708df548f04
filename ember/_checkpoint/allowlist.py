"""Classes the user trusts ``ember.load`` to rebuild (PyTorch's ``add_safe_globals`` registry)."""
import contextlib

_SAFE = []


def _entry(obj):
    if isinstance(obj, tuple):
        value, name = obj
        return name, value
    return class_path(obj), obj


def add_safe_globals(safe_globals):
    """Allow ``ember.load`` to rebuild these classes (or ``(class, "module.Name")`` pairs).

    >>> import ember
    >>> class Net(ember.nn.Module):
    ...     pass
    >>> ember.serialization.add_safe_globals([Net])
    >>> Net in ember.serialization.get_safe_globals()
    True
    >>> ember.serialization.clear_safe_globals()
    """
    for obj in safe_globals:
        name, value = _entry(obj)
        if all(n != name or v is not value for n, v in _SAFE):
            _SAFE.append((name, value))


def get_safe_globals():
    """The user-allowlisted classes, in the order they were added."""
    return [v for _, v in _SAFE]


def clear_safe_globals():
    """Forget every class added by :func:`add_safe_globals`."""
    _SAFE.clear()


@contextlib.contextmanager
def safe_globals(safe_globals):
    """Allowlist classes only inside a ``with`` block.

    >>> import ember
    >>> with ember.serialization.safe_globals([dict]):
    ...     len(ember.serialization.get_safe_globals()) >= 1
    True
    """
    before = list(_SAFE)
    add_safe_globals(safe_globals)
    try:
        yield
    finally:
        _SAFE[:] = before


def lookup(path):
    """The allowlisted object named ``path`` ("module.Qualname"), or None. Never imports anything."""
    for name, value in reversed(_SAFE):
        if name == path:
            return value
    return None


def is_allowed(cls):
    return any(v is cls for _, v in _SAFE)


def class_path(cls):
    return f"{cls.__module__}.{cls.__qualname__}"
