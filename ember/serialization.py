"""Checkpoints: ``ember.save`` / ``ember.load``, safe by construction, and PyTorch/safetensors interop.

Format: an ember checkpoint is a valid ``.safetensors`` file. Bytes 0-7 hold the header length N
(little-endian uint64), bytes 8..8+N a JSON header (padded with spaces) mapping each tensor's name to its
``dtype`` ("F32", "BF16", "I64", "BOOL", ...), ``shape`` and ``data_offsets``, then the raw C-contiguous
little-endian tensor bytes. ``header["__metadata__"]`` holds ``{"format": "ember", "ember_format": "1",
"structure": <JSON string>}``: the saved object as a JSON tree in which tensors appear by name
(see ``ember/_checkpoint/structure.py`` for the node types). Tensor names follow where a tensor was first
met (``"fc.weight"``, ``"state.0.exp_avg"``), so any safetensors tool lists them meaningfully.

Loading never runs code from the file: the structure is plain JSON; the only classes built are ember's
module classes and those allowlisted with :func:`add_safe_globals` (``ember/_checkpoint/catalog.py``).
``ember.load(f, weights_only=False)`` means what it means in torch: the caller trusts the file, and the
classes it names are imported (a whole user model saved with ``ember.save(model)``); it warns once.

A malformed file of any kind raises :class:`FormatError` naming the file and what is wrong (a subclass of
``RuntimeError`` and ``pickle.UnpicklingError``); no file of N bytes makes ``ember.load`` allocate more
than a small multiple of N plus the tensors it holds. The same tensor object referenced twice is stored
once and comes back as one object; distinct tensors that were views of one storage are saved as separate
compact copies. Module hooks are not saved.

``ember.load`` also reads ``torch.save`` zip archives (through a restricted unpickler that knows only
tensors, storages, containers and primitives) and plain ``.safetensors`` files (as a dict of tensors).

>>> import io, ember
>>> buf = io.BytesIO()
>>> ember.save({"w": ember.ones(2), "step": 3}, buf)
>>> _ = buf.seek(0)
>>> ember.load(buf)
{'w': tensor([1., 1.]), 'step': 3}
"""
import contextlib
import io
import json
import os
import secrets
import stat
import warnings

from ember._checkpoint import safetensors as _st
from ember._checkpoint import torch_zip as _tz
from ember._checkpoint.allowlist import add_safe_globals, clear_safe_globals, get_safe_globals, safe_globals
from ember._checkpoint.safetensors import FormatError
from ember._checkpoint.structure import Decoder, Encoder, UnsafeLoadError
from ember._tensor import Tensor
from ember.backend import cuda_is_available, device

__all__ = ["FormatError", "UnsafeLoadError", "add_safe_globals", "clear_safe_globals", "get_safe_globals",
           "load", "load_file", "safe_globals", "save", "save_file"]

FORMAT_VERSION = "1"


def save(obj, f, pickle_module=None, pickle_protocol=None, _use_new_zipfile_serialization=True):
    """Save ``obj`` (tensors, containers, numbers, strings, modules, ...) to a path or binary file.

    Saving to a path is atomic: the data goes to a temporary file in the same folder, is fsynced and
    then renamed over ``f``, so a failed save leaves any previous file untouched. The saved file keeps the
    permissions of the file it replaces, and a save removes the temporary files that killed saves of the
    same path left behind.

    >>> import io, ember
    >>> ember.save(ember.arange(3), io.BytesIO())
    """
    enc = Encoder()
    metadata = {"format": "ember", "ember_format": FORMAT_VERSION,
                "structure": json.dumps(enc.encode(obj), separators=(",", ":"), allow_nan=False)}
    _write(f, enc.arrays, metadata)


def save_file(tensors, filename, metadata=None):
    """Write a dict of named tensors as a plain ``.safetensors`` file (``safetensors.torch.save_file``).

    >>> import io, ember
    >>> ember.serialization.save_file({"a": ember.zeros(2)}, io.BytesIO())
    """
    if not isinstance(tensors, dict) or not all(isinstance(k, str) and isinstance(v, Tensor)
                                                for k, v in tensors.items()):
        raise ValueError("save_file expects a dict mapping str names to tensors")
    if metadata is not None and not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise ValueError("save_file metadata must map str to str")
    if "__metadata__" in tensors:
        raise ValueError("'__metadata__' is reserved and cannot name a tensor")
    _write(filename, {k: v.detach().cpu()._data for k, v in tensors.items()}, metadata)


def load_file(filename, device="cpu"):
    """Read a ``.safetensors`` file as a dict of tensors (``safetensors.torch.load_file``)."""
    return _read(filename, lambda name, f, size: _read_safetensors(f, name, size, _locator(device), raw=True))


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None, **pickle_load_args):
    """Load what :func:`save` (or ``torch.save``, or a safetensors writer) wrote.

    ``map_location`` is None (the saved devices), a device or string, a dict mapping saved locations to
    new ones, or a callable ``fn(tensor, location)`` returning a tensor (or None to keep the default).
    ``weights_only`` (default True) rebuilds only tensors, containers, ember's modules and allowlisted classes;
    ``weights_only=False`` trusts the file: the classes it names are imported, as torch's full unpickler
    would. Every malformed file raises :class:`FormatError`.

    >>> import io, ember
    >>> buf = io.BytesIO()
    >>> ember.save([1, (2.5, None)], buf)
    >>> _ = buf.seek(0)
    >>> ember.load(buf, map_location="cpu")
    [1, (2.5, None)]
    """
    trusted = weights_only is False
    if trusted:
        _warn_trusted()
    locate = _locator(map_location)

    def dispatch(name, fp, size):
        head = fp.read(9)
        fp.seek(-len(head), io.SEEK_CUR)
        if _tz.is_zip(head):
            return _tz.load_zip(fp, name, locate, size, trusted)
        if head[:1] == b"\x80" and head[8:9] != b"{":  # a safetensors header starts with '{' at byte 8
            return _tz.load_pickle(fp, name, trusted)
        return _read_safetensors(fp, name, size, locate, trusted=trusted)

    return _read(f, dispatch)


