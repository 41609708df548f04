"""Compiled activation and recurrent-cell kernels against ember's NumPy path (same process) and torch.

    python benchmarks/bench_activations.py [--repeats 5]

First one forward and backward of SiLU, the tanh GELU and Mish on 16x128x1024 float32: ember's kernels
(``ops/swish_kernels.py``, ``ops/mish_kernels.py``), ember's NumPy path, the composed forms these
replaced (``x * sigmoid(x)``, ``0.5 x (1 + tanh(...))``, ``x * tanh(softplus(x))`` in ember ops), then
torch.

Then one forward and backward of ``nn.LSTM(128, 256)`` and ``nn.GRU(128, 256)`` over 50 steps of batch
32 (bench_train's LSTM case): ember with its kernels, ember with ``compiled.disabled()`` (the NumPy
reference) alternating, then torch, best of ``--repeats`` each; then one step's pointwise work alone (the
kernel against the NumPy reference it replaces, 100 calls a sample), which is the number that stays
stable on a loaded machine: the whole layers are GEMM-bound and their times swing with the load.
"""
import argparse
import math
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
    flat = (act.reshape(4, -1), tc.reshape(-1), c.reshape(-1), g_y.reshape(-1))
    kernel = _best(lambda: rnn_kernels.lstm_backward(0, hidden * batch, *flat, True, dh.copy().reshape(-1),
                                                     dc.copy().reshape(-1), d.reshape(4, -1)), repeats, 100)
    numpy = _best(lambda: rnn_seq._lstm_step_grad(np, act, tc, c, g_y, dh.copy(), dc.copy(), d), repeats, 100)
    print(f"LSTM backward step: kernel {kernel * 1e3:.1f} us, numpy {numpy * 1e3:.1f} us, "
          f"numpy/kernel {numpy / kernel:.2f}")


def _fwd_bwd(fn, x, g):
    x.grad = None
    fn(x).backward(g)


_TANH_K = math.sqrt(2.0 / math.pi)
POINTWISE = {  # name -> (ember op, ember composed, torch op)
    "silu": (ember.nn.functional.silu, lambda x: x * ember.sigmoid(x), torch.nn.functional.silu),
    "gelu_tanh": (lambda x: ember.nn.functional.gelu(x, approximate="tanh"),
                  lambda x: 0.5 * x * (1.0 + ember.tanh(_TANH_K * (x + 0.044715 * x * x * x))),
                  lambda x: torch.nn.functional.gelu(x, approximate="tanh")),
    "mish": (ember.nn.functional.mish, lambda x: x * ember.tanh(ember.nn.functional.softplus(x)),
             torch.nn.functional.mish),
    "sigmoid": (ember.sigmoid, lambda x: 1 / (1 + ember.exp(-x)), torch.sigmoid),
}


def _pointwise(repeats):
    """SiLU, tanh GELU, Mish and sigmoid fwd+bwd and forward alone on 16x128x1024 float32, in ms: every ember path first,
    torch after all of them (see main())."""
    rng = np.random.default_rng(0)
    x, g = (rng.normal(size=(16, 128, 1024)).astype(np.float32) * 3 for _ in range(2))
    ex, eg = ember.tensor(x, requires_grad=True), ember.tensor(g)
    tx, tg = torch.tensor(x, requires_grad=True), torch.tensor(g)
    cases = [(f"{name} {what}", op, composed, t_op, what) for name, (op, composed, t_op) in POINTWISE.items()
             for what in ("fwd+bwd", "fwd")]
    best = {}
    for label, op, composed, _, what in cases:
        run = (lambda f: _fwd_bwd(f, ex, eg)) if what == "fwd+bwd" else (lambda f: f(ex.detach()))

        def numpy_path(run=run, op=op):
            with compiled.disabled():
                run(op)
        runs = {"kernel": lambda run=run, op=op: run(op), "numpy": numpy_path,
                "composed": lambda run=run, composed=composed: run(composed)}
        for fn in runs.values():
            fn()  # warm-up (compiles or loads the kernels)
        best[label] = {k: float("inf") for k in runs}
        for _ in range(repeats):  # alternating, so that load changes hit the ember paths alike
            for k, fn in runs.items():
                best[label][k] = min(best[label][k], _best(fn, 1, 3))
    for label, _, _, t_op, what in cases:
        t_run = (lambda t_op=t_op: _fwd_bwd(t_op, tx, tg)) if what == "fwd+bwd" else (lambda t_op=t_op: t_op(tx.detach()))
        t_run()
        best[label]["torch"] = _best(t_run, repeats, 3)
    print(f"{'16x128x1024':<16}{'kernel':>8}{'numpy':>8}{'composed':>10}{'torch':>8}{'numpy/kernel':>14}"
          f"{'composed/kernel':>17}{'ember/torch':>13}")
    for label, b in best.items():
        print(f"{label:<16}{b['kernel']:>8.2f}{b['numpy']:>8.2f}{b['composed']:>10.2f}{b['torch']:>8.2f}"
              f"{b['numpy'] / b['kernel']:>14.2f}{b['composed'] / b['kernel']:>17.2f}{b['kernel'] / b['torch']:>13.2f}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    _pointwise(args.repeats)
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
