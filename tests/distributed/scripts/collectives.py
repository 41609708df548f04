"""Every collective against a NumPy reference, on each rank: float32/float64/int64, several sizes
(including empty and 0-d), contiguous and non-contiguous tensors, sync and async. Prints one line
per rank with the number of checks; any wrong value raises."""
import sys

import numpy as np

import ember
import ember.distributed as dist

dist.init_process_group("gloo")
rank, n = dist.get_rank(), dist.get_world_size()
checks = 0
QUICK = "--quick" in sys.argv  # fewer cases, for the 4-rank run
DTYPES = [np.float32, np.int64] if QUICK else [np.float32, np.float64, np.int64]
SHAPES = [(0,), (3, 4)] if QUICK else [(), (0,), (5,), (3, 4), (257, 3)]


def data(r, shape, dtype, salt=0):
    rng = np.random.default_rng(1000 * r + 7 * salt + len(shape))
    return rng.integers(-4, 5, size=shape).astype(dtype)


def tensors(r, shape, dtype, salt=0):
    """(contiguous, non-contiguous) tensors holding the same values."""
    a = data(r, shape, dtype, salt)
    c = ember.tensor(a)
    if a.ndim == 0:
        return [c]
    wide = ember.zeros(*shape[:-1], shape[-1] * 2, dtype=c.dtype)
    nc = wide[..., ::2]
    nc.copy_(c)
    assert a.size == 0 or not nc.is_contiguous()
    return [c, nc]


def same(t, expected, what):
    global checks
    got = t.numpy()
    if got.shape != expected.shape or not np.allclose(got, expected, rtol=1e-6):
        raise AssertionError(f"rank {rank}: {what}: got {got}, expected {expected}")
    checks += 1


REDUCE = {dist.ReduceOp.SUM: lambda xs: np.sum(xs, 0), dist.ReduceOp.PRODUCT: lambda xs: np.prod(xs, 0),
          dist.ReduceOp.MIN: lambda xs: np.min(xs, 0), dist.ReduceOp.MAX: lambda xs: np.max(xs, 0),
          dist.ReduceOp.AVG: lambda xs: np.mean(xs, 0)}

for dtype in DTYPES:
    for shape in SHAPES:
        everyone = [data(r, shape, dtype) for r in range(n)]
        for async_op in ((True,) if QUICK else (False, True)):
            for op, ref in REDUCE.items():
                if op is dist.ReduceOp.AVG and dtype is np.int64:
                    continue
                for t in tensors(rank, shape, dtype):
                    w = dist.all_reduce(t, op=op, async_op=async_op)
                    if async_op:
                        w.wait()
                        assert w.is_completed()
                    same(t, ref(everyone).astype(dtype), f"all_reduce {op} {shape} {dtype}")
            for t in tensors(rank, shape, dtype):
                w = dist.reduce(t, dst=n - 1, op=dist.ReduceOp.SUM, async_op=async_op)
                w and w.wait()
                if rank == n - 1:
                    same(t, np.sum(everyone, 0).astype(dtype), "reduce")
            for t in tensors(rank, shape, dtype):
                w = dist.broadcast(t, src=1, async_op=async_op)
                w and w.wait()
                same(t, everyone[1], "broadcast")
            mine = tensors(rank, shape, dtype)
            for t in mine:
                outs = [ember.zeros(*shape, dtype=t.dtype) for _ in range(n)]
                w = dist.all_gather(outs, t, async_op=async_op)
                w and w.wait()
                for r in range(n):
                    same(outs[r], everyone[r], "all_gather")
                flat = ember.zeros(n * max(t.numel(), 0), dtype=t.dtype)
                w = dist.all_gather_into_tensor(flat, t, async_op=async_op)
                w and w.wait()
                same(flat, np.concatenate([e.reshape(-1) for e in everyone]), "all_gather_into_tensor")
                outs = [ember.zeros(*shape, dtype=t.dtype) for _ in range(n)] if rank == 0 else None
                w = dist.gather(t, outs, dst=0, async_op=async_op)
                w and w.wait()
                if rank == 0:
                    for r in range(n):
                        same(outs[r], everyone[r], "gather")
            # scatter: rank 0 sends piece r (its data with salt r) to rank r
            pieces = [ember.tensor(data(0, shape, dtype, salt=r)) for r in range(n)] if rank == 0 else None
            for t in tensors(rank, shape, dtype, salt=99):
                w = dist.scatter(t, pieces, src=0, async_op=async_op)
                w and w.wait()
                same(t, data(0, shape, dtype, salt=rank), "scatter")
            # reduce_scatter: rank r contributes data(r, salt=j) as piece j
            for t in tensors(rank, shape, dtype, salt=50):
                ins = [ember.tensor(data(rank, shape, dtype, salt=j)) for j in range(n)]
                w = dist.reduce_scatter(t, ins, op=dist.ReduceOp.SUM, async_op=async_op)
                w and w.wait()
                same(t, np.sum([data(r, shape, dtype, salt=rank) for r in range(n)], 0).astype(dtype), "reduce_scatter")
            if shape and shape[0]:
                big = ember.tensor(np.concatenate([data(rank, shape, dtype, salt=j) for j in range(n)]))
                out = ember.zeros(*shape, dtype=big.dtype)
                w = dist.reduce_scatter_tensor(out, big, op=dist.ReduceOp.MAX, async_op=async_op)
                w and w.wait()
                same(out, np.max([data(r, shape, dtype, salt=rank) for r in range(n)], 0).astype(dtype),
                     "reduce_scatter_tensor")

