"""Peak memory and step time of the GPT benchmark model with and without activation checkpointing.

The model is bench_train's GPT (d256, 4 heads, 4 layers, seq128, b16). "checkpointed" runs each
encoder layer through ``ember.utils.checkpoint.checkpoint(..., use_reentrant=False)``. Peak memory
is tracemalloc's peak over one forward + backward (NumPy reports its array buffers to tracemalloc),
measured in a fresh process per variant.

    python benchmarks/bench_checkpoint.py
"""
import json
import subprocess
import sys
import time
import tracemalloc

from bench_train import _batch, _models


def worker(variant):
    import ember
    from ember.utils.checkpoint import checkpoint

    ember.manual_seed(0)
    model = _models(ember, "gpt")
    if variant != "plain":
        reentrant = variant == "reentrant"
        for layer in model.blocks.layers:
            forward = layer.forward
            layer.forward = (lambda f: lambda x, **kw: checkpoint(f, x, use_reentrant=reentrant, **kw))(forward) \
                if not reentrant else (lambda f: lambda x, **kw: checkpoint(lambda t: f(t, **kw), x,
                                                                             use_reentrant=True))(forward)
    x, y = _batch(ember, "gpt")

    def step():
        model.zero_grad()
        out = model(x)
        ember.nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), y).backward()

    step()
    tracemalloc.start()
    step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - start)
    print(json.dumps({"peak_bytes": peak, "seconds": best}))


def main():
    results = {}
    for variant in ("plain", "non-reentrant", "reentrant"):
        out = subprocess.run([sys.executable, __file__, "--worker", variant], capture_output=True, text=True,
                             check=True)
        results[variant] = json.loads(out.stdout.strip().splitlines()[-1])
    base = results["plain"]
    print(f"{'variant':16s} {'peak MB':>8s} {'vs plain':>9s} {'step ms':>8s} {'vs plain':>9s}")
    for name, r in results.items():
        print(f"{name:16s} {r['peak_bytes'] / 2**20:8.1f} {r['peak_bytes'] / base['peak_bytes']:9.2f} "
              f"{r['seconds'] * 1e3:8.1f} {r['seconds'] / base['seconds']:9.2f}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        worker(sys.argv[2])
    else:
        main()
