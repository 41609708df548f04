"""The collectives on CPU tensors, each one MPI non-blocking call (``Iallreduce``, ``Ibcast``, ...).

Every function posts its call and returns a ``Work`` whose finish step copies the result into the
output tensors where MPI could not write into them directly (non-contiguous tensors, float16 and
bfloat16 reduced in float32, bool reduced as bytes). Ranks here are ranks in ``pg``.
"""
import numpy as np

from ember.distributed._mpi import bool_op, mpi, mpi_op, wire_array
from ember.distributed.constants import ReduceOp
from ember.distributed.work import Work


def store(tensor, buf):
    """Write ``buf`` (a wire array holding ``tensor``'s values) into ``tensor``'s memory."""
    a = tensor._data
    if buf.dtype != a.dtype:
        buf = buf.view(a.dtype) if buf.dtype.itemsize == a.dtype.itemsize and buf.dtype.kind in "u" else buf.astype(a.dtype)
    if not (a.flags.c_contiguous and buf.size and buf.ctypes.data == a.ctypes.data):
        a[...] = buf.reshape(a.shape)
    tensor._bump()


def _average(buf, n, op):
    if op is ReduceOp.AVG:
        np.divide(buf, n, out=buf, casting="unsafe")


def _reduce_op(a, op):
    return mpi_op(bool_op(op) if a.dtype == np.bool_ else op)


def all_reduce(pg, tensor, op, what, seq):
    buf = wire_array(tensor._data, True)
    req = pg.comm.Iallreduce(mpi().IN_PLACE, buf, _reduce_op(tensor._data, op))

    def finish():
        _average(buf, pg.size(), op)
        store(tensor, buf)
    return Work(pg, [req], what, seq, finish, [tensor])


def broadcast(pg, tensor, src, what, seq):
    buf = wire_array(tensor._data, False)
    req = pg.comm.Ibcast(buf, root=src)
    finish = None if pg.rank() == src else (lambda: store(tensor, buf))
    return Work(pg, [req], what, seq, finish, [tensor])


def reduce(pg, tensor, dst, op, what, seq):
    buf = wire_array(tensor._data, True)
    rop = _reduce_op(tensor._data, op)
    if pg.rank() == dst:
        req = pg.comm.Ireduce(mpi().IN_PLACE, buf, rop, root=dst)

        def finish():
            _average(buf, pg.size(), op)
            store(tensor, buf)
    else:
        req, finish = pg.comm.Ireduce(buf, None, rop, root=dst), None
    return Work(pg, [req], what, seq, finish, [tensor])


def all_gather_into(pg, output, tensor, what, seq):
    """Gather every rank's ``tensor`` into ``output`` (a tensor of ``size * numel`` elements)."""
    send = wire_array(tensor._data, False).reshape(-1)
    recv = wire_array(output._data, False).reshape(-1)
    req = pg.comm.Iallgather(send, recv)
    return Work(pg, [req], what, seq, lambda: store(output, recv), [output])


def _store_rows(tensors, rows):
    """The finishing step of a gather: row ``r`` of the received block into ``tensors[r]``."""
    def finish():
        for out, row in zip(tensors, rows):
            store(out, row)
    return finish


def all_gather(pg, tensor_list, tensor, what, seq):
    send = wire_array(tensor._data, False).reshape(-1)
    recv = np.empty((pg.size(), send.size), dtype=send.dtype)
    req = pg.comm.Iallgather(send, recv)
    return Work(pg, [req], what, seq, _store_rows(tensor_list, recv), [tensor_list])


def reduce_scatter_into(pg, output, flat_input, op, what, seq):
    """Reduce ``flat_input`` (``size`` equal blocks, a wire array) and give rank ``r`` block ``r``."""
    recv = wire_array(output._data, True).reshape(-1)
    rop = mpi_op(bool_op(op) if output._data.dtype == np.bool_ else op)
    req = pg.comm.Ireduce_scatter_block(flat_input, recv, rop)

    def finish():
        _average(recv, pg.size(), op)
        store(output, recv)
    return Work(pg, [req], what, seq, finish, [output])


def gather(pg, tensor, gather_list, dst, what, seq):
    send = wire_array(tensor._data, False).reshape(-1)
    if pg.rank() != dst:
        return Work(pg, [pg.comm.Igather(send, None, root=dst)], what, seq)
    recv = np.empty((pg.size(), send.size), dtype=send.dtype)
    req = pg.comm.Igather(send, recv, root=dst)
    return Work(pg, [req], what, seq, _store_rows(gather_list, recv), [gather_list])


def scatter(pg, tensor, scatter_list, src, what, seq):
    recv = wire_array(tensor._data, False).reshape(-1)
    send = None
    if pg.rank() == src:
        send = np.stack([wire_array(t._data, False).reshape(-1) for t in scatter_list]) if scatter_list else recv[:0]
    req = pg.comm.Iscatter(send, recv, root=src)
    return Work(pg, [req], what, seq, lambda: store(tensor, recv), [tensor])


def concat_for_reduce(tensors):
    """The tensors flattened into one wire array (the send side of a reduce-scatter)."""
    return np.concatenate([wire_array(t._data, True).reshape(-1) for t in tensors])


def _all_to_all(pg, recv, recv_counts, send, send_counts, what, seq, finish):
    def spec(buf, counts):
        displs = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64).tolist()
        return [buf, (list(map(int, counts)), displs)]
    req = pg.comm.Ialltoallv(spec(send, send_counts), spec(recv, recv_counts))
    return Work(pg, [req], what, seq, finish)


def all_to_all(pg, outputs, inputs, what, seq):
    send = np.concatenate([wire_array(t._data, False).reshape(-1) for t in inputs])
    recv_counts = [t.numel() for t in outputs]
    recv = np.empty(sum(recv_counts), dtype=send.dtype)
    bounds = np.cumsum([0, *recv_counts])

    def finish():
        for t, lo, hi in zip(outputs, bounds[:-1], bounds[1:]):
            store(t, recv[lo:hi])
    work = _all_to_all(pg, recv, recv_counts, send, [t.numel() for t in inputs], what, seq, finish)
    work._result = list(outputs)
    return work


def all_to_all_single(pg, output, input, recv_counts, send_counts, what, seq):
    send = wire_array(input._data, False).reshape(-1)
    recv = wire_array(output._data, False).reshape(-1)
    work = _all_to_all(pg, recv, recv_counts, send, send_counts, what, seq, lambda: store(output, recv))
    work._result = [output]
    return work


def barrier(pg, what, seq):
    return Work(pg, [pg.comm.Ibarrier()], what, seq)


def send(pg, tensor, dst, tag, what):
    buf = wire_array(tensor._data, False)
    return Work(pg, [pg.comm.Isend(buf, dest=dst, tag=tag)], what, result=[tensor])


def recv(pg, tensor, src, tag, what):
    """Receive into ``tensor`` from group rank ``src`` (any rank when None); the Work's
    ``source_rank()`` says who sent."""
    MPI = mpi()  # noqa: N806 - the module, by its usual name
    buf = wire_array(tensor._data, False)
    if not (tensor._data.flags.c_contiguous and buf.dtype == tensor._data.dtype):
        buf = np.empty_like(buf)
    req = pg.comm.Irecv(buf, source=MPI.ANY_SOURCE if src is None else src, tag=tag)
    work = Work(pg, [req], what, finish=lambda: store(tensor, buf), result=[tensor])
    work._statuses = [MPI.Status()]
    return work
