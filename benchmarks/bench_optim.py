"""Optimizer steps, ember against PyTorch in one run, and ember's fused kernels against its NumPy step.

Two layouts: one 1M-element float32 parameter, and 50 parameters of mixed sizes summing 3M elements
(a model's worth of small tensors, where per-parameter overhead shows). The libraries run alternately
for several rounds from the same values and gradients; the ratio of the best times (ember / torch) is
printed, and the ratio of ember's NumPy reference step (``compiled.disabled()``) to its kernel step,
which is robust to the machine's load. Run with ``python benchmarks/bench_optim.py``.
"""
import time

import numpy as np
import torch

import ember
from ember.backend import compiled

STEPS, ROUNDS = 50, 5
ONE = [1_000_000]
_sizes = np.random.default_rng(1).integers(1, 120_000, 50)
MANY = [int(n) for n in _sizes * 3_000_000 // _sizes.sum()]
CASES = {"Adam": ("Adam", {"lr": 1e-3}), "Adam amsgrad+wd": ("Adam", {"lr": 1e-3, "amsgrad": True, "weight_decay": 0.01}),
         "AdamW": ("AdamW", {"lr": 1e-3}), "SGD momentum": ("SGD", {"lr": 1e-3, "momentum": 0.9})}


def _setup(lib, name, kwargs, sizes):
    rng = np.random.default_rng(0)
    params = []
    for n in sizes:
        w = lib.tensor(rng.standard_normal(n).astype(np.float32), requires_grad=True)
        w.grad = lib.tensor(rng.standard_normal(n).astype(np.float32))
        params.append(w)
    return getattr(lib.optim, name)(params, **kwargs)


def _time(opt, steps=STEPS):
    start = time.perf_counter()
    for _ in range(steps):
        opt.step()
    return (time.perf_counter() - start) / steps


def _numpy_time(opt):
    with compiled.disabled():
        return _time(opt, max(2, STEPS // 5))


def main():
    print(f"ms per step, float32, best of {ROUNDS} rounds; ember threads {ember.get_num_threads()}, "
          f"torch threads {torch.get_num_threads()}")
    print(f"{'case':<18}{'layout':>8}{'ember':>8}{'torch':>8}{'ratio':>7}{'numpy':>8}{'kernel speedup':>16}")
    for label, (name, kwargs) in CASES.items():
        for layout, sizes in (("1M", ONE), ("50x3M", MANY)):
            opts = {lib: _setup(lib, name, kwargs, sizes) for lib in (ember, torch)}
            reference = _setup(ember, name, kwargs, sizes)
            best = {lib: float("inf") for lib in (ember, torch, "numpy")}
            for lib in opts:  # first step: state allocation and kernel compilation/cache load
                opts[lib].step()
            for _ in range(ROUNDS):
                for lib, opt in opts.items():
                    best[lib] = min(best[lib], _time(opt))
                best["numpy"] = min(best["numpy"], _numpy_time(reference))
            e, t, n = (best[k] * 1e3 for k in (ember, torch, "numpy"))
            print(f"{label:<18}{layout:>8}{e:>8.2f}{t:>8.2f}{e / t:>7.2f}{n:>8.2f}{n / e:>16.1f}")


if __name__ == "__main__":
    main()
