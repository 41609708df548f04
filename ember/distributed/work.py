"""``Work``: the handle an ``async_op=True`` collective returns."""
from ember.distributed import _mpi


class Work:
    """A posted collective or point-to-point transfer. ``wait()`` blocks (bounded by the group's
    timeout) and then makes the result visible in the output tensors; ``is_completed()`` polls."""

    def __init__(self, pg, requests, what, seq=None, finish=None, result=()):
        self._pg, self._requests, self._what, self._seq = pg, list(requests), what, seq
        self._finish, self._result = finish, list(result)
        self._done = False
        self._error = None
        self._statuses = None  # filled for a recv, to tell its sender

    def __repr__(self):
        return f"<Work {self._what}{' done' if self._done else ''}>"

    def _complete(self):
        self._done = True
        if self._finish is not None:
            self._finish()
            self._finish = None

    def wait(self, timeout=None):
        """Block until done; raise ``DistBackendError`` if a rank died or the group's timeout passed."""
        if not self._done:
            try:
                self._pg.wait(self._requests, self._what, self._seq, self._statuses)
            except Exception as e:
                self._error = e
                raise
            self._complete()
        return True

    def is_completed(self):
        if not self._done and self._requests and _mpi.mpi().Request.Testall(self._requests, self._statuses):
            self._complete()
        return self._done or not self._requests

    def is_success(self):
        return self.is_completed() and self._error is None

    def exception(self):
        return self._error

    def result(self):
        return self._result

    def source_rank(self):
        """For a ``recv``/``irecv`` from any source: the global rank that sent."""
        return self._pg.ranks[self._statuses[0].Get_source()]


def completed(result=()):
    """A Work that is already done (a collective that moves nothing, such as one on a single rank)."""
    work = Work(None, (), "done", result=result)
    work._done = True
    return work
