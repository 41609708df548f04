"""Capture and replay: ember's replayed graph against ember eager and torch eager, in one run.

Cases: inference of an MLP (784-512-512-10), LeNet-5 and the char-GPT (2 blocks), at a small
batch where per-op Python overhead shows; and the capture time of the GPT block stack.
Replay is measured for the ``jit.trace`` graph (its differentiable form) and for
``jit.optimize_for_inference`` of it (captured without autograd, weights folded).
Reports the best of several rounds and the ratios replay/eager and replay/torch.
Run with ``python benchmarks/bench_export.py``.
"""
import time

import numpy as np
import torch

import ember
from ember.examples.char_gpt import GPT
from ember.vision.models import MLP, LeNet5

ROUNDS = 7


def _best(fn, number):
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def _torch_mlp():
    return torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512),
                               torch.nn.ReLU(), torch.nn.Linear(512, 10))


def _torch_lenet():
    n = torch.nn
    return n.Sequential(n.Conv2d(1, 6, 5, padding=2), n.ReLU(), n.MaxPool2d(2), n.Conv2d(6, 16, 5), n.ReLU(),
                        n.MaxPool2d(2), n.Flatten(), n.Linear(400, 120), n.ReLU(), n.Linear(120, 84), n.ReLU(),
                        n.Linear(84, 10))


class _TorchBlock(torch.nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = torch.nn.LayerNorm(d), torch.nn.LayerNorm(d)
        self.qkv, self.proj = torch.nn.Linear(d, 3 * d), torch.nn.Linear(d, d)
        self.mlp = torch.nn.Sequential(torch.nn.Linear(d, 4 * d), torch.nn.GELU(), torch.nn.Linear(4 * d, d))

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.qkv(self.ln1(x)).reshape(b, t, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        y = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(y.transpose(1, 2).reshape(b, t, c))
        return x + self.mlp(self.ln2(x))


class _TorchGPT(torch.nn.Module):
    def __init__(self, vocab, context, d=128, heads=4, layers=2):
        super().__init__()
        self.tok, self.pos = torch.nn.Embedding(vocab, d), torch.nn.Embedding(context, d)
        self.blocks = torch.nn.Sequential(*(_TorchBlock(d, heads) for _ in range(layers)))
        self.ln_f, self.head = torch.nn.LayerNorm(d), torch.nn.Linear(d, vocab)

    def forward(self, idx):
        pos = torch.arange(idx.shape[1])
        return self.head(self.ln_f(self.blocks(self.tok(idx) + self.pos(pos))))


def cases():
    rng = np.random.default_rng(0)
    img = rng.standard_normal((4, 1, 28, 28)).astype(np.float32)
    flat = rng.standard_normal((4, 784)).astype(np.float32)
    idx = rng.integers(0, 65, (2, 32))
    yield "MLP 784-512-512-10, batch 4", MLP(784, [512, 512, 10]), _torch_mlp(), flat, 300
    yield "LeNet-5, batch 4", LeNet5(), _torch_lenet(), img, 200
    yield "char-GPT 2 blocks d128, (2, 32)", GPT(65, 32), _TorchGPT(65, 32), idx, 60


def main():
    torch.set_num_threads(1)
    ember.set_num_threads(1)
    print("measured on a shared, loaded machine; ratios from one run")
    print(f"{'case':58s} {'ember ms':>9s} {'replay ms':>9s} {'torch ms':>9s} {'replay/ember':>12s} {'replay/torch':>12s}")
    for name, model, tmodel, data, number in cases():
        model.eval()
        tmodel.eval()
        x, tx = ember.from_numpy(data.copy()), torch.from_numpy(data.copy())
        traced = ember.jit.trace(model, x)
        fast = ember.jit.optimize_for_inference(traced)
        with ember.no_grad():
            for m in (traced, fast):
                np.testing.assert_allclose(m(x).numpy(), model(x).numpy(), rtol=1e-5, atol=1e-5)
            eager = _best(lambda: model(x), number)
            replay = _best(lambda: traced(x), number)
            inference = _best(lambda: fast(x), number)
        with torch.no_grad():
            ref = _best(lambda: tmodel(tx), number)
        for label, t in (("trace", replay), ("optimize_for_inference", inference)):
            print(f"{name + ', ' + label:58s} {eager * 1e3:9.3f} {t * 1e3:9.3f} {ref * 1e3:9.3f} {t / eager:12.2f} "
                  f"{t / ref:12.2f}")
    gpt = GPT(65, 32, n_layers=6).eval()
    h = ember.randn(2, 32, 128)
    capture = _best(lambda: ember.jit.trace(gpt.blocks, h, check_trace=False), 3)
    with ember.no_grad():
        eager = _best(lambda: gpt.blocks(h), 10)
    print(f"capture of a 6-block GPT stack, (2, 32, 128): {capture * 1e3:.1f} ms "
          f"({capture / eager:.1f}x one eager forward)")


if __name__ == "__main__":
    main()
