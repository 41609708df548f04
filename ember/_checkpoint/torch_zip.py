"""A restricted reader of PyTorch's ``torch.save`` zip format, without torch and without running pickle code.

The archive holds ``<prefix>/data.pkl`` (the object tree, pickled; each storage is a persistent id
``("storage", StorageClass, key, location, numel)``), ``<prefix>/data/<key>`` (raw storage bytes) and
``<prefix>/byteorder``. The unpickler resolves only an explicit allowlist of globals: the tensor and
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


class _Reader(pickle.Unpickler):
    def __init__(self, file, name, storage_of=None, locate=None):
        super().__init__(file)
        self.name, self.storage_of, self.locate = name, storage_of, locate

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
        raise ForbiddenGlobalError(
            f"ember.load: {self.name} is refused: its pickle asks for the global '{module}.{qualname}', which "
            "is not a tensor, container or primitive; ember never runs code from a checkpoint. If you trust "
            "this class, allowlist it with ember.serialization.add_safe_globals")

    def persistent_load(self, pid):
        if self.storage_of is None or not isinstance(pid, tuple) or len(pid) != 5 or pid[0] != "storage":
            raise pickle.UnpicklingError(f"ember.load: {self.name}: unsupported persistent id {pid!r:.80}")
        _, stype, key, location, numel = pid
        if not isinstance(stype, _StorageType) or stype.np is None:
            raise pickle.UnpicklingError(f"ember.load: {self.name}: unsupported storage type {stype!r:.80}")
        return self.storage_of(str(key), stype, str(location), numel)

    def _rebuild_tensor(self, storage, offset, size, stride, requires_grad=False, hooks=None, metadata=None):
        if not isinstance(storage, _Storage):
            raise pickle.UnpicklingError(f"ember.load: {self.name}: tensor without a storage")
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


def load_zip(f, name, locate):
    """Read a torch.save zip archive from the binary file ``f``; ``locate(tensor, location)`` places tensors."""
    try:
        archive = zipfile.ZipFile(f)
        entries = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise FormatError(f"ember.load: {name} is not a valid checkpoint: broken zip archive ({e})") from None
    pkl = [e for e in entries if e.endswith("data.pkl") and e.count("/") == 1]
    if not pkl:
        raise FormatError(f"ember.load: {name} is not a valid torch checkpoint: no <archive>/data.pkl in the zip")
    prefix = pkl[0][: -len("data.pkl")]
    big = prefix + "byteorder" in entries and archive.read(prefix + "byteorder").strip() == b"big"
    storages = {}

    def storage_of(key, stype, location, numel):
        if key not in storages:
            entry = f"{prefix}data/{key}"
            if entry not in entries:
                raise FormatError(f"ember.load: {name}: storage '{key}' is missing from the archive")
            expected, stored = int(numel) * stype.np.itemsize, archive.getinfo(entry).file_size
            if stored != expected:  # checked before reading: also stops a compressed entry from ballooning
                raise FormatError(f"ember.load: {name}: storage '{key}' holds {stored} bytes, but its "
                                  f"{int(numel)} {stype.name} elements need {expected}")
            raw = bytearray(archive.read(entry))
            dt = stype.np.newbyteorder(">") if big and stype.np.itemsize > 1 else stype.np
            flat = np.frombuffer(raw, dtype=dt, count=int(numel))  # len(raw) == expected, checked above
            storages[key] = _Storage(flat.astype(stype.np) if big else flat, location)
        return storages[key]

    try:
        with archive.open(pkl[0]) as fp:
            obj = _Reader(fp, name, storage_of, locate).load()
    except (UnsafeLoadError, FormatError):
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError, KeyError, AttributeError,
            zipfile.BadZipFile) as e:
        raise FormatError(f"ember.load: {name} is not a valid torch checkpoint: {type(e).__name__}: {e}") from None
    return obj


def load_pickle(f, name):
    """A bare pickle: only containers and primitives (no storages); a legacy torch file is named as such."""
    try:
        obj = _Reader(f, name).load()
    except UnsafeLoadError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError, KeyError, AttributeError) as e:
        raise FormatError(f"ember.load: {name} is not a valid checkpoint: {type(e).__name__}: {e}") from None
    if obj == LEGACY_MAGIC:
        raise FormatError(f"ember.load: {name} uses torch's legacy (pre-1.6) format, which ember does not read; "
                          "re-save it with a current torch.save")
    return obj
