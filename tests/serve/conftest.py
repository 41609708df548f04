"""Archives and real server processes for the serve tests: each server is ``python -m ember serve``
on free loopback ports (bound by the server itself and reported in its port file), talked to over HTTP."""
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

import ember
from ember.examples.char_gpt import GPT
from ember.export import Dim, export
from ember.serve import save_archive
from ember.vision.models import LeNet5

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
VOCAB = "abcdefghijklmnopqrstuvwxyz ."
IMAGE = {"name": "x", "datatype": "float32", "shape": [1, 28, 28]}
LABELS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def lenet():
    ember.manual_seed(0)
    return LeNet5()


def gpt():
    ember.manual_seed(1)
    return GPT(vocab_size=len(VOCAB), context=16, d_model=16, n_heads=2, n_layers=1)


def write_archives(folder):
    folder = Path(folder)
    logits = [{"name": "logits", "datatype": "float32", "shape": [10]}]
    save_archive(folder / "lenet.emar", name="lenet", model=lenet(), inputs=[IMAGE], outputs=logits)
    save_archive(folder / "lenet_v2.emar", name="lenet", version="2.0", model=lenet(), inputs=[IMAGE], outputs=logits)
    save_archive(folder / "digits.emar", name="digits", model=lenet(), handler="image", inputs=[IMAGE], outputs=logits,
                 labels=LABELS, image={"mean": [0.5], "std": [0.25], "top_k": 3})
    program = export(lenet().eval(), (ember.randn(2, 1, 28, 28),), dynamic_shapes={"x": {0: Dim("batch", min=1, max=64)}})
    ember.export.save(program, folder / "lenet.ep")
    save_archive(folder / "lenet_program.emar", name="lenet_program", program=folder / "lenet.ep", inputs=[IMAGE],
                 outputs=logits)
    vector = [{"name": "x", "datatype": "float32", "shape": [4]}]
    save_archive(folder / "double.emar", name="double", model_class="serve_testmodels:Doubler",
                 model_kwargs={"delay": 0.05}, inputs=vector, outputs=[{"name": "y", "datatype": "float32", "shape": [4]}])
    save_archive(folder / "slow.emar", name="slow", model_class="serve_testmodels:Doubler",
                 model_kwargs={"delay": 0.4}, inputs=vector)
    save_archive(folder / "broken.emar", name="broken", model_class="serve_testmodels:Broken", inputs=vector)
    save_archive(folder / "gpt.emar", name="gpt", model=gpt(), model_kwargs={"vocab_size": len(VOCAB), "context": 16,
                 "d_model": 16, "n_heads": 2, "n_layers": 1}, handler="text",
                 inputs=[{"name": "tokens", "datatype": "int64", "shape": [None]}], text={"vocab": VOCAB, "context": 16})
    return folder


@pytest.fixture(scope="session")
def archives(tmp_path_factory):
    return write_archives(tmp_path_factory.mktemp("store"))


class Server:
    """One ``ember serve`` process; ``url``, ``mgmt`` and ``metrics_url`` are its base URLs."""

    def __init__(self, folder, models, *args, wait=True):
        self.folder = Path(folder)
        self.token = secrets.token_urlsafe(24)
        token_file = self.folder / f"token-{secrets.token_hex(4)}"
        token_file.write_text(self.token)
        self.port_file = self.folder / f"ports-{secrets.token_hex(4)}.json"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(HERE)])}
        cmd = [sys.executable, "-m", "ember", "serve", "--port", "0", "--management-port", "0",
               "--metrics-port", "0", "--port-file", str(self.port_file), "--token-file", str(token_file),
               "--model-store", str(self.folder), "--allow-module", "serve_testmodels", "--worker-threads", "1",
               *[f"--model={m}={self.folder / (m + '.emar')}" for m in models], *args]
        self.log = open(self.folder / f"server-{secrets.token_hex(4)}.log", "w+")
        self.proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        ports = self._ports()
        self.url = f"http://127.0.0.1:{ports['inference']}"
        self.mgmt = f"http://127.0.0.1:{ports['management']}"
        self.metrics_url = f"http://127.0.0.1:{ports['metrics']}/metrics"
        self.auth = {"Authorization": f"Bearer {self.token}"}
        if wait:
            self.wait_loaded(len(models))

    def _ports(self, timeout=60):
        deadline = time.monotonic() + timeout
        while not self.port_file.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start:\n{self.output()}")
            time.sleep(0.05)
        return json.loads(self.port_file.read_text())

    def wait_loaded(self, count, timeout=90):
        """Until ``count`` models are listed by /ping and none is still loading."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            models = httpx.get(self.url + "/ping").json()["models"]
            if len(models) >= count and all(m["status"] not in ("LOADING", "UNAVAILABLE") for m in models.values()):
                return models
            time.sleep(0.1)
        raise RuntimeError(f"models did not load:\n{self.output()}")

    def describe(self, name):
        return httpx.get(f"{self.mgmt}/models/{name}", headers=self.auth).json()

    def metric(self, name, **labels):
        """The value of one sample on /metrics (0.0 when absent)."""
        for line in httpx.get(self.metrics_url).text.splitlines():
            if line.startswith(name + "{") or line.startswith(name + " "):
                if all(f'{k}="{v}"' in line for k, v in labels.items()):
                    return float(line.rsplit(" ", 1)[1])
        return 0.0

    def output(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def terminate(self, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


@pytest.fixture(scope="module")
def server(archives):
    s = Server(archives, ["lenet", "lenet_program", "digits", "double", "gpt", "broken"], "--max-batch-delay-ms", "20")
    yield s
    s.terminate()


def sample(seed=0, n=None):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((1, 28, 28) if n is None else (n, 1, 28, 28)).astype(np.float32)
