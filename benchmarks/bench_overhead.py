"""Per-op Python overhead of ember against PyTorch, measured in one run.

Each case runs in ember and in torch alternately, several rounds, and reports
the ratio of the best (minimum) per-iteration times: ember / torch. Run with
``python benchmarks/bench_overhead.py``.
"""
import timeit

import numpy as np
import torch

import ember

ROUNDS, NUMBER = 7, 2000


def _add_case(lib, requires_grad):
    a = lib.ones(1, requires_grad=requires_grad)
    b = lib.ones(1)
    return lambda: a + b


def _chain_case(lib):
    x = lib.tensor(np.linspace(0.1, 1.0, 64, dtype=np.float32), requires_grad=True)

    def step():
        y = x
        for _ in range(5):  # 4 ops per round, 20 ops in all
            y = (y * 1.01 + 0.1).sin().exp() * 0.5
        y.sum().backward()
        x.grad = None
    return step


CASES = {
    "add, 1 element": lambda lib: _add_case(lib, False),
    "add, 1 element, requires_grad": lambda lib: _add_case(lib, True),
    "20-op chain on 64 elements + backward": _chain_case,
}


def measure(make, number):
    ember_fn, torch_fn = make(ember), make(torch)
    best = {"ember": float("inf"), "torch": float("inf")}
    for _ in range(ROUNDS):
        best["ember"] = min(best["ember"], timeit.timeit(ember_fn, number=number) / number)
        best["torch"] = min(best["torch"], timeit.timeit(torch_fn, number=number) / number)
    return best


def main():
    torch.set_num_threads(1)
    print(f"{'case':42s} {'ember us':>9s} {'torch us':>9s} {'ratio':>6s}")
    for name, make in CASES.items():
        number = NUMBER if "chain" not in name else NUMBER // 20
        best = measure(make, number)
        print(f"{name:42s} {best['ember'] * 1e6:9.2f} {best['torch'] * 1e6:9.2f} {best['ember'] / best['torch']:6.2f}")


if __name__ == "__main__":
    main()
