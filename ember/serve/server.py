"""Run the server: three uvicorn servers (inference, management, metrics) on one event loop.

Startup binds the ports first, so liveness answers while models load and readiness tells the truth.
SIGTERM (or SIGINT) drains: the inference port stops accepting, requests already accepted finish
(up to ``drain_timeout_s``), then management, metrics and the workers stop.
"""
import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
import sys
import tempfile

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.responses import Response
from starlette.routing import Route

from ember.serve.config import is_loopback
from ember.serve.errors import ServeError
from ember.serve.inference_api import inference_app
from ember.serve.management_api import management_app
from ember.serve.metrics import Metrics
from ember.serve.registry import ModelRegistry
from ember.serve.web import make_app


class _Server(uvicorn.Server):
    """uvicorn's server without its own signal handling: the drain order is ours."""

    def capture_signals(self):
        return contextlib.nullcontext()


def bind(host, port):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def metrics_app(metrics):
    async def render(request):
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)
    return make_app([Route("/metrics", render, methods=["GET"])])


def ensure_token(config, log):
    """The management token: the configured one, or a fresh one written to a private file."""
    if config.token:
        return config.token
    token = secrets.token_urlsafe(32)
    fd, path = tempfile.mkstemp(prefix="ember-serve-", suffix=".token")
    with os.fdopen(fd, "w") as f:   # mkstemp creates the file readable by its owner only
        f.write(token + "\n")
    log(f"management token written to {path}")
    return token


async def serve(config, port_file=None, ready_callback=None):
    """Run until SIGTERM/SIGINT. ``port_file`` receives the bound ports as JSON once they are bound."""
    config.check()
    metrics = Metrics()
    registry = ModelRegistry(config, metrics)
    registry.pending.update(config.models)   # not ready until these have loaded, or failed by name
    token = ensure_token(config, registry.log)
    inference_token = "" if is_loopback(config.host) else token
    apps = {"inference": (inference_app(registry, metrics, config, inference_token), config.port),
            "management": (management_app(registry, config, token), config.management_port),
            "metrics": (metrics_app(metrics), config.metrics_port)}
    servers, tasks, ports = {}, {}, {}
    for name, (app, port) in apps.items():
        sock = bind(config.host, port)
        ports[name] = sock.getsockname()[1]
        servers[name] = _Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                                               timeout_graceful_shutdown=config.drain_timeout_s))
        tasks[name] = asyncio.create_task(servers[name].serve(sockets=[sock]))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if port_file:
        _write_json(port_file, {**ports, "pid": os.getpid()})
    registry.log(f"inference on {config.host}:{ports['inference']}, management on {ports['management']}, "
                 f"metrics on {ports['metrics']}")
    registry.start_watching()
    loading = asyncio.create_task(_load_all(registry, config.models))
    if ready_callback:
        ready_callback(ports, registry)
    await stop.wait()
    registry.log("draining: no new connections; finishing accepted requests")
    servers["inference"].should_exit = True
    await tasks["inference"]
    for name in ("management", "metrics"):
        servers[name].should_exit = True
    await asyncio.gather(tasks["management"], tasks["metrics"])
    loading.cancel()
    await registry.close()
    registry.log("stopped")


async def _load_all(registry, models):
    async def one(name, path):
        try:
            await registry.register(path, name=name)
        except ServeError as e:
            registry.failed[name] = e.message
            registry.log(e.message)
    await asyncio.gather(*(one(name, path) for name, path in models.items()))


def _write_json(path, obj):
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f)
    os.replace(tmp, path)


def run(config, port_file=None):
    try:
        asyncio.run(serve(config, port_file))
    except (ValueError, OSError) as e:
        print(f"ember serve: {e}", file=sys.stderr)
        return 2
    return 0
