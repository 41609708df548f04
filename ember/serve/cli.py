"""``ember serve`` and ``ember archive``: the command-line faces of the server and the archive format.

``SERVE`` and ``ARCHIVE`` are subcommands of ``ember/cli`` (``HELP``, ``add_arguments(parser)``, ``run(args)``).
"""
import json
import os
import sys
from types import SimpleNamespace

from ember._tensor import Tensor
from ember.serialization import load
from ember.serve.archive import ArchiveError, save_archive
from ember.serve.config import ServeConfig


def add_serve_arguments(p):
    p.add_argument("--model", action="append", default=[], metavar="NAME=PATH",
                   help="an archive to serve under NAME (repeatable); a relative PATH may name a file in --model-store")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080, help="inference port (0: any free port)")
    p.add_argument("--management-port", type=int, default=8081)
    p.add_argument("--metrics-port", type=int, default=8082)
    p.add_argument("--workers", type=int, default=1, help="worker processes per model")
    p.add_argument("--worker-threads", type=int, default=0, help="CPU threads per worker (0: cores / workers)")
    p.add_argument("--max-batch-size", type=int, default=8)
    p.add_argument("--max-batch-delay-ms", type=float, default=5.0)
    p.add_argument("--queue-size", type=int, default=256, help="waiting requests per model before 503")
    p.add_argument("--request-timeout", type=float, default=30.0, help="seconds per request before 504")
    p.add_argument("--max-body-mb", type=float, default=10.0)
    p.add_argument("--token-file", help="file holding the management bearer token (default: a fresh token in a "
                                        "private temporary file)")
    p.add_argument("--model-store", help="folder that management registration may load archives from")
    p.add_argument("--allow-module", action="append", default=[], metavar="PREFIX",
                   help="also allow model classes and handlers from this module prefix (ember is always allowed)")
    p.add_argument("--allow-remote", action="store_true",
                   help="allow binding a non-loopback --host (needs --token-file; inference then needs the token too)")
    p.add_argument("--port-file", help="write the bound ports as JSON here once listening")


def add_archive_arguments(a):
    a.add_argument("--name", required=True)
    a.add_argument("--version", default="1.0")
    what = a.add_mutually_exclusive_group(required=True)
    what.add_argument("--program", help="a saved program file (ember.export.save)")
    what.add_argument("--model-class", metavar="MODULE:CLASS", help="an installed model class")
    a.add_argument("--model-kwargs", default="{}", help="the class's constructor keyword arguments as JSON")
    a.add_argument("--weights", help="checkpoint with the weights (a state dict or a saved module)")
    a.add_argument("--handler", default="tensor", help="tensor, image, text or MODULE:CLASS")
    a.add_argument("--input", action="append", required=True, metavar="NAME:DTYPE:SHAPE",
                   help="a model input and its per-sample shape, '*' for a free size, e.g. x:float32:1,28,28")
    a.add_argument("--output", action="append", default=[], metavar="NAME:DTYPE:SHAPE")
    a.add_argument("--labels", help="text file with one class label per line")
    a.add_argument("--image-size", help="H,W the image handler resizes to (default: the input's)")
    a.add_argument("--image-mode", help="Pillow mode, L or RGB (default: from the input's channels)")
    a.add_argument("--mean", help="per-channel mean, comma separated")
    a.add_argument("--std", help="per-channel standard deviation, comma separated")
    a.add_argument("--top-k", type=int, default=5)
    a.add_argument("--vocab-file", help="text handler: file whose characters, in order, are the vocabulary")
    a.add_argument("--context", type=int, help="text handler: the model's context length")
    a.add_argument("--description", default="")
    a.add_argument("-o", "--out", required=True, help="archive file to write")


