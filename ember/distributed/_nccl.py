"""The NCCL engine for CUDA tensors, through CuPy's NCCL bindings (``cupy.cuda.nccl``).

Written against the CUDA backend (tensors whose ``_data`` is a ``cupy.ndarray``) and imported only
when ``init_process_group("nccl")`` runs. The NCCL unique id travels over MPI, so ranks are started
the same way as for the CPU engine. Each call is enqueued on the current stream; its ``Work``
waits on a CUDA event recorded after it, bounded by the group's timeout.
NOT YET VERIFIED ON A GPU: ember had no CUDA backend when this was written.
"""
import time
import types

from ember.distributed import _mpi
from ember.distributed.constants import DistBackendError, ReduceOp
from ember.distributed._group import ProcessGroup
from ember.distributed.work import Work


def nccl_available():
    try:
        from cupy.cuda import nccl  # noqa: F401
    except ImportError:
        return False
    return True


def _cupy():
    try:
        import cupy
        from cupy.cuda import nccl
    except ImportError as e:
        raise RuntimeError("the nccl backend needs CuPy with NCCL: pip install 'ember[cuda]'") from e
    return cupy, nccl


_DTYPES = {"float32": "NCCL_FLOAT32", "float64": "NCCL_FLOAT64", "float16": "NCCL_FLOAT16", "int64": "NCCL_INT64",
           "int32": "NCCL_INT32", "int8": "NCCL_INT8", "uint8": "NCCL_UINT8", "bool": "NCCL_UINT8",
           "bfloat16": "NCCL_BFLOAT16"}
_OPS = {ReduceOp.SUM: "NCCL_SUM", ReduceOp.AVG: "NCCL_AVG", ReduceOp.PRODUCT: "NCCL_PROD",
        ReduceOp.MIN: "NCCL_MIN", ReduceOp.MAX: "NCCL_MAX"}


class NcclWork(Work):
    """Done when the CUDA event recorded after the call has passed."""

    def __init__(self, pg, event, what, seq, finish=None, result=()):
        super().__init__(pg, (), what, seq, finish, result)
        self._event = event

    def wait(self, timeout=None):
        if not self._done:
            deadline = time.monotonic() + self._pg.timeout_s()
            while not self._event.query():
                if time.monotonic() > deadline:
                    self._pg.broken = f"{self._what} timed out after {self._pg.timeout_s():g} s"
                    self._pg.nccl_comm.abort()
                    self._error = _mpi.timeout_error(self._pg.broken)
                    raise self._error
                time.sleep(1e-4)
            self._complete()
        return True

    def is_completed(self):
        if not self._done and self._event.query():
            self._complete()
        return self._done


class NcclProcessGroup(ProcessGroup):
    """A process group whose collectives run on NCCL; MPI only carries the unique id at creation."""

    def __init__(self, comm, ranks, backend, timeout, device_id=None):
        super().__init__(comm, ranks, backend, timeout)
        cupy, nccl = _cupy()
        if device_id is not None:
            cupy.cuda.Device(getattr(device_id, "index", device_id)).use()
        uid = nccl.get_unique_id() if comm.Get_rank() == 0 else None
        uid = comm.bcast(uid, root=0)
        self.nccl_comm = nccl.NcclCommunicator(comm.Get_size(), uid, comm.Get_rank())
        self.ops = _ops

    def check_device(self, tensor, what):
        if tensor.device.type != "cuda":
            raise RuntimeError(f"{what}: the nccl process group carries CUDA tensors, got one on {tensor.device}")


def _dtype(a):
    _, nccl = _cupy()
    return getattr(nccl, _DTYPES[a.dtype.name])


def _op(op):
    _, nccl = _cupy()
    return getattr(nccl, _OPS[op])


def _launch(pg, what, seq, finish=None, result=()):
    cupy, _ = _cupy()
    event = cupy.cuda.Event(block=False, disable_timing=True)
    event.record()
    return NcclWork(pg, event, what, seq, finish, result)


def _contiguous(tensor):
    cupy, _ = _cupy()
    return cupy.ascontiguousarray(tensor._data)


def _store(tensor, buf):
    if buf.data.ptr != tensor._data.data.ptr:
        tensor._data[...] = buf.reshape(tensor._data.shape)
    tensor._bump()


def _stream():
    cupy, _ = _cupy()
    return cupy.cuda.get_current_stream().ptr


def all_reduce(pg, tensor, op, what, seq):
    buf = _contiguous(tensor)
    pg.nccl_comm.allReduce(buf.data.ptr, buf.data.ptr, buf.size, _dtype(buf), _op(op), _stream())
    return _launch(pg, what, seq, lambda: _store(tensor, buf), [tensor])


def broadcast(pg, tensor, src, what, seq):
    buf = _contiguous(tensor)
    pg.nccl_comm.bcast(buf.data.ptr, buf.size, _dtype(buf), src, _stream())
    return _launch(pg, what, seq, lambda: _store(tensor, buf), [tensor])


