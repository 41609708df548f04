"""DataLoader throughput on a CPU-heavy dataset: num_workers=2 against num_workers=0; and one
in-process epoch over a ``TensorDataset``.

The second part times a shuffled epoch over ``TensorDataset(X 20000x784 float32, y int64)`` with
batch_size=128 and num_workers=0 in both libraries, alternating, best of ``EPOCH_ROUNDS``, and prints
the ember/torch ratio. ember fetches each batch with ``TensorDataset.__getitems__`` (one gather per
tensor); torch calls ``__getitem__`` 128 times and stacks.

Each sample does about 5 ms of single-threaded NumPy work (repeated small matrix
products), so loading, not collation, dominates. The script prints samples per second
for both settings and their ratio (ideal on this 2-core box: 2x), and the same ratio
for torch's DataLoader on the same dataset, measured in the same run. A second dataset
sleeps 5 ms per sample instead: it needs no CPU, so its ratio shows how well the loader
overlaps workers even when the host's cores are busy (or stolen by the hypervisor). Run with
``OMP_NUM_THREADS=1 python benchmarks/bench_dataloader.py``.
"""
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.utils.data as tdata  # noqa: E402

import ember  # noqa: E402
import ember.utils.data as edata  # noqa: E402

N, BATCH, ROUNDS = 200, 8, 3
EPOCH_ROUNDS = 5


def _calibrate(target_s=0.005):
    a = np.random.default_rng(0).standard_normal((64, 64)).astype(np.float32)
    reps, start = 50, time.perf_counter()
    for _ in range(reps):
        a @ a
    return max(1, int(target_s / ((time.perf_counter() - start) / reps)))


class Heavy:
    """Sample i: ``reps`` 64x64 matrix products (about 5 ms), reduced to a 64-vector."""

    def __init__(self, n, reps):
        self.n, self.reps = n, reps

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        a = np.random.default_rng(i).standard_normal((64, 64)).astype(np.float32) / 8
        acc = a
        for _ in range(self.reps):
            acc = np.tanh(acc @ a)
        return acc.sum(0)


class Sleepy(Heavy):
    """Sample i: a 5 ms wait (I/O-like latency), then a 64-vector."""

    def __getitem__(self, i):
        time.sleep(0.005)
        return np.full(64, i, np.float32)


def _rate(lib, dataset, workers):
    best = float("inf")
    for _ in range(ROUNDS):
        loader = lib.DataLoader(dataset, batch_size=BATCH, num_workers=workers)
        start = time.perf_counter()
        for _ in loader:
            pass
        best = min(best, time.perf_counter() - start)
    return len(dataset) / best


def _epoch_seconds(lib, x, y):
    loader = lib.utils.data.DataLoader(lib.utils.data.TensorDataset(lib.from_numpy(x), lib.from_numpy(y)),
                                       batch_size=128, shuffle=True, num_workers=0)
    start = time.perf_counter()
    n = 0
    for xb, _ in loader:
        n += len(xb)
    assert n == len(x)
    return time.perf_counter() - start


def tensor_dataset_epoch():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((20000, 784)).astype(np.float32)
    y = rng.integers(0, 10, 20000)
    torch.set_num_threads(1)
    best = {"ember": float("inf"), "torch": float("inf")}
    for _ in range(EPOCH_ROUNDS):
        for name, lib in (("ember", ember), ("torch", torch)):
            best[name] = min(best[name], _epoch_seconds(lib, x, y))
    print(f"\nTensorDataset(20000x784 float32, int64) epoch, batch 128, shuffle, num_workers=0, "
          f"best of {EPOCH_ROUNDS} (measured on a shared, loaded machine)")
    print(f"ember {best['ember'] * 1e3:.1f} ms   torch {best['torch'] * 1e3:.1f} ms   "
          f"ratio {best['ember'] / best['torch']:.3f}")


def main():
    print(f"{N} samples of ~5 ms each, batch {BATCH}, best of {ROUNDS}; samples/s")
    print(f"{'dataset':<8}{'library':<8}{'workers=0':>12}{'workers=2':>12}{'ratio':>8}")
    for label, dataset in (("cpu", Heavy(N, _calibrate())), ("sleep", Sleepy(N, 0))):
        for name, lib in (("ember", edata), ("torch", tdata)):
            r0, r2 = _rate(lib, dataset, 0), _rate(lib, dataset, 2)
            print(f"{label:<8}{name:<8}{r0:>12.0f}{r2:>12.0f}{r2 / r0:>8.2f}")
    tensor_dataset_epoch()


if __name__ == "__main__":
    main()