def serve_command(args):
    try:
        config = ServeConfig(
            host=args.host, port=args.port, management_port=args.management_port, metrics_port=args.metrics_port,
            workers=args.workers, worker_threads=args.worker_threads, max_batch_size=args.max_batch_size,
            max_batch_delay_ms=args.max_batch_delay_ms, queue_size=args.queue_size,
            request_timeout_s=args.request_timeout, max_body_bytes=int(args.max_body_mb * 1024 * 1024),
            token=_read_token(args.token_file), model_store=args.model_store or "",
            allow_modules=("ember", *args.allow_module), allow_remote=args.allow_remote,
            models=dict(_model_arg(m, args.model_store) for m in args.model))
        config.check()
    except (ValueError, OSError) as e:
        print(f"ember serve: {e}", file=sys.stderr)
        return 2
    from ember.serve.server import run  # optional dependency: uvicorn and Starlette load only when serving
    return run(config, args.port_file)


def _read_token(path):
    if not path:
        return ""
    with open(path) as f:
        token = f.read().strip()
    if len(token) < 16:
        raise ValueError(f"the token in {path} is shorter than 16 characters")
    return token


def _model_arg(text, store):
    name, sep, path = text.partition("=")
    if not sep:
        raise ValueError(f"--model takes NAME=PATH, got {text!r}")
    if not os.path.isabs(path) and not os.path.exists(path) and store:
        path = os.path.join(store, path)
    if not os.path.isfile(path):
        raise ValueError(f"--model {name}: no archive at {path}")
    return name, os.path.abspath(path)


def _tensor_spec(text):
    parts = text.split(":")
    if len(parts) != 3:
        raise ValueError(f"tensor spec {text!r} must be NAME:DTYPE:SHAPE, e.g. x:float32:1,28,28")
    name, dtype, shape = parts
    dims = [None if d.strip() == "*" else int(d) for d in shape.split(",") if d.strip()]
    return {"name": name, "datatype": dtype, "shape": dims}


def _floats(text):
    return [float(v) for v in text.split(",")] if text else None


def _weights(path):
    obj = load(path, map_location="cpu")
    if hasattr(obj, "state_dict") and callable(obj.state_dict):
        return obj.state_dict()
    if isinstance(obj, dict):
        for key in ("state_dict", "model_state_dict", "model"):
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
        if all(isinstance(k, str) and isinstance(v, Tensor) for k, v in obj.items()):
            return obj
    raise ValueError(f"{path} holds no state dict (a dict of tensors, or a saved module)")


def archive_command(args):
    try:
        image = None
        if args.handler == "image":
            image = {"top_k": args.top_k}
            if args.image_size:
                image["size"] = [int(v) for v in args.image_size.split(",")]
            if args.image_mode:
                image["mode"] = args.image_mode
            if args.mean:
                image["mean"] = _floats(args.mean)
            if args.std:
                image["std"] = _floats(args.std)
        text = None
        if args.vocab_file or args.context:
            text = {"context": args.context}
            if args.vocab_file:
                with open(args.vocab_file, encoding="utf-8") as f:
                    text["vocab"] = f.read()
        labels = None
        if args.labels:
            with open(args.labels, encoding="utf-8") as f:
                labels = [line.strip() for line in f if line.strip()]
        save_archive(args.out, name=args.name, version=args.version, program=args.program,
                     model_class=args.model_class, model_kwargs=json.loads(args.model_kwargs),
                     state_dict=_weights(args.weights) if args.weights else None, handler=args.handler,
                     inputs=[_tensor_spec(s) for s in args.input], outputs=[_tensor_spec(s) for s in args.output],
                     labels=labels, image=image, text=text, description=args.description)
    except (ArchiveError, ValueError, OSError) as e:
        print(f"ember archive: {e}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}")
    return 0


SERVE = SimpleNamespace(HELP="serve model archives over HTTP (TorchServe's API and the Open Inference Protocol v2); "
                             "binds 127.0.0.1 unless told otherwise",
                        add_arguments=add_serve_arguments, run=serve_command)
ARCHIVE = SimpleNamespace(HELP="pack a model archive (.emar): a saved program, or weights plus an installed model class",
                          add_arguments=add_archive_arguments, run=archive_command)
