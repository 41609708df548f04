"""Training-step time and peak memory of small models, ember against PyTorch.

The four models of the nn/optim issue: an MLP, a small CNN, a GPT-style block
stack and an LSTM. Each (model, library) pair runs alone in a fresh process, so
the two libraries' thread pools never compete and memory is measured cleanly;
the pairs alternate for ``--repeats`` rounds and the best step time of each is
kept. Peak memory is the growth of the process's peak resident set over its
size just before training starts (model, optimizer and data already built).

A worker imports its library before NumPy, as a program that starts with
``import ember as torch`` does; that order lets ember shorten OpenBLAS's idle
spin (``ember/_blas_env.py``). ``--numpy-first`` measures the other order.

``--device cuda`` runs both libraries on the GPU (synchronising before each clock read);
``--cuda-graph`` then records one training step as a CUDA graph and times its replays.

``--compile [BACKEND]`` compiles each model first (ember: ``ember.compile(model, backend=BACKEND)``,
"inductor" by default; torch: ``torch.compile(model)``; a library whose compile fails on this
machine falls back to eager and says so on stderr); ``--torch-eager`` leaves torch eager, the
baseline of the compiled targets.

    python benchmarks/bench_train.py [--repeats 3] [--only cnn] [--numpy-first] [--device cuda [--cuda-graph]]
                                     [--compile [eager]] [--torch-eager]
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

CASES = {
    "mlp": "MLP 784-512-512-10, b128, SGD",
    "cnn": "CNN 2 conv + 2 fc on 28x28, b64, SGD",
    "gpt": "GPT d256 4 heads 4 layers, seq128 b16, AdamW",
    "lstm": "LSTM(128, 256), 50 steps, b32, SGD",
}
STEPS = {"mlp": 20, "cnn": 10, "gpt": 3, "lstm": 5}


def _models(lib, case):
    nn = lib.nn
    if case == "mlp":
        return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    if case == "cnn":
        return nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))
    if case == "gpt":
        class GPT(nn.Module):
            def __init__(self):
                super().__init__()
                self.tok = nn.Embedding(512, 256)
                layer = nn.TransformerEncoderLayer(256, 4, 1024, dropout=0.0, activation="gelu", batch_first=True,
                                                   norm_first=True)
                self.blocks = nn.TransformerEncoder(layer, 4, enable_nested_tensor=False)
                self.head = nn.Linear(256, 512)
                self.mask = nn.Transformer.generate_square_subsequent_mask(128)

            def forward(self, idx):
                return self.head(self.blocks(self.tok(idx), mask=self.mask, is_causal=True))
        return GPT()

    class Recurrent(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(128, 256)
            self.head = nn.Linear(256, 10)

        def forward(self, x):
            return self.head(self.lstm(x)[0][-1])
    return Recurrent()


def _batch(lib, case):
    import numpy as np

    rng = np.random.default_rng(0)
    if case == "mlp":
        x = rng.standard_normal((128, 784), dtype=np.float32)
    elif case == "cnn":
        x = rng.standard_normal((64, 1, 28, 28), dtype=np.float32)
    elif case == "gpt":
        idx = rng.integers(0, 512, (16, 129))
        return lib.tensor(idx[:, :-1]), lib.tensor(idx[:, 1:].reshape(-1))
    else:
        x = rng.standard_normal((50, 32, 128), dtype=np.float32)
    return lib.tensor(x), lib.tensor(rng.integers(0, 10, x.shape[0] if case != "lstm" else 32))


def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _compiled(lib, name, model, backend):
    """The model compiled (ember with ``backend``, torch with its default); eager when compiling fails."""
    try:
        return lib.compile(model, backend=backend) if name == "ember" else lib.compile(model)
    except Exception as e:  # noqa: BLE001 - a missing backend or toolchain: measure eager, say so
        print(f"{name}: compile failed ({type(e).__name__}: {e}); running eagerly", file=sys.stderr)
        return model


def worker(case, name, numpy_first=False, device="cpu", cuda_graph=False, compile_backend=None):
    """Time STEPS training steps (best of 3 rounds after a warm-up) in this process; print JSON."""
    if numpy_first:
        import numpy  # noqa: F401
    if name == "torch":
        import torch as lib
    else:
        import ember as lib
    lib.manual_seed(0)
    model = _models(lib, case).to(device)
    if case == "gpt":
        model.mask = model.mask.to(device)
    opt = (lib.optim.AdamW(model.parameters(), lr=1e-3) if case == "gpt"
           else lib.optim.SGD(model.parameters(), lr=0.01))
    x, y = (t.to(device) for t in _batch(lib, case))
    if compile_backend:
        model = _compiled(lib, name, model, compile_backend)
    sync = lib.cuda.synchronize if device != "cpu" else (lambda: None)

    def eager_step():
        opt.zero_grad(set_to_none=not cuda_graph)  # a recorded step keeps its gradient buffers
        out = model(x)
        lib.nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), y).backward()
        opt.step()

    step = eager_step
    if cuda_graph:  # warm up on a side stream (as torch asks), record one step, replay it
        side = lib.cuda.Stream()
        with lib.cuda.stream(side):
            for _ in range(3):
                eager_step()
        sync()
        graph = lib.cuda.CUDAGraph()
        with lib.cuda.graph(graph):
            eager_step()
        step = graph.replay

    before = _rss_bytes()
    step()
    sync()
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(STEPS[case]):
            step()
        sync()
        best = min(best, (time.perf_counter() - start) / STEPS[case])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    print(json.dumps({"seconds": best, "peak_bytes": max(peak, 0)}))


def main():
    parser = argparse.ArgumentParser(description="ember/torch training-step benchmark")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", choices=sorted(CASES), action="append")
    parser.add_argument("--numpy-first", action="store_true", help="import NumPy before the library")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--cuda-graph", action="store_true", help="replay each step as a CUDA graph (with --device cuda)")
    parser.add_argument("--compile", nargs="?", const="inductor", default=None, metavar="BACKEND",
                        help="compile the models (ember backend: inductor, eager, ...)")
    parser.add_argument("--torch-eager", action="store_true", help="with --compile: compile ember only")
    parser.add_argument("--worker", nargs=2, metavar=("CASE", "LIB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(*args.worker, numpy_first=args.numpy_first, device=args.device, cuda_graph=args.cuda_graph,
                      compile_backend=args.compile)
    print(f"{'case':46s} {'ember ms':>9s} {'torch ms':>9s} {'ratio':>6s} {'ember MB':>9s} {'torch MB':>9s}")
    for case in args.only or CASES:
        best = {}
        for _ in range(args.repeats):
            for name in ("ember", "torch"):
                flags = (["--numpy-first"] if args.numpy_first else []) + ["--device", args.device] + (
                    ["--cuda-graph"] if args.cuda_graph else [])
                if args.compile and not (name == "torch" and args.torch_eager):
                    flags += ["--compile", args.compile]
                out = subprocess.run([sys.executable, __file__, "--worker", case, name, *flags],
                                     capture_output=True, text=True, check=True).stdout
                result = json.loads(out.strip().splitlines()[-1])
                if name not in best or result["seconds"] < best[name]["seconds"]:
                    best[name] = result
        e, t = best["ember"], best["torch"]
        print(f"{CASES[case]:46s} {e['seconds'] * 1e3:9.2f} {t['seconds'] * 1e3:9.2f} "
              f"{e['seconds'] / t['seconds']:6.2f} {e['peak_bytes'] / 2**20:9.1f} {t['peak_bytes'] / 2**20:9.1f}",
              flush=True)


if __name__ == "__main__":
    main()
