"""Overhead of ember.profiler on bench_train's MLP training step (784-512-512-10, b128, SGD).

The same step runs plain and inside ``ember.profiler.profile(record_shapes=True)``, alternately,
for several rounds; the best time of each is kept and their ratio reported. torch's profiler on
torch's step is measured the same way for reference.

    python benchmarks/bench_profiler.py
"""
import time

from bench_train import _batch, _models

ROUNDS, STEPS = 7, 10


def _case(lib):
    lib.manual_seed(0)
    model = _models(lib, "mlp")
    opt = lib.optim.SGD(model.parameters(), lr=0.01)
    x, y = _batch(lib, "mlp")

    def step():
        opt.zero_grad()
        lib.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return step


def _time(step, make_ctx):
    with make_ctx():
        start = time.perf_counter()
        for _ in range(STEPS):
            step()
        return (time.perf_counter() - start) / STEPS


def measure(lib, profiler):
    import contextlib

    step = _case(lib)
    step()
    best = {"plain": float("inf"), "profiled": float("inf")}
    for _ in range(ROUNDS):
        best["plain"] = min(best["plain"], _time(step, contextlib.nullcontext))
        best["profiled"] = min(best["profiled"], _time(step, lambda: profiler.profile(record_shapes=True)))
    return best


def main():
    import torch

    import ember

    torch.set_num_threads(1)
    ember.set_num_threads(1)
    print(f"{'library':8s} {'plain ms':>9s} {'profiled ms':>12s} {'overhead':>9s}")
    for name, lib, prof in (("ember", ember, ember.profiler), ("torch", torch, torch.profiler)):
        best = measure(lib, prof)
        print(f"{name:8s} {best['plain'] * 1e3:9.2f} {best['profiled'] * 1e3:12.2f} "
              f"{100 * (best['profiled'] / best['plain'] - 1):8.1f}%")


if __name__ == "__main__":
    main()
