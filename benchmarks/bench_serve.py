"""Model serving: throughput and latency of ``ember serve`` with dynamic batching against one request at a time,
the same load on TorchServe (when it is installed: ``torchserve`` + ``torch-model-archiver`` and Java 17),
and the measurement behind running inference in worker processes rather than threads.

``python benchmarks/bench_serve.py`` runs everything it can; ``--only batching|torchserve|threads`` one part.
Each server gets the same closed-loop load: ``--clients`` concurrent HTTP clients posting one LeNet-5 input
(JSON, 28x28) for ``--seconds``, from this process. Numbers are throughput (requests/s) and p50/p99 latency.
"""
import argparse
import asyncio
import collections
import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import ember  # noqa: E402
from ember.serve import save_archive  # noqa: E402
from ember.vision.models import LeNet5, resnet18  # noqa: E402

MODELS = {"lenet": (LeNet5, {}, (1, 28, 28)), "resnet18": (resnet18, {"num_classes": 10}, (3, 32, 32))}
FACTORY = {"resnet18": "ember.vision.models.resnet:resnet18"}


# --- load ------------------------------------------------------------------------------------------------
async def _hammer(url, body, clients, seconds, headers):
    latencies, errors = [], collections.Counter()
    stop = time.perf_counter() + seconds

    async def client(http):
        while time.perf_counter() < stop:
            start = time.perf_counter()
            r = await http.post(url, content=body, headers=headers)
            if r.status_code == 200:
                latencies.append(time.perf_counter() - start)
            else:
                errors[r.status_code] += 1

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=120) as http:
        await asyncio.gather(*(client(http) for _ in range(clients)))
    return latencies, errors


def load(url, body, clients, seconds, headers=None):
    latencies, errors = asyncio.run(_hammer(url, body, clients, seconds, headers or {"Content-Type": "application/json"}))
    p50, p99 = (np.percentile(latencies, [50, 99]) * 1000) if latencies else (float("nan"),) * 2
    return {"rps": len(latencies) / seconds, "p50": p50, "p99": p99, "errors": errors}


def show(name, r):
    print(f"  {name:34s} {r['rps']:8.1f} req/s   p50 {r['p50']:8.1f} ms   p99 {r['p99']:8.1f} ms   "
          f"errors {dict(r['errors']) or 0}", flush=True)


# --- ember serve -----------------------------------------------------------------------------------------
def lenet_input(shape=(1, 28, 28)):
    return np.random.default_rng(0).standard_normal(shape).astype(np.float32)


def ember_server(folder, model, *args):
    """Start ``ember serve`` on free ports; returns (process, inference URL)."""
    ports = folder / f"ports-{time.monotonic_ns()}.json"
    token = folder / "token"
    token.write_text("bench-token-" + "x" * 20)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "ember", "serve", "--port", "0", "--management-port", "0",
                             "--metrics-port", "0", "--port-file", str(ports), "--token-file", str(token),
                             "--model", f"{model}={folder / (model + '.emar')}", *args], env=env, cwd=ROOT)
    while not ports.exists():
        if proc.poll() is not None:
            raise RuntimeError("ember serve did not start")
        time.sleep(0.1)
    url = f"http://127.0.0.1:{json.loads(ports.read_text())['inference']}"
    while (ping := httpx.get(url + "/ping")).status_code != 200:
        if "FAILED" in ping.text:
            stop(proc)
            raise RuntimeError(f"ember serve could not load {model}: {ping.text}")
        time.sleep(0.1)
    return proc, url


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    proc.wait(60)


def bench_batching(folder, model, clients, seconds):
    print(f"ember serve, {model}, {clients} clients x {seconds:g} s:")
    body = json.dumps(lenet_input(MODELS[model][2]).tolist()).encode()
    results = {}
    for name, args in (("dynamic batching (<=32, 5 ms)", ["--max-batch-size", "32", "--max-batch-delay-ms", "5"]),
                       ("one request at a time", ["--max-batch-size", "1", "--max-batch-delay-ms", "0"])):
        proc, url = ember_server(folder, model, *args)
        try:
            load(f"{url}/predictions/{model}", body, clients, 2)   # warm the connections and caches
            results[name] = load(f"{url}/predictions/{model}", body, clients, seconds)
        finally:
            stop(proc)
        show(name, results[name])
    a, b = results.values()
    if b["rps"]:
        print(f"  batching / one-at-a-time: throughput x{a['rps'] / b['rps']:.2f}, p99 x{a['p99'] / b['p99']:.2f}")
    return results


# --- TorchServe ------------------------------------------------------------------------------------------
TORCH_HANDLER = '''
import json
import torch
from ts.torch_handler.base_handler import BaseHandler


class LeNetHandler(BaseHandler):
    def preprocess(self, data):
        rows = [json.loads(d.get("body") or d.get("data")) if isinstance(d.get("body") or d.get("data"), (bytes, str))
                else d.get("body") or d.get("data") for d in data]
        return torch.tensor(rows, dtype=torch.float32)

    def postprocess(self, out):
        return out.tolist()
'''

TORCH_MODEL = '''
import torch
from torch import nn


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                                        nn.Linear(84, 10))

    def forward(self, x):
        return self.classifier(self.features(x))
'''