_WARNED = []


def _warn_trusted():
    if not _WARNED:
        _WARNED.append(True)
        warnings.warn("ember.load(weights_only=False) imports the classes a checkpoint names; use it only on "
                      "files you trust", UserWarning, stacklevel=3)


# --- files -----------------------------------------------------------------------------------------------
def _write(f, arrays, metadata):
    if not isinstance(f, (str, bytes, os.PathLike)):
        _st.write(f, arrays, metadata)
        return
    path = os.path.abspath(os.fsdecode(f))
    _remove_stale_temps(path)
    tmp, fd = _temp_file(path)
    try:
        with os.fdopen(fd, "wb") as out:
            _st.write(out, arrays, metadata)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _temp_prefix(path):
    folder, base = os.path.split(path)
    return os.path.join(folder, f".{base}.ember-save.")


def _temp_file(path):
    """A new hidden file beside ``path`` named after this process, with the target's permissions when it
    exists (else the umask's, as ``open`` would give)."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mode = None
    while True:
        tmp = f"{_temp_prefix(path)}{os.getpid()}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        if mode is not None:
            os.chmod(tmp, mode)
        return tmp, fd


def _remove_stale_temps(path):
    """Delete temp files a killed save of ``path`` left behind: those of processes that no longer run."""
    prefix = _temp_prefix(path)
    folder = os.path.dirname(prefix)
    for entry in os.listdir(folder):
        full = os.path.join(folder, entry)
        if not full.startswith(prefix) or not entry.endswith(".tmp"):
            continue
        pid = full[len(prefix):].split(".")[0]
        if pid.isdigit() and not _alive(int(pid)):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(full)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read(f, reader):
    if isinstance(f, (str, bytes, os.PathLike)):
        name = os.fsdecode(f)
        with open(f, "rb") as fp:
            return _guarded(name, reader, fp, os.fstat(fp.fileno()).st_size)
    name = getattr(f, "name", None) or f"<{type(f).__name__}>"
    if not f.seekable():
        f = io.BytesIO(f.read())
    start = f.tell()
    size = f.seek(0, io.SEEK_END) - start
    f.seek(start)
    return _guarded(str(name), reader, f, size)


class _PlacementError(Exception):
    """Carries an error of ``map_location`` (the caller's code, not the file) through the format guard."""


def _guarded(name, reader, fp, size):
    """Run ``reader``; whatever goes wrong inside it because of the file's contents becomes a FormatError."""
    try:
        return reader(name, fp, size)
    except (FormatError, UnsafeLoadError):
        raise
    except _PlacementError as e:
        raise e.args[0] from None
    except Exception as e:  # MemoryError, RecursionError, zlib.error, ...: the file is malformed
        raise FormatError(f"ember.load: {name} is not a valid checkpoint: {type(e).__name__}: {str(e):.200}") from None


def _read_safetensors(fp, name, size, locate, raw=False, trusted=False):
    metadata, arrays = _st.read(fp, name, size)
    if raw or metadata.get("format") != "ember":
        dec = Decoder(arrays, locate, name)
        return {k: dec.decode({"$": "tensor", "key": k}) for k in arrays}
    if metadata.get("ember_format") != FORMAT_VERSION:
        raise FormatError(f"ember.load: {name}: unsupported ember checkpoint version "
                          f"{metadata.get('ember_format')!r:.20} (this ember reads version {FORMAT_VERSION})")
    try:
        tree = json.loads(metadata.get("structure", ""))
    except ValueError as e:
        raise FormatError(f"ember.load: {name} is not a valid ember checkpoint: structure is not JSON ({e})") from None
    return Decoder(arrays, locate, name, trusted).decode(tree)


# --- map_location ----------------------------------------------------------------------------------------
def _locator(map_location):
    """A function ``(cpu tensor, saved location) -> tensor on its target device``; its own errors travel
    through the format guard unchanged."""
    place = _choose(map_location)

    def locate(t, location):
        try:
            return place(t, location)
        except Exception as e:
            raise _PlacementError(e) from e
    return locate


def _choose(map_location):
    if callable(map_location) and not isinstance(map_location, device):
        def locate(t, location):
            out = map_location(t, location)
            return _place(t, location) if out is None else out
        return locate
    if isinstance(map_location, dict):
        return lambda t, location: _place(t, str(map_location.get(location, location)))
    if map_location is None:
        return _place
    target = str(device(map_location) if isinstance(map_location, str) else map_location)
    return lambda t, location: _place(t, target)


def _place(t, location):
    dev = device(location)
    if dev.type == "cpu":
        return t
    if dev.type == "cuda" and not cuda_is_available():
        raise RuntimeError(
            "Attempting to deserialize object on a CUDA device but ember.cuda.is_available() is False. "
            "If you are running on a CPU-only machine, please use ember.load with map_location='cpu' "
            "to map your storages to the CPU.")
    return t.to(dev)
