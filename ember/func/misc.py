"""The small members of ``ember.func``: ``debug_unwrap`` and ``functionalize``."""
import functools

from ember.func._batched import to_physical


def debug_unwrap(tensor, *, recurse=True):
    """The tensor a batched tensor wraps (the whole batch, batch dims first); others are returned as they are."""
    if recurse:
        return to_physical(tensor)[0]
    return getattr(tensor, "_value", tensor)


def functionalize(func, *, remove="mutations"):
    """``func`` as a function without observable aliasing changes. ember runs eagerly on its own
    memory (no lazy views to replay), so the result computes what ``func`` computes, mutations of
    the inputs included, as PyTorch's does."""
    if remove not in ("mutations", "mutations_and_views"):
        raise RuntimeError(f"functionalize(f, remove='mutations'): received invalid argument for remove={remove}. "
                           "Valid options are:\n     remove='mutations'\n     remove='mutations_and_views'")

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)
    return wrapper
