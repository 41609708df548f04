"""A restricted reader of PyTorch's ``torch.save`` zip format, without torch and without running pickle code.

The archive holds ``<prefix>/data.pkl`` (the object tree, pickled; each storage is a persistent id
``("storage", StorageClass, key, location, numel)``), ``<prefix>/data/<key>`` (raw storage bytes) and
``<prefix>/byteorder``. The unpickler is pickle's pure-Python one (its memo is a dict, so a tiny file
cannot make it allocate a table up to a huge memo index) and resolves only an explicit allowlist of globals: the tensor and
parameter rebuild functions, the typed storage classes, ``collections.OrderedDict``, ``torch.Size`` and
user-allowlisted classes; anything else raises :class:`ForbiddenGlobalError` naming it. The rebuild functions
are ember's own, so no object from the file is ever called except these.
"""
import collections
import pickle
import zipfile

import numpy as np

from ember._checkpoint import allowlist
from ember._checkpoint.safetensors import FormatError
from ember._checkpoint.structure import UnsafeLoadError
from ember._tensor import Size, Tensor
from ember.backend import CPU, from_numpy_dtype
from ember.backend.dtype import ALL, TORCH_NAMES
from ember.nn.parameter import Parameter

_STORAGES = {torch: name for name, torch in TORCH_NAMES.items()}  # "Float" (as in FloatStorage) -> "float32"
_NP = {d.name: d.np for d in ALL}
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


class ForbiddenGlobalError(UnsafeLoadError, pickle.UnpicklingError):
    """The pickle asks for a global outside the allowlist."""


class _StorageType:
    def __init__(self, name, np_dtype):
        self.name, self.np = name, np_dtype


class _Storage:
    """A loaded storage: one flat NumPy array plus the location it was saved from."""

    def __init__(self, array, location):
        self.array, self.location = array, location


def _size(shape):
    return Size(tuple(int(s) for s in shape))


class _Reader(pickle._Unpickler):
    def __init__(self, file, name, storage_of=None, locate=None, trusted=False):
        super().__init__(file)
        self.name, self.storage_of, self.locate, self.trusted = name, storage_of, locate, trusted

    def find_class(self, module, qualname):
        if module in ("torch._utils", "torch._tensor") and qualname in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return self._rebuild_tensor
        if module == "torch._utils" and qualname == "_rebuild_parameter":
            return _rebuild_parameter
        if module == "torch._utils" and qualname == "_rebuild_parameter_with_state":
            return _rebuild_parameter_with_state
        if module == "torch" and qualname.endswith("Storage") and qualname[:-7] in _STORAGES:
            name = _STORAGES[qualname[:-7]]
            return _StorageType(name, _NP.get(name))
        if module in ("torch", "torch.storage") and qualname in ("UntypedStorage", "_UntypedStorage"):
            return _StorageType("uint8", np.dtype(np.uint8))
        if (module, qualname) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, qualname) == ("torch", "Size"):
            return _size
        if (module, qualname) == ("_codecs", "encode"):
            return _latin1
        allowed = allowlist.lookup(f"{module}.{qualname}")
        if allowed is not None:
            return allowed
        if self.trusted:  # weights_only=False: the caller vouches for the file, as with pickle
            return super().find_class(module, qualname)
        raise ForbiddenGlobalError(
            f"ember.load: {self.name} is refused: its pickle asks for the global '{module}.{qualname}', which "
            "is not a tensor, container or primitive; ember never runs code from a checkpoint. If you trust "
            "this class, allowlist it with ember.serialization.add_safe_globals")

    def persistent_load(self, pid):
        if self.storage_of is None or not isinstance(pid, tuple) or len(pid) != 5 or pid[0] != "storage":
            raise FormatError(f"ember.load: {self.name}: unsupported persistent id {pid!r:.80}")
        _, stype, key, location, numel = pid
        if not isinstance(stype, _StorageType) or stype.np is None:
            raise FormatError(f"ember.load: {self.name}: unsupported storage type {stype!r:.80}")
        return self.storage_of(str(key), stype, str(location), numel)

    def _rebuild_tensor(self, storage, offset, size, stride, requires_grad=False, hooks=None, metadata=None):
        if not isinstance(storage, _Storage):
            raise FormatError(f"ember.load: {self.name}: tensor without a storage")
        arr = _strided(storage.array, int(offset), tuple(map(int, size)), tuple(map(int, stride)), self.name)
        t = self.locate(Tensor._make(arr, from_numpy_dtype(arr.dtype), CPU), storage.location)
        return t.requires_grad_(True) if requires_grad else t


