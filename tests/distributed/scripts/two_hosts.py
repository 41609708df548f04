"""Run on two "hosts" (network namespaces): an all_reduce and a DDP step, checked on every rank."""
import socket

import numpy as np

import ember
import ember.distributed as dist
from ember.nn.parallel import DistributedDataParallel

dist.init_process_group("gloo", timeout=20)
rank, n = dist.get_rank(), dist.get_world_size()
t = ember.full((1 << 16,), float(rank + 1))
dist.all_reduce(t)
assert np.all(t.numpy() == n * (n + 1) / 2), t
model = DistributedDataParallel(ember.nn.Linear(4, 1, bias=False))
x = ember.full((2, 4), float(rank + 1))
model(x).sum().backward()
# d(sum(x @ w))/dw = column sums of x; averaged over the ranks
assert np.allclose(model.module.weight.grad.numpy(), 2 * np.mean([r + 1 for r in range(n)])), model.module.weight.grad
print(f"rank {rank} on {socket.gethostname()}: ok", flush=True)
