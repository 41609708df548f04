"""Model archives: one safe file that says what to serve and how, and never carries code.

Format: an archive (``NAME.emar`` by convention) is an ember checkpoint (``ember.save``: a valid
``.safetensors`` file, loaded without pickle) of a dict with three entries:

- ``"manifest"``: a JSON string (format ``"ember-archive"``, ``archive_version`` 1) naming the model, its
  version, the handler, input/output schema (per-sample shapes, ``null`` for a free dimension), labels and
  the handler's settings (``image``: size, mode, mean, std, top_k; ``text``: vocab, context);
- ``"state_dict"``: the weights (tensor names ``state_dict.<param>``) for ``{"kind": "class"}`` models;
- ``"program"``: the bytes of an ``ember.export.save`` file as a uint8 tensor for ``{"kind": "program"}``.

A ``class`` model is ``{"kind": "class", "class": "package.module:Qualname", "kwargs": {...}}``: the class (or
factory function, such as ``ember.vision.models.resnet:resnet18``) of an installed package, called with JSON
keyword arguments, then given the weights. The server imports a class
or custom handler only from module prefixes its configuration allows (``ember`` by default), so an archive
can name code but never bring it.

>>> import io
>>> from ember.vision.models import LeNet5
>>> buf = io.BytesIO()
>>> save_archive(buf, name="lenet", model=LeNet5(), inputs=[{"name": "x", "datatype": "float32", "shape": [1, 28, 28]}])
>>> _ = buf.seek(0)
>>> read_archive(buf).manifest["model"]["class"]
'ember.vision.models.lenet:LeNet5'
"""
import importlib
import io
import json
import re
from dataclasses import dataclass, field

import numpy as np

from ember._tensor import Tensor
from ember.creation import from_numpy
from ember.export import load as load_program
from ember.serialization import FormatError, load, save
from ember.serve.errors import bad_request

FORMAT = "ember-archive"
VERSION = 1
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
BUILTIN_HANDLERS = ("tensor", "image", "text")
DATATYPES = ("bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64")


class ArchiveError(ValueError):
    """An archive that is malformed or asks for something the server does not allow."""


def check_name(value, what="model name"):
    """``value`` if it is a safe model name or version (letters, digits, ``_.-``; no path parts), else 400."""
    if not isinstance(value, str) or not NAME_RE.fullmatch(value) or ".." in value:
        raise bad_request(f"invalid {what} {value!r:.80}: use 1-64 letters, digits, '_', '.' or '-', "
                          f"starting with a letter or digit, without '..'")
    return value


@dataclass
class Archive:
    manifest: dict
    state_dict: dict = field(default_factory=dict)
    program: bytes = b""

    @property
    def name(self):
        return self.manifest["name"]

    @property
    def version(self):
        return self.manifest["version"]


def save_archive(f, *, name, inputs, version="1.0", model=None, model_class=None, model_kwargs=None,
                 state_dict=None, program=None, handler="tensor", outputs=None, labels=None, image=None,
                 text=None, description=""):
    """Write an archive to the path or binary file ``f``.

    Give either ``program`` (bytes or path of an ``ember.export.save`` file), or a class model: ``model``
    (an instance of an importable class; its weights are taken) or ``model_class`` ("module:Qualname")
    with ``state_dict``; ``model_kwargs`` are the constructor's JSON keyword arguments.
    """
    if program is not None:
        if isinstance(program, str) or hasattr(program, "__fspath__"):
            with open(program, "rb") as fp:
                program = fp.read()
        spec, state_dict = {"kind": "program"}, {}
    else:
        if model is not None:
            cls = type(model)
            model_class = model_class or f"{cls.__module__}:{cls.__qualname__}"
            state_dict = model.state_dict() if state_dict is None else state_dict
        if not model_class:
            raise ArchiveError("save_archive needs a program, a model or a model_class")
        spec = {"kind": "class", "class": model_class, "kwargs": dict(model_kwargs or {})}
    manifest = {"format": FORMAT, "archive_version": VERSION, "name": name, "version": str(version),
                "description": description, "model": spec, "handler": handler, "inputs": inputs,
                "outputs": outputs or [], "labels": labels, "image": image, "text": text}
    validate_manifest(manifest)
    weights = {k: v.detach() for k, v in (state_dict or {}).items()}
    blob = from_numpy(np.frombuffer(program, dtype=np.uint8).copy()) if program else None
    save({"manifest": json.dumps(manifest), "state_dict": weights, "program": blob}, f)


