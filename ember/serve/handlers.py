"""Handlers turn a TorchServe-style request body into model inputs and the outputs into a JSON answer.

A handler has ``async predict(body, content_type, infer)``; ``infer(arrays)`` queues one request (one
array per model input, batch dimension first) for dynamic batching and returns the model's outputs for
those rows. Built in: ``tensor`` (JSON tensors), ``image`` (Pillow decode, the archive's resize and
normalisation, top-k labels) and ``text`` (token ids in and logits out, or text in and greedily generated
text out, for a character-level model). A custom handler is a class ``package.module:Name`` of an installed
module under an allowed prefix, built as ``Name(manifest, config)``.
"""
import io

import numpy as np

from ember.serve.archive import resolve
from ember.serve.errors import ServeError, bad_request
from ember.serve.tensors import array_from_json, parse_json


def make_handler(manifest, config):
    kind = manifest["handler"]
    cls = BUILTIN.get(kind) or resolve(kind, config.allow_modules, "handler")
    return cls(manifest, config)


def check_inputs(arrays, specs):
    """400 unless each array is a batch of samples of its input's per-sample shape (``None``: any size)."""
    if len(arrays) != len(specs):
        raise bad_request(f"model takes {len(specs)} input(s) ({', '.join(s['name'] for s in specs)}), "
                          f"got {len(arrays)}")
    rows = {a.shape[0] if a.ndim else None for a in arrays}
    for a, s in zip(arrays, specs):
        want = s["shape"]
        if a.ndim != len(want) + 1 or any(w is not None and w != g for w, g in zip(want, a.shape[1:])):
            pretty = ["N"] + ["*" if w is None else w for w in want]
            raise bad_request(f"input {s['name']!r}: expected shape [{', '.join(map(str, pretty))}] "
                              f"(per sample {want}), got {list(a.shape)}")
    if len(rows) != 1 or 0 in rows:
        raise bad_request(f"inputs must share a non-zero batch size, got {sorted(r for r in rows if r is not None)}")


class TensorHandler:
    """JSON tensors: the body is the data (one sample, or a batch with a leading dimension), or an object
    ``{"data": ...}`` (one input) or ``{"inputs": {"name": data, ...}}``; the answer is the output data."""

    def __init__(self, manifest, config):
        self.specs, self.outputs, self.config = manifest["inputs"], manifest["outputs"], config

    def decode(self, body):
        obj = parse_json(body, self.config.max_json_depth)
        if isinstance(obj, dict):
            if "inputs" in obj and isinstance(obj["inputs"], dict):
                missing = [s["name"] for s in self.specs if s["name"] not in obj["inputs"]]
                if missing:
                    raise bad_request(f"inputs is missing {missing}")
                values = [obj["inputs"][s["name"]] for s in self.specs]
            elif "data" in obj and len(self.specs) == 1:
                values = [obj["data"]]
            else:
                raise bad_request("JSON object body needs 'data' (one input) or 'inputs' (name -> data)")
        else:
            values = [obj]
        arrays = [array_from_json(v, s["datatype"], self.config.max_tensor_elements, where=f"input {s['name']!r}")
                  for v, s in zip(values, self.specs)]
        single = all(a.ndim == len(s["shape"]) for a, s in zip(arrays, self.specs))
        if single:
            arrays = [a[None] for a in arrays]
        check_inputs(arrays, self.specs)
        return arrays, single

    async def predict(self, body, content_type, infer):
        arrays, single = self.decode(body)
        outputs = await infer(arrays)
        outputs = [o[0] if single else o for o in outputs]
        if len(outputs) == 1:
            return outputs[0].tolist()
        names = [s["name"] for s in self.outputs] if len(self.outputs) == len(outputs) else \
            [f"output{i}" for i in range(len(outputs))]
        return {n: o.tolist() for n, o in zip(names, outputs)}


