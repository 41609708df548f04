"""Forward + backward of layer_norm, rms_norm, softmax, log_softmax and cross_entropy, ember against PyTorch.

Each case runs ember with its compiled kernels and ember on its NumPy reference path
(``compiled.disabled()``) alternately for several rounds, then torch for as many, from the
same values; the best time of each is kept. Printed: the three times, ember / torch, and
NumPy path / kernel (the second ratio compares two paths in one process, so it holds
up on a loaded machine better than the first).

    python benchmarks/bench_norms.py [--rounds 7] [--only layer_norm] [--vocab 50257]
"""
import argparse
import time

import numpy as np
import torch

import ember
from ember.backend import compiled


def _cases(vocab):
    rng = np.random.default_rng(0)
    x_ln = rng.standard_normal((16, 128, 256), dtype=np.float32)
    w_ln, b_ln = rng.standard_normal(256, dtype=np.float32), rng.standard_normal(256, dtype=np.float32)
    x_rms = rng.standard_normal((32 * 128, 1024), dtype=np.float32)
    x_rms_narrow = rng.standard_normal((8192, 256), dtype=np.float32)
    w_rms, w_rms_narrow = rng.standard_normal(1024, dtype=np.float32), rng.standard_normal(256, dtype=np.float32)
    scores = rng.standard_normal((16, 4, 128, 128), dtype=np.float32)
    logits = rng.standard_normal((2048, vocab), dtype=np.float32)
    target = rng.integers(0, vocab, 2048)
    small, small_target = rng.standard_normal((128, 10), dtype=np.float32), rng.integers(0, 10, 128)
    return {
        "layer_norm 16x128x256": ((x_ln, w_ln, b_ln), lambda lib, x, w, b: lib.nn.functional.layer_norm(x, (256,), w, b)),
        "rms_norm 16x128x256": ((x_ln, w_ln), lambda lib, x, w: lib.nn.functional.rms_norm(x, (256,), w, 1e-6)),
        "rms_norm 4096x1024": ((x_rms, w_rms), lambda lib, x, w: lib.nn.functional.rms_norm(x, (1024,), w)),
        "rms_norm 8192x256": ((x_rms_narrow, w_rms_narrow),
                              lambda lib, x, w: lib.nn.functional.rms_norm(x, (256,), w)),
        "softmax 16x4x128x128": ((scores,), lambda lib, x: x.softmax(-1)),
        "log_softmax 16x4x128x128": ((scores,), lambda lib, x: x.log_softmax(-1)),
        f"cross_entropy 2048x{vocab}": ((logits,), lambda lib, x: lib.nn.functional.cross_entropy(
            x, lib.tensor(target))),
        f"cross_entropy ls=0.1 2048x{vocab}": ((logits,), lambda lib, x: lib.nn.functional.cross_entropy(
            x, lib.tensor(target), label_smoothing=0.1)),
        "cross_entropy 128x10 (the MLP's loss)": ((small,), lambda lib, x: lib.nn.functional.cross_entropy(
            x, lib.tensor(small_target))),
    }


def _step(lib, fn, arrays, grad):
    """One forward + backward; returns its seconds."""
    inputs = [lib.tensor(a, requires_grad=True) for a in arrays]
    g = lib.tensor(grad) if grad is not None else None
    start = time.perf_counter()
    out = fn(lib, *inputs)
    out.backward(g)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--only", help="run the cases whose name starts with this")
    parser.add_argument("--vocab", type=int, default=1000, help="classes of the cross_entropy cases")
    args = parser.parse_args()
    print(f"ember threads {ember.get_num_threads()}, torch threads {torch.get_num_threads()}; best of {args.rounds}")
    print(f"{'case':<40}{'kernel ms':>10}{'numpy ms':>10}{'torch ms':>10}{'ember/torch':>12}{'numpy/kernel':>13}")
    for name, (arrays, fn) in _cases(args.vocab).items():
        if args.only and not name.startswith(args.only):
            continue
        out = fn(ember, *(ember.tensor(a) for a in arrays))
        grad = np.random.default_rng(1).standard_normal(tuple(out.shape)).astype(np.float32) if out.dim() else None
        best = {"kernel": float("inf"), "numpy": float("inf"), "torch": float("inf")}
        for _ in range(args.rounds + 1):  # the first round compiles and warms up
            best["kernel"] = min(best["kernel"], _step(ember, fn, arrays, grad))
            with compiled.disabled():
                best["numpy"] = min(best["numpy"], _step(ember, fn, arrays, grad))
        for _ in range(args.rounds + 1):  # torch after ember: its OpenMP threads spin after each call and
            best["torch"] = min(best["torch"], _step(torch, fn, arrays, grad))  # slowed whatever ran next
        k, n, t = (best[key] * 1e3 for key in ("kernel", "numpy", "torch"))
        print(f"{name:<40}{k:>10.3f}{n:>10.3f}{t:>10.3f}{k / t:>12.2f}{n / k:>13.2f}", flush=True)


if __name__ == "__main__":
    main()
