"""Training-step time of small models, ember against PyTorch in one run.

For now the MLP of the nn/optim issue: 784-512-512-10, batch 128, SGD. Both
libraries start from the same weights and data and alternate rounds; the
ratio of the best round times (ember / torch) is printed. Run with
``python benchmarks/bench_train.py``.
"""
import time

import numpy as np
import torch

import ember

STEPS, ROUNDS = 20, 5


def _mlp(nn):
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))


def _trainer(lib, model, x, y):
    opt = lib.optim.SGD(model.parameters(), lr=0.01)
    xb, yb = lib.tensor(x), lib.tensor(y)

    def run():
        start = time.perf_counter()
        for _ in range(STEPS):
            opt.zero_grad()
            lib.nn.functional.cross_entropy(model(xb), yb).backward()
            opt.step()
        return (time.perf_counter() - start) / STEPS
    return run


def main():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 784)).astype(np.float32)
    y = rng.integers(0, 10, 128)
    t_model = _mlp(torch.nn)
    e_model = _mlp(ember.nn)
    e_model.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t_model.state_dict().items()})
    runs = {"ember": _trainer(ember, e_model, x, y), "torch": _trainer(torch, t_model, x, y)}
    best = {name: float("inf") for name in runs}
    for _ in range(ROUNDS):  # alternate, keeping the best of each
        for name, run in runs.items():
            best[name] = min(best[name], run())
    print(f"{'case':34s} {'ember ms':>9s} {'torch ms':>9s} {'ratio':>6s}")
    print(f"{'MLP 784-512-512-10, b128, SGD':34s} {best['ember'] * 1e3:9.2f} {best['torch'] * 1e3:9.2f} "
          f"{best['ember'] / best['torch']:6.2f}")


if __name__ == "__main__":
    main()