def reduce(pg, tensor, dst, op, what, seq):
    buf = _contiguous(tensor)
    pg.nccl_comm.reduce(buf.data.ptr, buf.data.ptr, buf.size, _dtype(buf), _op(op), dst, _stream())
    return _launch(pg, what, seq, lambda: _store(tensor, buf), [tensor])


def all_gather_into(pg, output, tensor, what, seq):
    send, recv = _contiguous(tensor), _contiguous(output)
    pg.nccl_comm.allGather(send.data.ptr, recv.data.ptr, send.size, _dtype(send), _stream())
    return _launch(pg, what, seq, lambda: _store(output, recv), [output])


def all_gather(pg, tensor_list, tensor, what, seq):
    cupy, _ = _cupy()
    send = _contiguous(tensor).reshape(-1)
    recv = cupy.empty((pg.size(), send.size), dtype=send.dtype)
    pg.nccl_comm.allGather(send.data.ptr, recv.data.ptr, send.size, _dtype(send), _stream())

    def finish():
        for out, row in zip(tensor_list, recv):
            _store(out, row)
    return _launch(pg, what, seq, finish, [tensor_list])


def concat_for_reduce(tensors):
    cupy, _ = _cupy()
    return cupy.concatenate([_contiguous(t).reshape(-1) for t in tensors])


def reduce_scatter_into(pg, output, flat_input, op, what, seq):
    recv = _contiguous(output)
    pg.nccl_comm.reduceScatter(flat_input.data.ptr, recv.data.ptr, recv.size, _dtype(recv), _op(op), _stream())
    return _launch(pg, what, seq, lambda: _store(output, recv), [output])


def _exchange(pg, sends, recvs):
    """Point-to-point transfers as one NCCL group: ``sends``/``recvs`` are (array, peer) pairs."""
    _, nccl = _cupy()
    nccl.groupStart()
    for buf, peer in sends:
        pg.nccl_comm.send(buf.data.ptr, buf.size, _dtype(buf), peer, _stream())
    for buf, peer in recvs:
        pg.nccl_comm.recv(buf.data.ptr, buf.size, _dtype(buf), peer, _stream())
    nccl.groupEnd()


def gather(pg, tensor, gather_list, dst, what, seq):
    send = _contiguous(tensor)
    if pg.rank() != dst:
        _exchange(pg, [(send, dst)], [])
        return _launch(pg, what, seq)
    outs = [_contiguous(t) for t in gather_list]
    _exchange(pg, [(send, dst)], [(o, r) for r, o in enumerate(outs)])

    def finish():
        for t, o in zip(gather_list, outs):
            _store(t, o)
    return _launch(pg, what, seq, finish, [gather_list])


def scatter(pg, tensor, scatter_list, src, what, seq):
    recv = _contiguous(tensor)
    sends = [(_contiguous(t), r) for r, t in enumerate(scatter_list)] if pg.rank() == src else []
    _exchange(pg, sends, [(recv, src)])
    return _launch(pg, what, seq, lambda: _store(tensor, recv), [tensor])


def all_to_all(pg, outputs, inputs, what, seq):
    outs = [_contiguous(t) for t in outputs]
    _exchange(pg, [(_contiguous(t), r) for r, t in enumerate(inputs)], [(o, r) for r, o in enumerate(outs)])

    def finish():
        for t, o in zip(outputs, outs):
            _store(t, o)
    return _launch(pg, what, seq, finish, list(outputs))


def all_to_all_single(pg, output, input, recv_counts, send_counts, what, seq):
    send, recv = _contiguous(input).reshape(-1), _contiguous(output).reshape(-1)

    def pieces(buf, counts):
        starts = [sum(counts[:r]) for r in range(len(counts))]
        return [(buf[s:s + c], r) for r, (s, c) in enumerate(zip(starts, counts))]
    _exchange(pg, pieces(send, send_counts), pieces(recv, recv_counts))
    return _launch(pg, what, seq, lambda: _store(output, recv), [output])


def barrier(pg, what, seq):
    cupy, _ = _cupy()
    one = cupy.ones(1, dtype=cupy.float32)
    pg.nccl_comm.allReduce(one.data.ptr, one.data.ptr, 1, _dtype(one), _op(ReduceOp.SUM), _stream())
    return _launch(pg, what, seq)


def send(pg, tensor, dst, tag, what):
    _exchange(pg, [(_contiguous(tensor), dst)], [])
    return _launch(pg, what, None, result=[tensor])


def recv(pg, tensor, src, tag, what):
    if src is None:
        raise DistBackendError(f"{what}: NCCL cannot receive from any source; name the sending rank")
    buf = _contiguous(tensor)
    _exchange(pg, [], [(buf, src)])
    work = _launch(pg, what, None, lambda: _store(tensor, buf), [tensor])
    work.source_rank = lambda: pg.ranks[src]
    return work


_ops = types.SimpleNamespace(**{name: globals()[name] for name in (
    "all_reduce", "broadcast", "reduce", "all_gather_into", "all_gather", "concat_for_reduce", "reduce_scatter_into",
    "gather", "scatter", "all_to_all", "all_to_all_single", "barrier", "send", "recv")})
