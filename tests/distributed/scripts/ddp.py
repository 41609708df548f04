"""DDP against one process: 10 SGD steps with the global batch split over the ranks give the same
parameters as one process training on the whole batch; likewise with no_sync accumulation,
several small buckets, gradient_as_bucket_view and find_unused_parameters; and the error for an
unused parameter names it. Rank 0 prints the largest differences."""
import sys

import numpy as np

import ember
import ember.distributed as dist
from ember import nn
from ember.nn.parallel import DistributedDataParallel

dist.init_process_group("gloo", timeout=20)
rank, n = dist.get_rank(), dist.get_world_size()


class Net(nn.Module):
    def __init__(self, unused=False):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(6, 16), nn.Linear(16, 3)
        self.norm = nn.BatchNorm1d(16)
        self.spare = nn.Linear(16, 3) if unused else None

    def forward(self, x):
        return self.fc2(self.norm(self.fc1(x)).relu())


def make(seed, unused=False):
    ember.manual_seed(seed + 100 * rank)  # different on every rank: DDP must broadcast rank 0's
    return Net(unused)


def batches(steps, size):
    rng = np.random.default_rng(7)
    return [(ember.tensor(rng.normal(size=(size, 6)).astype(np.float32)),
             ember.tensor(rng.integers(0, 3, size=size))) for _ in range(steps)]


def reference(seed, data, micro=1):
    ember.manual_seed(seed)
    model = Net().eval()  # batch norm in eval: statistics of the whole batch would differ from per-rank ones
    opt = ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for x, y in data:
        opt.zero_grad()
        for xs, ys in zip(x.chunk(micro), y.chunk(micro)):
            (nn.functional.cross_entropy(model(xs), ys) / micro).backward()
        opt.step()
    return model


def distributed(seed, data, micro=1, **kw):
    model = make(seed)
    model.eval()
    ddp = DistributedDataParallel(model, **kw)
    opt = ember.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    for x, y in data:
        opt.zero_grad()
        xs, ys = x.chunk(n)[rank].chunk(micro), y.chunk(n)[rank].chunk(micro)
        for i, (xm, ym) in enumerate(zip(xs, ys)):
            loss = nn.functional.cross_entropy(ddp(xm), ym) / micro
            if i < micro - 1:
                with ddp.no_sync():
                    loss.backward()
            else:
                loss.backward()
        opt.step()
    return model


def gap(a, b):
    return max(float((p - q).abs().max()) for p, q in zip(a.parameters(), b.parameters()))


data = batches(10, 8 * n)
results = {}
results["plain"] = gap(distributed(0, data), reference(0, data))
results["buckets"] = gap(distributed(1, data, bucket_cap_mb=0.0005, gradient_as_bucket_view=True), reference(1, data))
results["no_sync"] = gap(distributed(2, data, micro=2), reference(2, data, micro=2))

# overlap: with one bucket per layer, the last layers' all-reduces are started while backward has yet
# to reach the first layer (a hook registered before DDP's runs before it on the same parameter)
ember.manual_seed(5)
layers = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3))
launched_early = []
layers[0].weight.register_post_accumulate_grad_hook(
    lambda p: launched_early.append(sum(b.work is not None for b in probe.reducer.buckets)))
probe = DistributedDataParallel(layers, bucket_cap_mb=16 * 17 * 4 / 2**20)
probe(data[0][0]).sum().backward()
assert len(probe.reducer.buckets) == 3 and launched_early == [2], (len(probe.reducer.buckets), launched_early)

# broadcast_buffers: every forward starts from rank 0's buffers
synced = DistributedDataParallel(make(6))
synced.module.norm.running_mean.fill_(float(rank))
synced.eval()(data[0][0])
assert synced.module.norm.running_mean.tolist() == [0.0] * 16, synced.module.norm.running_mean

# state_dict keys are the module's under "module."
ddp = DistributedDataParallel(make(3))
assert list(ddp.state_dict()) == ["module." + k for k in ddp.module.state_dict()], list(ddp.state_dict())

# an unused parameter: with find_unused_parameters it works, without it the next forward names it
ddp = DistributedDataParallel(make(4, unused=True), find_unused_parameters=True)
x, y = data[0][0].chunk(n)[rank], data[0][1].chunk(n)[rank]
for _ in range(2):
    nn.functional.cross_entropy(ddp(x), y).backward()
assert ddp.module.spare.weight.grad is None and ddp.module.fc1.weight.grad is not None
ddp = DistributedDataParallel(make(4, unused=True))
nn.functional.cross_entropy(ddp(x), y).backward()
try:
    ddp(x)
except RuntimeError as e:
    assert "spare.weight" in str(e) and "spare.bias" in str(e) and "find_unused_parameters" in str(e), e
else:
    raise AssertionError("DDP did not report the unused parameter")
# rank 0 saves, the barrier inside save_on_main makes the file complete for every rank's read
path = sys.argv[1] if len(sys.argv) > 1 else None
if path:
    dist.save_on_main(ddp.module.state_dict(), path)
    loaded = ember.load(path)
    # parameters are equal on every rank (buffers are not: batch norm statistics are per rank until
    # the next forward broadcasts rank 0's)
    assert all(ember.equal(loaded[k], v) for k, v in ddp.module.named_parameters())
    assert dist.is_main_process() == (rank == 0)

everyone = [None] * n
dist.all_gather_object(everyone, (rank, results))
if rank == 0:  # one printer: lines of several ranks may interleave
    print("max |ddp - single process|:", max(everyone, key=lambda r: max(r[1].values()))[1], flush=True)
    print("ranks ok:", [r for r, _ in everyone], flush=True)
    assert all(v < 1e-5 for _, res in everyone for v in res.values()), everyone
sys.exit(0)
