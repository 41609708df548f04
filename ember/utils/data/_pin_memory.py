"""``DataLoader(pin_memory=True)``: batches copied into page-locked host memory, from which
``.to("cuda", non_blocking=True)`` is an asynchronous copy.

With worker processes a pin-memory thread (as in PyTorch's loader) takes the workers' batches and
pins them while the training step runs; without workers the batch is pinned where it is loaded.
The loader's resume state stays exact: a batch the thread holds ahead counts as not yet yielded."""
import collections.abc
import queue
import threading

from ember._tensor import Tensor
from ember.utils.data._loader_iter import LoaderIter

_AHEAD = 2  # batches the pin thread pins ahead of the training loop


def pin_memory(data):
    """``data`` with every tensor in it (nested in dicts, lists, tuples, namedtuples) pinned; any other
    object with a ``pin_memory()`` method (a custom batch) is asked to pin itself."""
    if isinstance(data, Tensor):
        return data.pin_memory()
    if isinstance(data, str | bytes):
        return data
    if isinstance(data, collections.abc.Mapping):
        pinned = {k: pin_memory(v) for k, v in data.items()}
        return pinned if type(data) is dict else _same_type(data, pinned)
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(pin_memory(v) for v in data))
    if isinstance(data, tuple | list):
        return type(data)(pin_memory(v) for v in data)
    if hasattr(data, "pin_memory"):
        return data.pin_memory()
    return data


def _same_type(mapping, items):
    try:
        return type(mapping)(items)
    except TypeError:  # a dict subclass whose constructor takes other arguments
        return items


class PinMemoryIter(LoaderIter):
    """The batches of ``inner`` (a loader iterator), pinned: by a thread when ``threaded``."""

    def __init__(self, loader, inner, threaded):
        self._loader, self._inner = loader, inner
        self._thread = None
        if threaded:
            self._queue, self._stop = queue.Queue(maxsize=_AHEAD), threading.Event()
            self._thread = threading.Thread(target=self._run, name="ember-pin-memory", daemon=True)
            self._thread.start()

    def __next__(self):
        if self._thread is None:
            return pin_memory(next(self._inner))
        kind, value = self._queue.get()
        if kind == "end":
            raise StopIteration
        if kind == "error":
            raise value
        self._loader._progress["yielded"] += 1
        return value

    def _run(self):
        try:
            for batch in self._inner:
                self._loader._progress["yielded"] -= 1  # held here, not yet seen by the training loop
                if not self._put(("batch", pin_memory(batch))):
                    return
            self._put(("end", None))
        except BaseException as error:  # noqa: BLE001 - handed to the training loop's thread
            self._put(("error", error))

    def _put(self, item):
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def close(self):
        """Stop the pin thread (the iterator is dropped or the loader starts another epoch)."""
        if self._thread is not None:
            self._stop.set()

    __del__ = close