def _latin1(text, encoding="latin1"):
    if not isinstance(text, str) or encoding != "latin1":
        raise pickle.UnpicklingError("only latin1-encoded bytes are supported")
    return text.encode("latin1")


def _rebuild_parameter(data, requires_grad, hooks=None):
    return Parameter(data, bool(requires_grad))


def _rebuild_parameter_with_state(data, requires_grad, hooks=None, state=None):
    return _rebuild_parameter(data, requires_grad)


def _strided(flat, offset, size, stride, name):
    """A view of ``flat`` with torch's element offset/strides, checked to stay inside the storage."""
    if len(size) != len(stride) or any(s < 0 for s in size) or any(s < 0 for s in stride) or offset < 0:
        raise FormatError(f"ember.load: {name}: invalid tensor geometry size={size} stride={stride}")
    if 0 in size:
        return np.empty(size, flat.dtype)
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= flat.size:
        raise FormatError(f"ember.load: {name}: tensor of size {list(size)}, stride {list(stride)}, offset "
                          f"{offset} reads past its storage of {flat.size} elements")
    item = flat.dtype.itemsize
    return np.lib.stride_tricks.as_strided(flat[offset:], size, tuple(s * item for s in stride))


def is_zip(head):
    return head[:4] == b"PK\x03\x04"


def load_zip(f, name, locate, size, trusted=False):
    """Read a torch.save zip archive from the binary file ``f`` of ``size`` bytes; ``locate(tensor, location)``
    places tensors. Every entry read is bounded by what the archive can justify (see :func:`_entry_size`)."""
    try:
        archive = zipfile.ZipFile(f)
        entries = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise FormatError(f"ember.load: {name} is not a valid checkpoint: broken zip archive ({e})") from None
    pkl = sorted(e for e in entries if e.endswith("data.pkl") and e.count("/") == 1)
    if not pkl:
        raise FormatError(f"ember.load: {name} is not a valid torch checkpoint: no <archive>/data.pkl in the zip")
    prefix = pkl[0][: -len("data.pkl")]
    big = False
    if prefix + "byteorder" in entries:
        _entry_size(archive, prefix + "byteorder", size, name)
        with archive.open(prefix + "byteorder") as fp:
            big = fp.read(8).strip() == b"big"  # "little" or "big": a few bytes decide
    storages = {}

    def storage_of(key, stype, location, numel):
        if key not in storages:
            entry = f"{prefix}data/{key}"
            if entry not in entries:
                raise FormatError(f"ember.load: {name}: storage '{key}' is missing from the archive")
            expected, stored = int(numel) * stype.np.itemsize, _entry_size(archive, entry, size, name)
            if stored != expected:  # checked before reading
                raise FormatError(f"ember.load: {name}: storage '{key}' holds {stored} bytes, but its "
                                  f"{int(numel)} {stype.name} elements need {expected}")
            raw = bytearray(archive.read(entry))
            dt = stype.np.newbyteorder(">") if big and stype.np.itemsize > 1 else stype.np
            flat = np.frombuffer(raw, dtype=dt, count=int(numel))  # len(raw) == expected, checked above
            storages[key] = _Storage(flat.astype(stype.np) if big else flat, location)
        return storages[key]

    _entry_size(archive, pkl[0], size, name)
    with archive.open(pkl[0]) as fp:
        return _Reader(fp, name, storage_of, locate, trusted).load()


MAX_INFLATION = 16


def _entry_size(archive, entry, size, name):
    """The entry's uncompressed size, refused when the directory claims more than the archive can hold:
    a stored entry is as long as its bytes in the file, a compressed one at most ``MAX_INFLATION`` times the
    archive (zipfile stops reading at the declared size, so this bounds what a read can allocate)."""
    info = archive.getinfo(entry)
    limit = info.compress_size if info.compress_type == zipfile.ZIP_STORED else MAX_INFLATION * size
    if info.file_size > limit or info.compress_size > size:
        raise FormatError(f"ember.load: {name}: zip entry '{entry:.80}' claims {info.file_size} bytes, more than "
                          f"the {size}-byte archive can hold")
    return info.file_size


def load_pickle(f, name, trusted=False):
    """A bare pickle: only containers and primitives (no storages); a legacy torch file is named as such."""
    obj = _Reader(f, name, trusted=trusted).load()
    if type(obj) is int and obj == LEGACY_MAGIC:
        raise FormatError(f"ember.load: {name} uses torch's legacy (pre-1.6) format, which ember does not read; "
                          "re-save it with a current torch.save")
    return obj
