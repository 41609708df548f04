"""ember's compiled backend (``ember.compiler.inductor``) against ember eager, torch eager and torch.compile.

Cases (each (case, variant) pair runs alone in a fresh process; the pairs alternate for
``--repeats`` rounds and the best time of each is kept):

- ``chain``: a 20-op elementwise chain on 64 elements, forward + backward (per-op overhead);
- ``break`` / ``break-256k``: the chain with a branch on its running sum halfway (a graph break for both
  compilers: ember runs it as compiled segments, ``ember.compile``), on 64 and on 262144 elements;
- ``mlp``: one SGD step of the MLP 784-512-512-10 at batch 128 (bench_train.py's);
- ``compile``: the GPT d256 4-layer model (bench_train.py's): capture + compile + the first
  training step, ``cold`` with an empty numba cache (``NUMBA_CACHE_DIR`` a new folder) and
  ``warm`` in a second process on the filled cache.

    python benchmarks/bench_compile.py [--repeats 3] [--only chain]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_train import _batch, _models  # noqa: E402

VARIANTS = ("ember", "ember-compiled", "torch", "torch.compile")


def chain(x):
    """20 elementwise ops."""
    for _ in range(4):
        x = (x * 1.01 + 0.1).tanh() * x.sigmoid() - 0.5
    return x


def broken_chain(x):
    """The chain, with a data-dependent branch halfway."""
    for _ in range(2):
        x = (x * 1.01 + 0.1).tanh() * x.sigmoid() - 0.5
    x = x * 2 if x.sum() > 0 else x * 0.5
    for _ in range(2):
        x = (x * 1.01 + 0.1).tanh() * x.sigmoid() - 0.5
    return x


BREAK_SIZES = {"break": 64, "break-256k": 1 << 18}


def _best(step, rounds=5, n=200):
    step()
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(n):
            step()
        best = min(best, (time.perf_counter() - start) / n)
    return best


def _compiled(lib, fn, args, module=None):
    """ember: capture + inductor; torch: torch.compile."""
    if lib.__name__ == "torch":
        return lib.compile(fn)
    from ember.compiler.inductor import compile_graph
    from ember.export.program import capture
    graph, state, _, _ = capture(fn, args, module=module, differentiable=True, mirror_inputs=True)
    return compile_graph(graph, state, list(args))


def gemm_floor(lib):
    """The six GEMMs of one MLP step alone (forward x W^T, backward g W and g^T x per layer): the floor
    of a step for a library whose other work cost nothing."""
    import numpy as np
    rng = np.random.default_rng(0)
    shapes = [(128, 784, 512), (128, 512, 512), (128, 512, 10)]
    mats = [(lib.tensor(rng.random((b, i), dtype=np.float32)), lib.tensor(rng.random((o, i), dtype=np.float32)),
             lib.tensor(rng.random((b, o), dtype=np.float32))) for b, i, o in shapes]

    def step():
        for x, w, g in mats:
            x @ w.T, g @ w, g.T @ x
    return _best(step, rounds=3, n=20)


def worker(case, variant):
    import numpy as np
    if variant.startswith("torch"):
        import torch as lib
    elif variant.startswith("numpy"):
        import ember as lib
        lib.tensor = np.asarray  # the same GEMMs on bare NumPy arrays
    else:
        import ember as lib
    compiled = variant.endswith("compile") or variant.endswith("compiled")
    lib.manual_seed(0)
    if case == "chain" or case in BREAK_SIZES:
        x = lib.tensor(np.random.default_rng(0).random(BREAK_SIZES.get(case, 64), dtype=np.float32) - 0.5,
                       requires_grad=True)
        if case == "chain":
            fn = _compiled(lib, chain, (x,)) if compiled else chain
        else:
            fn = lib.compile(broken_chain) if compiled else broken_chain

        def step():
            fn(x).sum().backward()
        print(json.dumps({"seconds": _best(step, n=500 if x.shape[0] == 64 else 20)}))
        return
    if variant.endswith("gemms"):
        print(json.dumps({"seconds": gemm_floor(lib)}))
        return
    model = _models(lib, "mlp")
    opt = lib.optim.SGD(model.parameters(), lr=0.01)
    x, y = _batch(lib, "mlp")
    fn = _compiled(lib, model, (x,), module=model) if compiled else model

    def step():
        opt.zero_grad()
        lib.nn.functional.cross_entropy(fn(x), y).backward()
        opt.step()
    print(json.dumps({"seconds": _best(step, rounds=3, n=20)}))


def compile_worker():
    """Eager steps first (they compile ember's own eager kernels and the optimizer's), then the compiled
    model's first step against its later ones: the difference is what compiling costs."""
    import ember
    model = _models(ember, "gpt")
    opt = ember.optim.AdamW(model.parameters(), lr=1e-3)
    x, y = _batch(ember, "gpt")

    def step(fn):
        out = fn(x)
        ember.nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), y).backward()
        opt.step()
        opt.zero_grad()

    for _ in range(2):
        step(model)
    start = time.perf_counter()
    fn = _compiled(ember, model, (x,), module=model)
    built = time.perf_counter()
    step(fn)
    first = time.perf_counter()
    later = []
    for _ in range(3):
        t = time.perf_counter()
        step(fn)
        later.append(time.perf_counter() - t)
    print(json.dumps({"capture_and_passes": built - start, "first_step": first - built, "step": min(later)}))


