"""opt_einsum switches. ``is_available()`` says whether the opt_einsum package is installed; ember's
einsum contracts through NumPy's own path optimizer (``optimize=True``) either way, so ``enabled`` and
``strategy`` are recorded. Setting a strategy without opt_einsum raises ValueError, as in PyTorch."""
import sys

from ember.backends._flags import package_found, temporarily

_STRATEGIES = ("auto", "greedy", "optimal")


def is_available():
    return package_found("opt_einsum")


def get_opt_einsum():
    """The opt_einsum module when installed, else None."""
    if not is_available():
        return None
    import opt_einsum as module  # optional dependency

    return module


class _Module(type(sys)):
    """The module object: ``strategy`` is validated when set."""

    @property
    def strategy(self):
        return self._strategy if is_available() and self.enabled else None

    @strategy.setter
    def strategy(self, value):
        if not is_available():
            raise ValueError(f"opt_einsum is not available, so setting `strategy` to {value} will not be meaningful; "
                             "install opt_einsum or leave `strategy` unset.")
        if not self.enabled:
            raise ValueError(f"opt_einsum is not enabled, so setting a `strategy` to {value} will not be meaningful; "
                             "set `enabled` to True as well or leave `strategy` unset.")
        if value not in _STRATEGIES:
            raise ValueError(f"`strategy` must be one of {list(_STRATEGIES)}, got {value!r}")
        self._strategy = value


sys.modules[__name__].__class__ = _Module
enabled = is_available()
_strategy = "auto"


def flags(enabled=None, strategy=None):
    return temporarily(sys.modules[__name__], dict(enabled=enabled, strategy=strategy))


def set_flags(_enabled=None, _strategy=None):
    module = sys.modules[__name__]
    old = (module.enabled, module.strategy)
    if _enabled is not None:
        module.enabled = _enabled
    if _strategy is not None:
        module.strategy = _strategy
    return old
