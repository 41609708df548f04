"""100 Adam steps on a 1M-element parameter, ember against PyTorch in one run.

The two libraries run alternately for several rounds from the same values and
gradient; the ratio of the best times (ember / torch) is printed. Run with
``python benchmarks/bench_optim.py``.
"""
import time

import numpy as np
import torch

import ember

N, STEPS, ROUNDS = 1_000_000, 100, 5


def _setup(lib, name, kwargs):
    rng = np.random.default_rng(0)
    w = lib.tensor(rng.standard_normal(N).astype(np.float32), requires_grad=True)
    w.grad = lib.tensor(rng.standard_normal(N).astype(np.float32))
    return getattr(lib.optim, name)([w], **kwargs)


def _time(opt):
    start = time.perf_counter()
    for _ in range(STEPS):
        opt.step()
    return time.perf_counter() - start


def main():
    cases = {"Adam": ("Adam", {"lr": 1e-3}), "Adam amsgrad+wd": ("Adam", {"lr": 1e-3, "amsgrad": True,
                                                                           "weight_decay": 0.01}),
             "AdamW": ("AdamW", {"lr": 1e-3}), "SGD momentum": ("SGD", {"lr": 1e-3, "momentum": 0.9})}
    print(f"{STEPS} steps on a {N}-element float32 parameter; best of {ROUNDS} rounds")
    print(f"{'case':<18}{'ember ms':>10}{'torch ms':>10}{'ratio':>8}")
    for label, (name, kwargs) in cases.items():
        opts = {lib: _setup(lib, name, kwargs) for lib in (ember, torch)}
        best = {lib: float("inf") for lib in opts}
        for _ in range(ROUNDS):
            for lib, opt in opts.items():
                best[lib] = min(best[lib], _time(opt))
        e, t = best[ember] * 1e3, best[torch] * 1e3
        print(f"{label:<18}{e:>10.1f}{t:>10.1f}{e / t:>8.2f}")


if __name__ == "__main__":
    main()