def _run(args, env=None):
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, env=env)
    if out.returncode:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", choices=("chain", *BREAK_SIZES, "mlp", "compile"))
    parser.add_argument("--worker", nargs=2)
    parser.add_argument("--compile-worker", action="store_true")
    a = parser.parse_args()
    if a.worker:
        return worker(*a.worker)
    if a.compile_worker:
        return compile_worker()
    for case in ("chain", *BREAK_SIZES, "mlp"):
        if a.only not in (None, case):
            continue
        times = {v: [] for v in VARIANTS}
        for _ in range(a.repeats):
            for v in VARIANTS:
                r = _run(["--worker", case, v])
                times[v].append(r.get("seconds", float("nan")))
                if "error" in r:
                    print(f"  {case} {v}: {r['error']}")
        best = {v: min(t) for v, t in times.items()}
        if case == "mlp":
            floors = {v: min(_run(["--worker", case, v]).get("seconds", float("nan")) for _ in range(a.repeats))
                      for v in ("numpy-gemms", "torch-gemms")}
            print(f"  GEMM floor of a step: NumPy {floors['numpy-gemms'] * 1e6:.0f} us, "
                  f"torch {floors['torch-gemms'] * 1e6:.0f} us")
        print(f"{case}: " + ", ".join(f"{v} {best[v] * 1e6:.0f} us" for v in VARIANTS))
        print(f"  compiled/torch eager {best['ember-compiled'] / best['torch']:.2f} (runs "
              + ", ".join(f"{c / t:.2f}" for c, t in zip(times["ember-compiled"], times["torch"]))
              + f"), compiled/torch.compile {best['ember-compiled'] / best['torch.compile']:.2f}, "
              f"compiled/ember eager {best['ember-compiled'] / best['ember']:.2f}")
    if a.only in (None, "compile"):
        for _ in range(a.repeats):
            with tempfile.TemporaryDirectory() as cache:
                env = dict(os.environ, NUMBA_CACHE_DIR=cache)
                cold, warm = _run(["--compile-worker"], env), _run(["--compile-worker"], env)
            cost = [r["capture_and_passes"] + r["first_step"] - r["step"] for r in (cold, warm)]
            print(f"gpt compile (capture + passes + first step minus a later step): cold {cost[0]:.2f} s "
                  f"(capture+passes {cold['capture_and_passes']:.2f} s), warm {cost[1]:.2f} s "
                  f"(a step: {warm['step']:.2f} s)")


if __name__ == "__main__":
    main()