# all_to_all with pieces of different sizes: rank r sends r + j + 1 values to rank j
ins = [ember.full((rank + j + 1,), float(10 * rank + j)) for j in range(n)]
outs = [ember.zeros(j + rank + 1) for j in range(n)]
dist.all_to_all(outs, ins)
for j in range(n):
    same(outs[j], np.full(j + rank + 1, 10.0 * j + rank, dtype=np.float32), "all_to_all")
# all_to_all_single, even and uneven splits along dim 0
x = ember.arange(2 * n * 3, dtype=ember.float64).reshape(2 * n, 3) + 100 * rank
y = ember.zeros(2 * n, 3, dtype=ember.float64)
dist.all_to_all_single(y, x)
expect = np.concatenate([np.arange(2 * n * 3).reshape(2 * n, 3)[2 * rank:2 * rank + 2] + 100 * r for r in range(n)])
same(y, expect, "all_to_all_single")
send_sizes = [j + 1 for j in range(n)]  # rank r sends j + 1 rows to rank j
x = ember.full((sum(send_sizes), 2), float(rank), dtype=ember.int64)
y = ember.zeros(n * (rank + 1), 2, dtype=ember.int64)
dist.all_to_all_single(y, x, output_split_sizes=[rank + 1] * n, input_split_sizes=send_sizes)
same(y, np.repeat(np.arange(n), rank + 1)[:, None].repeat(2, 1), "all_to_all_single uneven")

# point to point: a ring, sync and async, and recv from any source
right, left = (rank + 1) % n, (rank - 1) % n
box = ember.zeros(4)
if rank % 2 == 0:
    dist.send(ember.full((4,), float(rank)), right)
    src = dist.recv(box, left)
else:
    src = dist.recv(box, left)
    dist.send(ember.full((4,), float(rank)), right)
assert src == left
same(box, np.full(4, float(left), dtype=np.float32), "send/recv")
box = ember.zeros(2, 3).t()
works = [dist.isend(ember.full((3, 2), float(rank)), right, tag=5), dist.irecv(box, tag=5)]
for w in works:
    w.wait()
assert works[1].source_rank() == left
same(box, np.full((3, 2), float(left), dtype=np.float32), "isend/irecv any source into a non-contiguous tensor")

# objects
objs = [{"rank": rank}, "x" * rank] if rank == 0 else [None, None]
dist.broadcast_object_list(objs, src=0)
assert objs == [{"rank": 0}, ""], objs
gathered = [None] * n
dist.all_gather_object(gathered, ("r", rank, list(range(rank))))
assert gathered == [("r", r, list(range(r))) for r in range(n)], gathered

# subgroups: the even ranks
evens = dist.new_group([r for r in range(n) if r % 2 == 0])
t = ember.tensor([float(rank)])
result = dist.all_reduce(t, group=evens)
if rank % 2 == 0:
    same(t, np.array([float(sum(range(0, n, 2)))], dtype=np.float32), "all_reduce in a subgroup")
    assert dist.get_world_size(evens) == len(range(0, n, 2)) and dist.get_rank(evens) == rank // 2
else:
    assert result is None and t.item() == rank
dist.barrier()
dist.destroy_process_group()
assert not dist.is_initialized()
print(f"rank {rank}: {checks} checks passed", flush=True)
sys.exit(0)