class ImageHandler:
    """An encoded image (PNG, JPEG, ...) as the raw body; the answer maps the top-k labels to probabilities."""

    def __init__(self, manifest, config):
        settings = manifest.get("image") or {}
        self.spec = manifest["inputs"][0]
        shape = self.spec["shape"]
        if len(shape) != 3 or None in shape:
            raise ServeError(500, f"image handler needs a (C, H, W) input shape, the archive has {shape}")
        self.channels, height, width = shape
        self.size = tuple(settings.get("size") or (height, width))
        self.mode = settings.get("mode") or ("L" if self.channels == 1 else "RGB")
        self.mean = np.asarray(settings.get("mean", [0.0] * self.channels), dtype=np.float32).reshape(-1, 1, 1)
        self.std = np.asarray(settings.get("std", [1.0] * self.channels), dtype=np.float32).reshape(-1, 1, 1)
        self.top_k = int(settings.get("top_k", 5))
        self.softmax = bool(settings.get("softmax", True))
        self.labels = manifest.get("labels")
        self.max_pixels = config.max_image_pixels

    def decode(self, body):
        from PIL import Image, UnidentifiedImageError  # Pillow: the `vision` extra, needed by this handler only

        try:
            image = Image.open(io.BytesIO(body))
            if image.width * image.height > self.max_pixels:
                raise bad_request(f"image of {image.width}x{image.height} pixels is larger than the limit of "
                                  f"{self.max_pixels} pixels")
            image = image.convert(self.mode).resize((self.size[1], self.size[0]), Image.BILINEAR)
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as e:
            raise bad_request(f"body is not a readable image: {e}") from None
        pixels = np.asarray(image, dtype=np.float32) / 255.0
        pixels = pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)
        return ((pixels - self.mean) / self.std).astype(self.spec["datatype"])[None]

    async def predict(self, body, content_type, infer):
        (scores,) = (await infer([self.decode(body)]))[:1]
        scores = scores[0].astype(np.float64)
        if self.softmax:
            scores = np.exp(scores - scores.max())
            scores /= scores.sum()
        top = np.argsort(-scores, kind="stable")[: self.top_k]
        names = self.labels or [str(i) for i in range(len(scores))]
        return {names[i] if i < len(names) else str(i): float(scores[i]) for i in top}


class TextHandler:
    """``{"tokens": [ids]}`` answers the model's logits; ``{"text": "...", "max_new_tokens": n}`` answers
    ``{"text": generated}``, one greedy step per model call, each step batched with other requests'."""

    def __init__(self, manifest, config):
        settings = manifest.get("text") or {}
        self.vocab = settings.get("vocab") or ""
        self.index = {c: i for i, c in enumerate(self.vocab)}
        self.context = settings.get("context")
        self.max_new_tokens = int(settings.get("max_new_tokens", 256))
        self.spec = manifest["inputs"][0]
        self.config = config

    async def predict(self, body, content_type, infer):
        obj = parse_json(body, self.config.max_json_depth)
        if not isinstance(obj, dict) or ("tokens" in obj) == ("text" in obj):
            raise bad_request("text handler expects a JSON object with either 'tokens' or 'text'")
        if "tokens" in obj:
            ids = array_from_json(obj["tokens"], "int64", self.config.max_tensor_elements, where="tokens")
            single = ids.ndim == 1
            ids = ids[None] if single else ids
            self.check_ids(ids)
            (logits,) = (await infer([ids.astype(self.spec["datatype"])]))[:1]
            return {"logits": (logits[0] if single else logits).tolist()}
        return {"text": await self.generate(obj, infer)}

    def check_ids(self, ids):
        if ids.ndim != 2 or ids.shape[1] == 0:
            raise bad_request(f"tokens must be a non-empty list of ids (or a list of such lists), got shape {list(ids.shape)}")
        if self.context and ids.shape[1] > self.context:
            raise bad_request(f"{ids.shape[1]} tokens is more than the model's context of {self.context}")
        if self.vocab and (ids.min() < 0 or ids.max() >= len(self.vocab)):
            raise bad_request(f"token ids must lie in [0, {len(self.vocab)}), got {int(ids.min())}..{int(ids.max())}")

    async def generate(self, obj, infer):
        text, n = obj["text"], obj.get("max_new_tokens", 32)
        if not self.vocab:
            raise bad_request("this archive has no vocabulary; send token ids as 'tokens'")
        if not isinstance(text, str) or not text:
            raise bad_request("'text' must be a non-empty string")
        if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= self.max_new_tokens:
            raise bad_request(f"max_new_tokens must be an integer in [0, {self.max_new_tokens}], got {n!r:.40}")
        unknown = sorted(set(text) - set(self.index))
        if unknown:
            raise bad_request(f"'text' has characters outside the model's vocabulary: {''.join(unknown[:20])!r}")
        ids = [self.index[c] for c in text]
        for _ in range(n):
            window = np.asarray(ids[-self.context:] if self.context else ids, dtype=self.spec["datatype"])[None]
            (logits,) = (await infer([window]))[:1]
            ids.append(int(np.argmax(logits[0, -1])))
        return "".join(self.vocab[i] for i in ids[len(text):])


BUILTIN = {"tensor": TensorHandler, "image": ImageHandler, "text": TextHandler}
