"""SyncBatchNorm over the ranks against one BatchNorm on the whole batch: outputs, input gradients,
summed parameter gradients and running statistics agree. Rank 0 prints the largest difference."""
import numpy as np

import ember
import ember.distributed as dist
from ember import nn

dist.init_process_group("gloo", timeout=20)
rank, n = dist.get_rank(), dist.get_world_size()
rng = np.random.default_rng(3)
x = rng.normal(size=(4 * n, 3, 5))
up = rng.normal(size=x.shape)
rows = slice(4 * rank, 4 * (rank + 1))

whole = nn.BatchNorm1d(3).double()
synced = nn.SyncBatchNorm.convert_sync_batchnorm(nn.Sequential(nn.BatchNorm1d(3).double()))[0]
for m in (whole, synced):
    with ember.no_grad():
        m.weight.copy_(ember.tensor([1.0, 2.0, 0.5], dtype=ember.float64))
        m.bias.copy_(ember.tensor([0.0, -1.0, 0.3], dtype=ember.float64))
gaps = []
for _ in range(2):
    xw, xs = ember.tensor(x, requires_grad=True), ember.tensor(x[rows], requires_grad=True)
    ow, os_ = whole(xw), synced(xs)
    (ow * ember.tensor(up)).sum().backward()
    (os_ * ember.tensor(up[rows])).sum().backward()
    gaps.append(np.abs(ow.detach().numpy()[rows] - os_.detach().numpy()).max())
    gaps.append(np.abs(xw.grad.numpy()[rows] - xs.grad.numpy()).max())
    for p in (synced.weight, synced.bias):
        dist.all_reduce(p.grad)
    gaps.append(np.abs(whole.weight.grad.numpy() - synced.weight.grad.numpy()).max())
    gaps.append(np.abs(whole.bias.grad.numpy() - synced.bias.grad.numpy()).max())
    gaps.append(np.abs(whole.running_var.numpy() - synced.running_var.numpy()).max())
    gaps.append(np.abs(whole.running_mean.numpy() - synced.running_mean.numpy()).max())
    for m in (whole, synced):
        m.zero_grad()
synced.eval()
with ember.no_grad():
    gaps.append(np.abs(whole.eval()(ember.tensor(x[rows])).numpy() - synced(ember.tensor(x[rows])).numpy()).max())
assert int(synced.num_batches_tracked) == 2
if rank == 0:
    print(f"max |sync - whole batch|: {max(gaps)}")
dist.destroy_process_group()