def read_archive(f):
    """Read and validate an archive (path or binary file); runs no code from it."""
    try:
        obj = load(f, map_location="cpu")
    except (FormatError, OSError) as e:
        raise ArchiveError(f"not a readable model archive: {e}") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("manifest"), str):
        raise ArchiveError("not an ember model archive: the file has no manifest")
    try:
        manifest = json.loads(obj["manifest"])
    except ValueError as e:
        raise ArchiveError(f"archive manifest is not JSON: {e}") from None
    validate_manifest(manifest)
    state_dict, program = obj.get("state_dict") or {}, obj.get("program")
    if not isinstance(state_dict, dict) or not all(isinstance(k, str) and isinstance(v, Tensor)
                                                   for k, v in state_dict.items()):
        raise ArchiveError("archive state_dict must map names to tensors")
    if program is not None and not (isinstance(program, Tensor) and program.dtype.name == "uint8"):
        raise ArchiveError("archive program must be a uint8 tensor of the saved program's bytes")
    blob = program.numpy().tobytes() if program is not None else b""
    if manifest["model"]["kind"] == "program" and not blob:
        raise ArchiveError("archive of kind 'program' holds no program bytes")
    return Archive(manifest, state_dict, blob)


def validate_manifest(m):
    def need(cond, why):
        if not cond:
            raise ArchiveError(f"invalid archive manifest: {why}")

    need(isinstance(m, dict), "not a JSON object")
    need(m.get("format") == FORMAT, f"format must be {FORMAT!r}")
    need(m.get("archive_version") == VERSION, f"archive_version {m.get('archive_version')!r:.20} is not {VERSION}")
    for key, what in (("name", "model name"), ("version", "version")):
        need(isinstance(m.get(key), str) and NAME_RE.fullmatch(m[key]) and ".." not in m[key],
             f"{what} {m.get(key)!r:.80} must be 1-64 letters, digits, '_', '.', '-'")
    spec = m.get("model")
    need(isinstance(spec, dict) and spec.get("kind") in ("class", "program"), "model.kind must be 'class' or 'program'")
    if spec["kind"] == "class":
        need(isinstance(spec.get("class"), str) and re.fullmatch(r"[\w.]+:[\w.]+", spec["class"]),
             f"model.class {spec.get('class')!r:.80} must look like 'package.module:Class'")
        need(isinstance(spec.get("kwargs", {}), dict), "model.kwargs must be a JSON object")
    handler = m.get("handler")
    need(handler in BUILTIN_HANDLERS or isinstance(handler, str) and re.fullmatch(r"[\w.]+:[\w.]+", handler),
         f"handler {handler!r:.80} must be one of {BUILTIN_HANDLERS} or 'package.module:Class'")
    for key in ("inputs", "outputs"):
        specs = m.get(key)
        need(isinstance(specs, list) and (specs or key == "outputs"), f"{key} must be a list of tensor specs")
        for s in specs:
            need(isinstance(s, dict) and isinstance(s.get("name"), str), f"each of {key} needs a name")
            need(s.get("datatype") in DATATYPES, f"{key} {s['name']!r}: datatype must be one of {DATATYPES}")
            need(isinstance(s.get("shape"), list) and all(d is None or isinstance(d, int) and d >= 0
                                                            for d in s["shape"]),
                 f"{key} {s['name']!r}: shape must list per-sample sizes (null for a free size)")
    need(m.get("labels") is None or isinstance(m["labels"], list) and all(isinstance(x, str) for x in m["labels"]),
         "labels must be a list of strings")
    need(m.get("image") is None or isinstance(m["image"], dict), "image settings must be an object")
    need(m.get("text") is None or isinstance(m["text"], dict), "text settings must be an object")


def resolve(path, allowed_prefixes, what):
    """Import ``"package.module:Qualname"`` if the module is under an allowed prefix; never otherwise."""
    module_name, _, qualname = path.partition(":")
    if not any(module_name == p or module_name.startswith(p + ".") for p in allowed_prefixes):
        raise ArchiveError(f"{what} {path!r} is not allowed: its module is outside the allowed prefixes "
                           f"{list(allowed_prefixes)} (server option --allow-module)")
    try:
        obj = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as e:
        raise ArchiveError(f"{what} {path!r} cannot be found among installed modules: {e}") from None
    return obj


def build_model(archive, allowed_prefixes):
    """The callable the archive describes, in eval mode: its class with weights, or its saved program."""
    spec = archive.manifest["model"]
    if spec["kind"] == "program":
        try:
            model = load_program(io.BytesIO(archive.program)).module()
        except (RuntimeError, ValueError, KeyError, TypeError) as e:
            raise ArchiveError(f"the saved program in archive {archive.name!r} cannot be loaded: {e}") from None
    else:
        build = resolve(spec["class"], allowed_prefixes, "model class")
        if not callable(build):
            raise ArchiveError(f"model class {spec['class']!r} is neither a class nor a factory function")
        model = build(**spec.get("kwargs", {}))
        if archive.state_dict:
            model.load_state_dict(archive.state_dict)
    if hasattr(model, "eval"):
        model.eval()
    if not callable(model):
        raise ArchiveError(f"model of archive {archive.name!r} is not callable")
    return model
