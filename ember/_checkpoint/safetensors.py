"""The safetensors container: an 8-byte little-endian header length, a JSON header, raw tensor bytes.

The header maps each tensor name to ``{"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}``
(offsets relative to the first byte after the header) and may hold ``"__metadata__"``, a map of strings.
Tensors are stored C-contiguous and little-endian, packed without gaps, largest itemsize first so every
tensor starts aligned; the header is padded with spaces to a multiple of 8 bytes.
"""
import json
import pickle
import math
import struct
import sys

import numpy as np

from ember.backend.dtype import ALL

_CODES = {"bool": "BOOL", "uint8": "U8", "int8": "I8", "int16": "I16", "int32": "I32", "int64": "I64",
          "float16": "F16", "bfloat16": "BF16", "float32": "F32", "float64": "F64", "complex64": "C64",
          "complex128": "C128", "uint16": "U16", "uint32": "U32", "uint64": "U64"}
CODE_OF = {d.np: _CODES[d.name] for d in ALL}
NP_OF = {_CODES[d.name]: d.np for d in ALL}
MAX_HEADER = 100 * 1024 * 1024


class FormatError(RuntimeError, pickle.UnpicklingError):
    """A file that is not a valid checkpoint; the message names the file and what is wrong.

    A ``RuntimeError`` (what torch raises for a broken archive) and an ``UnpicklingError`` (what its
    weights-only unpickler raises), so code written against either keeps working."""


def _le(arr):
    """The array as C-contiguous little-endian bytes-ready memory."""
    arr = np.ascontiguousarray(arr)
    if sys.byteorder == "big" and arr.dtype.itemsize > 1:
        arr = arr.byteswap()
    return arr


def write(f, arrays, metadata):
    """Write ``arrays`` (name -> NumPy array) and ``metadata`` (str -> str) to the binary file ``f``."""
    order = sorted(arrays, key=lambda k: -arrays[k].dtype.itemsize)
    header, offset = {}, 0
    if metadata:
        header["__metadata__"] = metadata
    for name in order:
        arr = arrays[name]
        nbytes = arr.size * arr.dtype.itemsize
        header[name] = {"dtype": CODE_OF[arr.dtype], "shape": list(arr.shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    f.write(struct.pack("<Q", len(raw)))
    f.write(raw)
    for name in order:
        if arrays[name].size:
            f.write(memoryview(_le(arrays[name]).reshape(-1).view(np.uint8)))


def read(f, name, size):
    """Read a safetensors file: returns (metadata dict, {tensor name: NumPy array}) in header order.

    ``size`` is the file's byte size (for validation), ``name`` how errors call the file.
    """
    def bad(why):
        return FormatError(f"ember.load: {name} is not a valid ember checkpoint: {why}")

    head = f.read(8)
    if len(head) < 8:
        raise bad(f"file has {len(head)} bytes, fewer than the 8-byte header length")
    (n,) = struct.unpack("<Q", head)
    if n > size - 8 or n > MAX_HEADER:
        raise bad(f"header length {n} exceeds file size {size}")
    try:
        header = json.loads(f.read(n).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise bad(f"header is not valid JSON ({e})") from None
    if not isinstance(header, dict):
        raise bad("header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise bad("__metadata__ must map strings to strings")
    data_size = size - 8 - n
    buf = bytearray(data_size)
    got = f.readinto(buf) if hasattr(f, "readinto") else None
    if got is None:
        chunk = f.read(data_size)
        got = len(chunk)
        buf[:got] = chunk
    if got < data_size:
        raise bad(f"file is truncated: expected {data_size} data bytes, read {got}")
    entries = [(key, _entry(key, info, data_size, bad)) for key, info in header.items()]
    _check_layout(entries, data_size, bad)
    return metadata, {key: _array(buf, key, dt, shape, begin) for key, (dt, shape, begin, _) in entries}


def _entry(key, info, data_size, bad):
    """``(numpy dtype, shape, begin, end)`` of one header entry, checked on its own."""
    if not isinstance(info, dict) or info.get("dtype") not in NP_OF:
        raise bad(f"tensor '{key}' has an unknown or missing dtype ({info!r:.80})")
    shape, offsets = info.get("shape"), info.get("data_offsets")
    if not isinstance(shape, list) or not all(_is_count(s) for s in shape):
        raise bad(f"tensor '{key}' has an invalid shape {shape!r:.80}: expected a list of non-negative ints")
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(_is_count(o) for o in offsets) \
            or offsets[0] > offsets[1]:
        raise bad(f"tensor '{key}' has invalid data_offsets {offsets!r:.80}: expected [begin, end] with "
                  "0 <= begin <= end")
    if offsets[1] > data_size:
        raise bad(f"tensor '{key}' has data_offsets {offsets!r:.80} outside the {data_size}-byte data section")
    dt = NP_OF[info["dtype"]]
    nbytes = math.prod(shape) * dt.itemsize  # Python ints: a huge shape cannot wrap around
    if offsets[1] - offsets[0] != nbytes:
        raise bad(f"tensor '{key}' of shape {shape!r:.80} and dtype {info['dtype']} needs {nbytes} "
                  f"bytes but data_offsets {offsets} span {offsets[1] - offsets[0]}")
    return dt, shape, offsets[0], offsets[1]


def _is_count(value):
    return type(value) is int and value >= 0


def _check_layout(entries, data_size, bad):
    """As the safetensors library requires: tensors tile the data section in offset order, with no
    overlap and no gap, ending exactly at the end of the file."""
    end, last = 0, None
    for key, (_, _, begin, stop) in sorted(entries, key=lambda e: (e[1][2], e[1][3])):
        if begin != end:
            what = "overlaps" if begin < end else "leaves a gap after"
            raise bad(f"tensor '{key}' at data_offsets [{begin}, {stop}] {what} "
                      f"{'the start of the data section' if last is None else repr(last)} (which ends at byte {end})")
        end, last = stop, key
    if end != data_size:
        raise bad(f"the tensors cover {end} bytes of the {data_size}-byte data section")


def _array(buf, key, dt, shape, begin):
    arr = np.frombuffer(buf, dtype=dt, count=math.prod(shape), offset=begin)
    if sys.byteorder == "big" and dt.itemsize > 1:
        arr = arr.byteswap()
    if not arr.flags.aligned:
        arr = arr.copy()
    return arr.reshape(shape)
