"""Per-sample gradients of a small CNN (batch 64): ``vmap(grad(loss))`` with ``functional_call``,
ember.func against torch.func in one run, and each against a Python loop of one backward pass
per sample. Best of several alternating rounds; run with ``python benchmarks/bench_vmap.py``.
"""
import time

import numpy as np
import torch

import ember
import ember.nn as enn
import ember.nn.functional as ef

BATCH, ROUNDS = 64, 5


class TorchCNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.c2 = torch.nn.Conv2d(1, 8, 3), torch.nn.Conv2d(8, 16, 3)
        self.fc = torch.nn.Linear(16 * 5 * 5, 10)

    def forward(self, x):
        x = torch.max_pool2d(torch.relu(self.c2(torch.relu(self.c1(x)))), 2)
        return self.fc(x.flatten(1))


class EmberCNN(enn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.c2 = enn.Conv2d(1, 8, 3), enn.Conv2d(8, 16, 3)
        self.fc = enn.Linear(16 * 5 * 5, 10)

    def forward(self, x):
        x = ef.max_pool2d(ember.relu(self.c2(ember.relu(self.c1(x)))), 2)
        return self.fc(x.flatten(1))


def _setup():
    rng = np.random.default_rng(0)
    tm, em = TorchCNN(), EmberCNN()
    em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    x = rng.standard_normal((BATCH, 1, 14, 14)).astype(np.float32)
    y = rng.integers(0, 10, BATCH)
    return tm, em, x, y


def _cases(tm, em, x, y):
    tp = {k: v.detach() for k, v in tm.named_parameters()}
    ep = {k: v.detach() for k, v in em.named_parameters()}
    tx, ty, ex, ey = torch.tensor(x), torch.tensor(y), ember.tensor(x), ember.tensor(y)

    def t_loss(p, xi, yi):
        return torch.nn.functional.cross_entropy(torch.func.functional_call(tm, p, (xi[None],)), yi[None])

    def e_loss(p, xi, yi):
        return ef.cross_entropy(ember.func.functional_call(em, p, (xi[None],)), yi[None])
    t_vmap = torch.func.vmap(torch.func.grad(t_loss), in_dims=(None, 0, 0))
    e_vmap = ember.func.vmap(ember.func.grad(e_loss), in_dims=(None, 0, 0))

    def t_loop():
        return [torch.autograd.grad(torch.nn.functional.cross_entropy(tm(tx[i:i + 1]), ty[i:i + 1]),
                                    list(tm.parameters())) for i in range(BATCH)]

    def e_loop():
        return [ember.autograd.grad(ef.cross_entropy(em(ex[i:i + 1]), ey[i:i + 1]), list(em.parameters()))
                for i in range(BATCH)]
    return {"ember.func vmap(grad)": lambda: e_vmap(ep, ex, ey), "torch.func vmap(grad)": lambda: t_vmap(tp, tx, ty),
            "ember loop": e_loop, "torch loop": t_loop}


def _check(cases):
    """The two vmapped results agree before anything is timed."""
    e, t = cases["ember.func vmap(grad)"](), cases["torch.func vmap(grad)"]()
    for k in t:
        np.testing.assert_allclose(e[k].numpy(), t[k].numpy(), rtol=1e-3, atol=1e-5)


def main():
    torch.set_num_threads(1)  # one core each: the machine is shared, and threads fighting for it distort ratios
    ember.set_num_threads(1)
    cases = _cases(*_setup())
    _check(cases)
    best = dict.fromkeys(cases, float("inf"))
    for _ in range(ROUNDS):
        for name, fn in cases.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    print(f"per-sample gradients of a small CNN, batch {BATCH}, best of {ROUNDS} rounds "
          "(measured on a shared, loaded machine)")
    for name, t in best.items():
        print(f"{name:<24}{t * 1e3:>9.1f} ms")
    e, t = best["ember.func vmap(grad)"], best["torch.func vmap(grad)"]
    print(f"ember vmap / torch vmap        {e / t:6.2f}")
    print(f"ember vmap / ember loop        {e / best['ember loop']:6.2f}")
    print(f"torch vmap / torch loop        {t / best['torch loop']:6.2f}")


if __name__ == "__main__":
    main()
