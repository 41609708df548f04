"""Pooling and embedding time: ember (compiled kernels) against PyTorch and against ember's NumPy path.

Cases (forward+backward, float32): max_pool2d 2 and 3x3 stride 1 at (64, 32, 28, 28), avg_pool2d the same,
adaptive_avg_pool2d to 7x7,
adaptive_max_pool2d to 5x5, and an embedding lookup (vocab 50k x 256, 16x128 tokens). The three runs
alternate rounds and keep each case's best; printed are ember/torch and kernel/NumPy ratios (the latter is
robust to a loaded machine). Run with ``python benchmarks/bench_pool.py [threads]`` (both libraries get
``threads``; default: their own defaults).
"""
import sys
import time

import numpy as np
import torch

import ember
from ember.backend import compiled

ROUNDS = 5


def _timer(fn, steps=5):
    def run():
        start = time.perf_counter()
        for _ in range(steps):
            fn()
        return (time.perf_counter() - start) / steps
    return run


def _cases(lib, x, weight, ids):
    F = lib.nn.functional  # noqa: N806
    xg = lib.tensor(x, requires_grad=True)
    w, i = lib.tensor(weight, requires_grad=True), lib.tensor(ids)
    pools = {"max_pool2d 2": lambda: F.max_pool2d(xg, 2), "max_pool2d 3 s1 p1": lambda: F.max_pool2d(xg, 3, 1, 1),
             "avg_pool2d 2": lambda: F.avg_pool2d(xg, 2), "avg_pool2d 3 s1 p1": lambda: F.avg_pool2d(xg, 3, 1, 1),
             "adaptive_avg_pool2d 7": lambda: F.adaptive_avg_pool2d(xg, 7),
             "adaptive_max_pool2d 5": lambda: F.adaptive_max_pool2d(xg, 5)}
    cases = {f"{name} fwd+bwd": _timer(lambda f=f: f().sum().backward()) for name, f in pools.items()}

    def embed():
        w.grad = None
        F.embedding(i, w).sum().backward()
    cases["embedding 50k x 256, 16x128 fwd+bwd"] = _timer(embed)
    return cases


def main():
    if len(sys.argv) > 1:
        ember.set_num_threads(int(sys.argv[1]))
        torch.set_num_threads(int(sys.argv[1]))
    rng = np.random.default_rng(0)
    x = np.maximum(rng.standard_normal((64, 32, 28, 28)).astype(np.float32), 0)
    weight = rng.standard_normal((50000, 256)).astype(np.float32)
    ids = rng.integers(0, 50000, (16, 128))
    runs = {"ember": _cases(ember, x, weight, ids), "torch": _cases(torch, x, weight, ids)}
    numpy_cases = _cases(ember, x, weight, ids)
    best = {name: dict.fromkeys(runs["ember"], float("inf")) for name in ("ember", "torch", "numpy")}
    for _ in range(ROUNDS):
        for case in runs["ember"]:
            best["ember"][case] = min(best["ember"][case], runs["ember"][case]())
            best["torch"][case] = min(best["torch"][case], runs["torch"][case]())
            with compiled.disabled():
                best["numpy"][case] = min(best["numpy"][case], numpy_cases[case]())
    print(f"threads {ember.get_num_threads()} (torch {torch.get_num_threads()})")
    print(f"{'case':40s} {'ember ms':>9s} {'numpy ms':>9s} {'torch ms':>9s} {'e/torch':>8s} {'e/numpy':>8s}")
    for case in runs["ember"]:
        e, n, t = best["ember"][case], best["numpy"][case], best["torch"][case]
        print(f"{case:40s} {e * 1e3:9.2f} {n * 1e3:9.2f} {t * 1e3:9.2f} {e / t:8.2f} {e / n:8.2f}")


if __name__ == "__main__":
    main()
