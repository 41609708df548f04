"""Distributed speed, ember (MPI) against torch (gloo) on this machine, 2 ranks.

    python benchmarks/bench_distributed.py            # the whole table
    python benchmarks/bench_distributed.py --quick    # fewer sizes and steps

1. all_reduce bus bandwidth (bytes * 2(n-1)/n / time) for 1 KB ... 64 MB, ember / torch ratio;
2. DDP step time (forward, backward with the averaged gradients, SGD step) for an MLP and the
   char_gpt GPT with 1 and 2 ranks at the same per-rank batch; scaling efficiency = t1 / t2.
Each side runs as its own job: ember under mpiexec, torch under torch.multiprocessing.spawn.
"""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZES = [1 << 10, 1 << 14, 1 << 18, 1 << 22, 1 << 26]


def _timeit(fn, sync, repeat):
    fn()
    sync()
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeat):
            fn()
        sync()
        best = min(best, (time.perf_counter() - start) / repeat)
    return best


def _models(lib):
    nn = lib.nn
    mlp = nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 10))
    mlp_batch = (lib.randn(64, 784), lib.randint(0, 10, (64,)))
    if lib.__name__ == "ember":
        from ember.examples.char_gpt import GPT
        gpt = GPT(65, 64, d_model=128, n_heads=4, n_layers=2)
        gpt_batch = (lib.randint(0, 65, (8, 64)), lib.randint(0, 65, (8, 64)))
        return {"mlp": (mlp, mlp_batch), "gpt": (gpt, gpt_batch)}
    return {"mlp": (mlp, mlp_batch)}


def worker(lib, rank, world, quick):
    dist, ddp_cls = lib.distributed, lib.nn.parallel.DistributedDataParallel
    out = {"allreduce": {}, "step": {}}
    sizes = SIZES[::2] if quick else SIZES
    for size in sizes:
        t = lib.ones(size // 4)
        seconds = _timeit(lambda t=t: dist.all_reduce(t), dist.barrier, 3 if size > 1 << 22 else 20)
        out["allreduce"][size] = seconds
    lib.manual_seed(0)
    for name, (model, (x, y)) in _models(lib).items():
        model = ddp_cls(model) if world > 1 else model
        opt = lib.optim.SGD(model.parameters(), lr=1e-3)

        def step(model=model, x=x, y=y, opt=opt):
            opt.zero_grad()
            logits = model(x)
            lib.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1)).backward()
            opt.step()
        out["step"][name] = _timeit(step, dist.barrier if world > 1 else (lambda: None), 2 if quick else 5)
    if rank == 0:
        print("RESULT " + json.dumps(out), flush=True)


def _torch_rank(rank, world, port, quick):
    import torch
    torch.set_num_threads(1)
    torch.distributed.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    worker(torch, rank, world, quick)
    torch.distributed.destroy_process_group()


def _run(cmd):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1200)
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")]
    if not line:
        raise SystemExit(f"{cmd} failed:\n{out.stdout}\n{out.stderr}")
    return json.loads(line[0][7:])


def main():
    quick = "--quick" in sys.argv
    me = [sys.executable, __file__] + (["--quick"] if quick else [])
    mpiexec = str(Path(sys.executable).parent / "mpiexec")
    results = {}
    for world in (1, 2):
        results["ember", world] = _run([mpiexec, "-n", str(world), *me, "--ember-rank"])
        results["torch", world] = _run([*me, "--torch-job", str(world)])
    print("all_reduce, 2 ranks: bus bandwidth (MB/s) and ember/torch time ratio")
    for size, e in results["ember", 2]["allreduce"].items():
        t = results["torch", 2]["allreduce"][size]
        bus = lambda s: int(size) * 2 * (2 - 1) / 2 / s / 1e6
        print(f"  {int(size) / 1024:>8.0f} KB  ember {bus(e):9.1f}  torch {bus(t):9.1f}  ratio {e / t:5.2f}")
    print("DDP step time (ms), same per-rank batch; scaling efficiency t1/t2")
    for name, t1 in results["ember", 1]["step"].items():
        t2 = results["ember", 2]["step"][name]
        line = f"  {name:4s} ember 1 rank {t1 * 1e3:7.1f}  2 ranks {t2 * 1e3:7.1f}  efficiency {t1 / t2:4.2f}"
        if name in results["torch", 1]["step"]:
            u1, u2 = results["torch", 1]["step"][name], results["torch", 2]["step"][name]
            line += f" | torch {u1 * 1e3:7.1f} {u2 * 1e3:7.1f}  efficiency {u1 / u2:4.2f}"
        print(line)


if __name__ == "__main__":
    if "--ember-rank" in sys.argv:
        import ember
        from ember import distributed
        distributed.init_process_group("gloo")
        worker(ember, distributed.get_rank(), distributed.get_world_size(), "--quick" in sys.argv)
    elif "--torch-job" in sys.argv:
        import torch.multiprocessing
        world = int(sys.argv[sys.argv.index("--torch-job") + 1])
        torch.multiprocessing.spawn(_torch_rank, args=(world, 29531, "--quick" in sys.argv), nprocs=world)
    else:
        main()
