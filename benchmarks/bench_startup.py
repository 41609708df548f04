"""Start-up costs: import time of ember and torch, and the compile time of ember's numba kernels.

Each measurement runs in a fresh process. ``import`` is timed alone (best of ``--repeats``). The kernels are
timed by running one training step of each model of ``bench_train.py`` and one step of each optimizer, first
with an empty kernel cache (cold: numba compiles every kernel the step reaches) and then again with the
cache that run filled (warm: a new process loads the compiled kernels from disk). For each kernel the
time of its first call is printed (``Kernel.compile_seconds``), and for each model the time of its first
step against its second.

    python benchmarks/bench_startup.py [--repeats 5]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def import_seconds(lib, repeats):
    code = f"import time; t = time.perf_counter(); import {lib}; print(time.perf_counter() - t)"
    runs = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
            for _ in range(repeats)]
    return min(runs)


def first_steps():
    """In a worker: one step of every benchmark model and optimizer; prints first/second step times and kernels."""
    import time

    sys.path.insert(0, HERE)
    import bench_train

    import ember
    from ember.backend import compiled

    steps = {}
    for case in bench_train.CASES:
        ember.manual_seed(0)
        model = bench_train._models(ember, case)
        opt = (ember.optim.AdamW if case == "gpt" else ember.optim.SGD)(model.parameters(), lr=1e-3)
        x, y = bench_train._batch(ember, case)
        times = []
        for _ in range(2):
            start = time.perf_counter()
            opt.zero_grad()
            out = model(x)
            ember.nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), y).backward()
            opt.step()
            times.append(time.perf_counter() - start)
        steps[case] = times
    p = ember.nn.Parameter(ember.randn(1000))
    p.grad = ember.randn(1000)
    for name in ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam"):
        kwargs = {"momentum": 0.9} if name == "SGD" else {}
        getattr(ember.optim, name)([p], lr=1e-3, **kwargs).step()
    kernels = {k.__qualname__: k.compile_seconds for k in compiled.all_kernels() if k.compile_seconds is not None}
    print(json.dumps({"steps": steps, "kernels": kernels}))


def run_first_steps(cache):
    env = {**os.environ, "NUMBA_CACHE_DIR": cache}
    out = subprocess.run([sys.executable, __file__, "--worker"], capture_output=True, text=True, check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description="import and kernel-compile times")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return first_steps()
    ember_s, torch_s = import_seconds("ember", args.repeats), import_seconds("torch", args.repeats)
    print(f"import ember {ember_s:.2f} s, import torch {torch_s:.2f} s (best of {args.repeats})")
    with tempfile.TemporaryDirectory() as cache:
        cold, warm = run_first_steps(cache), run_first_steps(cache)
    print(f"\n{'model':6s} {'cold 1st step s':>16s} {'warm 1st step s':>16s} {'2nd step s':>11s}")
    for case, (first, second) in cold["steps"].items():
        print(f"{case:6s} {first:16.2f} {warm['steps'][case][0]:16.2f} {second:11.3f}")
    print(f"\n{'kernel':70s} {'cold s':>7s} {'warm s':>7s}")
    for name, seconds in sorted(cold["kernels"].items(), key=lambda kv: -kv[1]):
        print(f"{name:70s} {seconds:7.2f} {warm['kernels'].get(name, float('nan')):7.3f}")
    print(f"{'all kernels':70s} {sum(cold['kernels'].values()):7.2f} {sum(warm['kernels'].values()):7.3f}")


if __name__ == "__main__":
    main()