def bench_torchserve(folder, clients, seconds):
    if not (shutil.which("torchserve") and shutil.which("torch-model-archiver") and shutil.which("java")):
        print("TorchServe: not installed here (needs torchserve, torch-model-archiver and Java 17 on PATH); skipped")
        return None
    import torch   # the comparison needs torch; ember itself never imports it

    work = folder / "torchserve"
    (work / "store").mkdir(parents=True, exist_ok=True)
    (work / "model.py").write_text(TORCH_MODEL)
    (work / "handler.py").write_text(TORCH_HANDLER)
    sys.path.insert(0, str(work))
    from model import LeNet5 as TorchLeNet5  # the file just written

    ember.manual_seed(0)
    weights = {k: torch.from_numpy(v.numpy().copy()) for k, v in LeNet5().state_dict().items()}
    net = TorchLeNet5()
    net.load_state_dict(weights)
    torch.save(net.state_dict(), work / "lenet.pt")
    subprocess.run(["torch-model-archiver", "--model-name", "lenet", "--version", "1.0", "--model-file",
                    str(work / "model.py"), "--serialized-file", str(work / "lenet.pt"), "--handler",
                    str(work / "handler.py"), "--export-path", str(work / "store"), "--force"], check=True)
    (work / "config.properties").write_text(
        "inference_address=http://127.0.0.1:18080\nmanagement_address=http://127.0.0.1:18081\n"
        "metrics_address=http://127.0.0.1:18082\ndisable_token_authorization=true\ndefault_workers_per_model=1\n"
        "load_models=lenet.mar\n"
        'models={"lenet": {"1.0": {"marName": "lenet.mar", "minWorkers": 1, "maxWorkers": 1, "batchSize": 32, '
        '"maxBatchDelay": 5, "responseTimeout": 120}}}\n')
    proc = subprocess.Popen(["torchserve", "--start", "--foreground", "--ncs", "--model-store", str(work / "store"),
                             "--ts-config", str(work / "config.properties"), "--disable-token-auth"],
                            stdout=open(work / "torchserve.log", "w"), stderr=subprocess.STDOUT, cwd=work)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get("http://127.0.0.1:18080/ping").json().get("status") == "Healthy":
                    models = httpx.get("http://127.0.0.1:18081/models/lenet").json()
                    if models and models[0]["workers"] and models[0]["workers"][0]["status"] == "READY":
                        break
            except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError):
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("TorchServe did not become ready:\n" + (work / "torchserve.log").read_text()[-3000:])
            time.sleep(0.5)
        body = json.dumps(lenet_input().tolist()).encode()
        url = "http://127.0.0.1:18080/predictions/lenet"
        check = httpx.post(url, content=body, headers={"Content-Type": "application/json"}, timeout=60).json()
        with torch.no_grad():
            expected = net(torch.from_numpy(lenet_input()[None]))[0].numpy()
        np.testing.assert_allclose(check, expected, rtol=1e-4, atol=1e-5)
        load(url, body, clients, 2)
        result = load(url, body, clients, seconds)
        show("TorchServe (torch, batch <=32, 5 ms)", result)
        return result
    finally:
        subprocess.run(["torchserve", "--stop"], capture_output=True)
        proc.wait(60)


# --- threads or processes --------------------------------------------------------------------------------
def _forward_loop(batch, seconds, counts=None):
    ember.set_num_threads(1)
    model = LeNet5().eval()
    x = ember.from_numpy(np.random.default_rng(1).standard_normal((batch, 1, 28, 28)).astype(np.float32))
    done, stop_at = 0, time.perf_counter() + seconds
    with ember.no_grad():
        model(x)
        while time.perf_counter() < stop_at:
            model(x)
            done += batch
    if counts is not None:
        counts.put(done)
    return done


def bench_threads_vs_processes(seconds=3.0):
    print("LeNet-5 forward, samples/s: 1 thread, 2 threads in one process, 2 processes (1 BLAS thread each):")
    ctx = multiprocessing.get_context("spawn")
    for batch in (1, 8, 32):
        one = _forward_loop(batch, seconds) / seconds
        done = []
        threads = [threading.Thread(target=lambda: done.append(_forward_loop(batch, seconds))) for _ in range(2)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        two_threads = sum(done) / seconds
        counts = ctx.Queue()
        procs = [ctx.Process(target=_forward_loop, args=(batch, seconds, counts)) for _ in range(2)]
        [p.start() for p in procs]
        two_procs = sum(counts.get() for _ in procs) / seconds
        [p.join() for p in procs]
        print(f"  batch {batch:3d}: {one:8.0f}  {two_threads:8.0f} (x{two_threads / one:.2f})  "
              f"{two_procs:8.0f} (x{two_procs / one:.2f})", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["batching", "torchserve", "threads"])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--model", action="append", choices=sorted(MODELS), help="models for the batching part "
                        "(default: lenet and resnet18; TorchServe serves lenet)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    for name, (build, kwargs, shape) in MODELS.items():
        ember.manual_seed(0)
        save_archive(folder / f"{name}.emar", name=name, model=build(**kwargs), model_class=FACTORY.get(name),
                     model_kwargs=kwargs,
                     inputs=[{"name": "x", "datatype": "float32", "shape": list(shape)}])
    try:
        if args.only in (None, "threads"):
            bench_threads_vs_processes()
        if args.only in (None, "batching"):
            ours = {m: bench_batching(folder, m, args.clients, args.seconds) for m in args.model or ["lenet", "resnet18"]}
        if args.only in (None, "torchserve"):
            theirs = bench_torchserve(folder, args.clients, args.seconds)
            if theirs and args.only is None and "lenet" in ours:
                batched = next(iter(ours["lenet"].values()))
                print(f"  ember / TorchServe: throughput x{batched['rps'] / theirs['rps']:.2f}, "
                      f"p99 x{batched['p99'] / theirs['p99']:.2f}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
