"""``DataLoader``: batches from a dataset, in one process or with worker processes, with
resumable iteration (``state_dict``/``load_state_dict``).

>>> loader = DataLoader(TensorDataset(ember.arange(5)), batch_size=2)
>>> [b[0].tolist() for b in loader]
[[0, 1], [2, 3], [4]]
"""
import collections
import itertools
import math
import warnings

from ember.backend import cuda_is_available
from ember.random import randint
from ember.utils.data._loader_iter import LoaderIter
from ember.utils.data._multiprocess import MultiProcessIter
from ember.utils.data._pin_memory import PinMemoryIter
from ember.utils.data._worker import Fetcher
from ember.utils.data.collate import default_collate, default_convert
from ember.utils.data.dataset import IterableDataset
from ember.utils.data.sampler import BatchSampler, RandomSampler, SequentialSampler



def _check_iterable_options(shuffle, sampler, batch_sampler):
    for name, value in (("shuffle", shuffle), ("sampler", sampler), ("batch_sampler", batch_sampler)):
        if value not in (None, False):
            raise ValueError(f"DataLoader with IterableDataset: expected unspecified {name} option, "
                             f"but got {name}={value}")


def _check_options(loader, batch_size, shuffle, sampler, batch_sampler, drop_last, prefetch_factor):
    if loader.num_workers < 0:
        raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable multiprocessing.")
    if loader.timeout < 0:
        raise ValueError("timeout option should be non-negative")
    if loader.num_workers == 0 and prefetch_factor is not None:
        raise ValueError("prefetch_factor option could only be specified in multiprocessing.let num_workers > 0 "
                         "to enable multiprocessing, otherwise set prefetch_factor to None.")
    if prefetch_factor is not None and prefetch_factor < 0:
        raise ValueError("prefetch_factor option should be non-negative")
    if loader.persistent_workers and loader.num_workers == 0:
        raise ValueError("persistent_workers option needs num_workers > 0")
    if isinstance(loader.dataset, IterableDataset):
        _check_iterable_options(shuffle, sampler, batch_sampler)
    if sampler is not None and shuffle:
        raise ValueError("sampler option is mutually exclusive with shuffle")
    if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None or drop_last):
        raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, "
                         "and drop_last")
    if batch_size is None and drop_last:
        raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with drop_last")


