"""Compiled recurrent-cell kernels against ember's NumPy path (same process) and torch.

    python benchmarks/bench_activations.py [--repeats 5]

Times one forward and backward of ``nn.LSTM(128, 256)`` and ``nn.GRU(128, 256)`` over 50 steps of batch
32 (bench_train's LSTM case): ember with its kernels, ember with ``compiled.disabled()`` (the NumPy
reference) and torch, alternating, best of ``--repeats``. The kernel/NumPy ratio is robust to a loaded
machine; the torch ratio is not.
"""
import argparse
import time

import numpy as np
import torch

import ember
from ember.backend import compiled


def _step(lib, layer, x):
    out = layer(x)[0]
    out.sum().backward()


def _best(fn, repeats):
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best * 1e3


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    x = np.random.default_rng(0).normal(size=(50, 32, 128)).astype(np.float32)
    print(f"{'case':<10}{'kernel ms':>11}{'numpy ms':>10}{'torch ms':>10}{'numpy/kernel':>14}{'ember/torch':>13}")
    for mode in ("LSTM", "GRU"):
        layer, t_layer = getattr(ember.nn, mode)(128, 256), getattr(torch.nn, mode)(128, 256)
        ex, tx = ember.tensor(x), torch.tensor(x)

        def numpy_path():
            with compiled.disabled():
                _step(ember, layer, ex)

        runs = {"kernel": lambda: _step(ember, layer, ex), "numpy": numpy_path, "torch": lambda: _step(torch, t_layer, tx)}
        for fn in runs.values():
            fn()  # warm-up (compiles or loads the kernels)
        best = {k: float("inf") for k in runs}
        for _ in range(args.repeats):  # alternate so that load changes hit every path alike
            for k, fn in runs.items():
                best[k] = min(best[k], _best(fn, 1))
        print(f"{mode:<10}{best['kernel']:>11.2f}{best['numpy']:>10.2f}{best['torch']:>10.2f}"
              f"{best['numpy'] / best['kernel']:>14.2f}{best['kernel'] / best['torch']:>13.2f}")


if __name__ == "__main__":
    main()
