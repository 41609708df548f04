"""DataLoader with 4 workers on small samples, the setting of a classic MNIST script, against torch.

Two datasets of 10,000 samples, batch 64, shuffled: ``arrays`` returns a stored 1x28x28 float32 tensor
per sample (the cost is the loader's own: sampling, collation, pickling a batch in a worker and
unpickling it in the main process); ``transform`` turns a uint8 28x28 image into a normalised float
tensor with four tensor ops per sample (ToTensor + Normalize's work), so the per-op cost in the
workers shows. For each it prints the seconds per epoch for workers=0 and workers=4 and the
ember/torch ratios, best of ``ROUNDS``, the two libraries measured alternately in one run, plus the
time to the first batch (worker start-up) and the share of the main process's time spent in the
result queue (profiled). Run with ``python benchmarks/bench_loader_workers.py``.
"""
import cProfile
import os
import pstats
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.utils.data as tdata  # noqa: E402

import ember  # noqa: E402
import ember.utils.data as edata  # noqa: E402

N, BATCH, ROUNDS, WORKERS = 10_000, 64, 3, 4
_IMAGES = np.random.default_rng(0).integers(0, 256, (N, 28, 28), dtype=np.uint8)
_FLOATS = (_IMAGES[:, None] / 255.0).astype(np.float32)


class Arrays:
    def __init__(self, lib):
        self.lib = lib

    def __len__(self):
        return N

    def __getitem__(self, i):
        return self.lib.from_numpy(_FLOATS[i]), i % 10


class Transform(Arrays):
    def __getitem__(self, i):
        t = self.lib.from_numpy(_IMAGES[i]).float().div(255).unsqueeze(0)
        return (t - 0.1307) / 0.3081, i % 10


def epoch(lib, dataset, workers):
    loader = lib.DataLoader(dataset, batch_size=BATCH, shuffle=True, num_workers=workers)
    start = time.perf_counter()
    first = None
    for _ in loader:
        first = first or time.perf_counter() - start
    return time.perf_counter() - start, first


def best(lib, dataset, workers):
    runs = [epoch(lib, dataset, workers) for _ in range(ROUNDS)]
    return min(r[0] for r in runs), min(r[1] for r in runs)


def queue_share(dataset):
    """The share of the main process's epoch spent receiving batches (waiting included) and unpickling."""
    prof = cProfile.Profile()
    prof.runcall(epoch, edata, dataset, WORKERS)
    stats = pstats.Stats(prof).stats
    total = max(v[3] for v in stats.values())
    recv = sum(v[3] for k, v in stats.items() if k[2] in ("get",) and "queues.py" in k[0])
    return recv / total


def main():
    torch.set_num_threads(1)
    ember.set_num_threads(1)
    print(f"{N} samples, batch {BATCH}, best of {ROUNDS}; seconds per epoch (first batch)")
    print(f"{'dataset':<10}{'workers':>8}{'ember s':>16}{'torch s':>16}{'ratio':>8}")
    for label, make in (("arrays", Arrays), ("transform", Transform)):
        for workers in (0, WORKERS):
            (e, e1), (t, t1) = best(edata, make(ember), workers), best(tdata, make(torch), workers)
            print(f"{label:<10}{workers:>8}{e:>9.3f} ({e1:.2f}){t:>9.3f} ({t1:.2f}){e / t:>8.2f}")
    print(f"main process in the result queue (workers={WORKERS}, transform): {queue_share(Transform(ember)):.0%}")


if __name__ == "__main__":
    main()