class DataLoader:
    """Iterate over ``dataset`` in batches.

    ``sampler``/``shuffle`` pick the order (``generator`` seeds the shuffle and the workers'
    base seed), ``batch_size``/``drop_last`` or ``batch_sampler`` the batches, ``collate_fn``
    (default ``default_collate``) merges samples. ``num_workers > 0`` loads in that many worker
    processes (``multiprocessing_context``: "fork" where available, else the default; "spawn"
    works too), ``prefetch_factor`` batches ahead per worker; batches still arrive in sampler
    order. ``timeout`` bounds the wait for one batch. ``persistent_workers`` keeps the workers
    between epochs. ``pin_memory`` puts batches in page-locked memory (a pin thread does it while
    workers load; without a GPU it warns and does nothing, as PyTorch); ``in_order`` is accepted,
    and batches always arrive in sampler order.

    >>> loader = DataLoader(TensorDataset(ember.arange(6)), batch_size=4, drop_last=True)
    >>> len(loader)
    1
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=None, persistent_workers=False,
                 pin_memory_device="", in_order=True):
        self.dataset, self.num_workers, self.timeout = dataset, num_workers, timeout
        self.persistent_workers, self.pin_memory, self.pin_memory_device = persistent_workers, pin_memory, pin_memory_device
        self.worker_init_fn, self.multiprocessing_context, self.generator = worker_init_fn, multiprocessing_context, generator
        self.in_order = in_order
        _check_options(self, batch_size, shuffle, sampler, batch_sampler, drop_last, prefetch_factor)
        self._iterable = isinstance(dataset, IterableDataset)
        if not self._iterable:
            if sampler is None:
                sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
            if batch_size is not None and batch_sampler is None:
                batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        if batch_sampler is not None:
            batch_size, drop_last = None, False
        self.batch_size, self.drop_last, self.sampler, self.batch_sampler = batch_size, drop_last, sampler, batch_sampler
        self.prefetch_factor = (2 if prefetch_factor is None else prefetch_factor) if num_workers else None
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self._progress = {"order": None, "yielded": 0}
        self._resume = None
        self._persistent_iter = None

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None or (self._iterable and self.batch_size is not None)

    @property
    def _index_sampler(self):
        return self.batch_sampler if self.batch_sampler is not None else self.sampler

    def _fetcher(self):
        return Fetcher(self.dataset, self._iterable, self._auto_collation, self.collate_fn, self.batch_size,
                       self.drop_last)

    def _plan_epoch(self):
        """Start an epoch: the task list (the sampler's batches drawn as the loader advances, or
        endless ``None`` for a stream) and how many leading batches to skip when resuming from
        ``load_state_dict``."""
        resume, self._resume = self._resume, None
        yielded = skip = resume["yielded"] if resume else 0
        self._progress = {"order": None, "yielded": yielded}
        if self._iterable:
            tasks = itertools.repeat(None)
        elif resume is not None and resume["order"] is not None:
            tasks = _Plan(resume["order"][skip - resume.get("start", 0):], self._progress)
            skip = 0
        elif hasattr(self._index_sampler, "__len__"):
            tasks = _Plan(self._index_sampler, self._progress)
        else:
            tasks, skip = itertools.islice(iter(self._index_sampler), skip, None), 0
        if isinstance(tasks, _Plan):
            self._progress["order"] = tasks
        return tasks, skip
    def _base_seed(self):
        return randint(0, 2**62, (), generator=self.generator).item()

    def __iter__(self):
        batches = self._batches()
        if self.pin_memory and _can_pin():
            return PinMemoryIter(self, batches, threaded=self.num_workers > 0)
        return batches

    def _batches(self):
        if self.num_workers == 0:
            return _SingleProcessIter(self)
        if not self.persistent_workers:
            return MultiProcessIter(self)
        if self._persistent_iter is None:
            self._persistent_iter = MultiProcessIter(self)
        else:
            self._persistent_iter.start_epoch()
        return self._persistent_iter

    def __len__(self):
        if not self._iterable:
            return len(self._index_sampler)
        n = len(self.dataset)
        if self.batch_size is not None:
            n = n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)
        return n

    def state_dict(self):
        """Where the current epoch stands: ``yielded`` batches so far and, when the sampler has a
        length, ``order``: the batches still to come (index lists, from batch ``start`` on; taking
        this draws the rest of the epoch from the sampler). A loader given this by
        ``load_state_dict`` yields exactly the remaining batches in its next epoch."""
        plan, yielded = self._progress["order"], self._progress["yielded"]
        if plan is None:
            return {"order": None, "yielded": yielded}
        return {"order": [list(b) if isinstance(b, list) else b for b in plan.rest()], "yielded": yielded,
                "start": yielded}

    def load_state_dict(self, state_dict):
        """Resume at the next unseen batch of the epoch recorded in ``state_dict``."""
        if set(state_dict) not in ({"order", "yielded"}, {"order", "yielded", "start"}):
            raise KeyError(f"DataLoader state_dict expects keys 'order' and 'yielded' (and 'start'), "
                           f"got {sorted(state_dict)}")
        self._resume = dict(state_dict)


def _can_pin():
    if cuda_is_available():
        return True
    warnings.warn("'pin_memory' argument is set as true but no accelerator is found, then device pinned memory "
                  "won't be used.", stacklevel=3)
    return False


class _Plan:
    """An epoch's batches, drawn from the sampler one at a time as the loader sends them (so an
    endless sampler costs nothing up front). It keeps only the batches drawn but not yet yielded,
    which with the rest of the epoch is all that resuming needs."""

    def __init__(self, batches, progress):
        self._source, self._progress = iter(batches), progress
        self._drawn = progress["yielded"]
        self._unseen = collections.deque()

    def __iter__(self):
        return self

    def __next__(self):
        batch = next(self._source)
        self._drawn += 1
        self._unseen.append(batch)
        while len(self._unseen) > self._drawn - self._progress["yielded"]:
            self._unseen.popleft()
        return batch

    def rest(self):
        """The batches from the first one not yet yielded to the end of the epoch."""
        later = list(self._source)
        self._source = iter(later)
        unseen = self._drawn - self._progress["yielded"]
        return list(self._unseen)[len(self._unseen) - unseen:] + later


class _SingleProcessIter(LoaderIter):
    def __init__(self, loader):
        self._loader = loader
        loader._base_seed()
        self._tasks, self._skip = loader._plan_epoch()
        self._progress = loader._progress
        self._fetcher = loader._fetcher()
        self._fetcher.restart()

    def __next__(self):
        while True:
            data = self._fetcher.fetch(next(self._tasks))
            if self._should_yield():
                return data
