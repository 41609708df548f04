"""What both DataLoader iterators share (the single-process one in ``dataloader``, the worker one in
``_multiprocess``), in a module of its own so that neither imports the other."""

STALL_WARNING_SECONDS = 30.0  # a worker silent this long gets a warning naming it and its sample indices


class LoaderIter:
    """What both DataLoader iterators share: the iterator protocol, the loader's length, and the
    resume bookkeeping (skip the batches a restored state had already yielded, count the rest)."""

    def __iter__(self):
        return self

    def __len__(self):
        return len(self._loader)

    def _should_yield(self):
        if self._skip:
            self._skip -= 1
            return False
        self._progress["yielded"] += 1
        return True
