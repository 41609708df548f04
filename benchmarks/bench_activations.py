"""Compiled recurrent-cell kernels against ember's NumPy path (same process) and torch.

    python benchmarks/bench_activations.py [--repeats 5]

Times one forward and backward of ``nn.LSTM(128, 256)`` and ``nn.GRU(128, 256)`` over 50 steps of batch
32 (bench_train's LSTM case): ember with its kernels, ember with ``compiled.disabled()`` (the NumPy
reference) alternating, then torch, best of ``--repeats`` each; then one step's pointwise work alone (the
kernel against the NumPy reference it replaces, 100 calls a sample), which is the number that stays
stable on a loaded machine: the whole layers are GEMM-bound and their times swing with the load.
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


def _best(fn, repeats, calls=1):
    """Best time of one call in ms over ``repeats`` samples of ``calls`` calls."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - start) / calls)
    return best * 1e3


def _step_kernels(repeats):
    """One LSTM step's backward pointwise math (H 256, B 32, float32): kernel against NumPy, in us."""
    from ember.ops import rnn_kernels, rnn_seq
    hidden, batch = 256, 32
    rng = np.random.default_rng(0)
    act = np.tanh(rng.normal(size=(4 * hidden, batch))).astype(np.float32) * 0.5 + 0.5
    c, g_y, dh, dc = (rng.normal(size=(hidden, batch)).astype(np.float32) for _ in range(4))
    tc, d = np.tanh(c), np.empty_like(act)
    kernel = _best(lambda: rnn_kernels.lstm_backward_rows(0, hidden, act, tc, c, g_y, True, dh.copy(), dc.copy(), d),
                   repeats, 100)
    numpy = _best(lambda: rnn_seq._lstm_step_grad(np, act, tc, c, g_y, dh.copy(), dc.copy(), d), repeats, 100)
    print(f"LSTM backward step: kernel {kernel * 1e3:.1f} us, numpy {numpy * 1e3:.1f} us, "
          f"numpy/kernel {numpy / kernel:.2f}")


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

        runs = {"kernel": lambda: _step(ember, layer, ex), "numpy": numpy_path}
        for fn in runs.values():
            fn()  # warm-up (compiles or loads the kernels)
        best = {k: float("inf") for k in runs}
        for _ in range(args.repeats):  # alternate so that load changes hit both ember paths alike
            for k, fn in runs.items():
                best[k] = min(best[k], _best(fn, 1))
        # torch alone afterwards: its OpenMP threads spin for a while after each call and took the cores
        # from whichever ember path ran next (that path measured ~25% slower when interleaved)
        _step(torch, t_layer, tx)
        best["torch"] = _best(lambda: _step(torch, t_layer, tx), args.repeats)
        print(f"{mode:<10}{best['kernel']:>11.2f}{best['numpy']:>10.2f}{best['torch']:>10.2f}"
              f"{best['numpy'] / best['kernel']:>14.2f}{best['kernel'] / best['torch']:>13.2f}")
    _step_kernels(args.repeats)


if __name__ == "__main__":
    main()
