"""ember.load on torch-written, corrupt, truncated and malicious files; atomic saves."""
import io
import json
import os
import pickle
import struct
import zipfile

import numpy as np
import pytest
import torch

import ember
from ember._checkpoint import safetensors as st_format
from ember._checkpoint import torch_zip


def as_np(t):
    return np.asarray(t._data, dtype=np.float64) if isinstance(t, ember.Tensor) else t.detach().double().cpu().numpy()


def same(e, t):
    assert isinstance(e, ember.Tensor), type(e)
    assert str(e.dtype).split(".")[1] == str(t.dtype).split(".")[1] and tuple(e.shape) == tuple(t.shape)
    np.testing.assert_array_equal(as_np(e), as_np(t))


# --- torch interop ----------------------------------------------------------------------------------------
def test_torch_state_dict_of_a_model(tmp_path):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    torch.save(net.state_dict(), tmp_path / "sd.pth")
    sd = ember.load(tmp_path / "sd.pth")
    assert list(sd) == list(net.state_dict())
    for k, v in net.state_dict().items():
        same(sd[k], v)
    model = ember.nn.Sequential(ember.nn.Linear(4, 8), ember.nn.Identity(), ember.nn.ReLU(), ember.nn.Linear(8, 2))
    model.load_state_dict({k: v for k, v in sd.items() if not k.startswith("1.")})
    x = np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32)
    net.eval()
    ref = net[3](net[2](net[0](torch.tensor(x)))).detach()
    np.testing.assert_allclose(model(ember.tensor(x)).detach().cpu().numpy(), ref.cpu().numpy(), rtol=1e-6, atol=1e-6)


def test_torch_views_shared_storage_and_dtypes(tmp_path):
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    obj = {
        "t": base.t(), "slice": base[1:, ::2], "offset": base[2], "expand": torch.ones(3, 1).expand(3, 5),
        "base": base, "bool": torch.tensor([True, False, True]), "i8": torch.arange(-3, 3, dtype=torch.int8),
        "i16": torch.arange(5, dtype=torch.int16), "i32": torch.tensor([1 << 30], dtype=torch.int32),
        "u8": torch.arange(250, 256, dtype=torch.uint8), "f16": torch.tensor([0.5, -2.0], dtype=torch.float16),
        "bf16": torch.tensor([1.5, 3.0e4], dtype=torch.bfloat16), "f64": torch.randn(2, 2, dtype=torch.float64),
        "scalar": torch.tensor(7), "empty": torch.zeros(0, 3), "param": torch.nn.Parameter(torch.ones(2)),
        "nested": [(1, 2.5, "s", None, True), {"k": torch.tensor([1, 2])}], "size": torch.Size([2, 3]),
    }
    torch.save(obj, tmp_path / "mix.pt")
    out = ember.load(tmp_path / "mix.pt")
    for k, v in obj.items():
        if isinstance(v, torch.Tensor):
            same(out[k], v)
    assert isinstance(out["param"], ember.nn.Parameter) and out["param"].requires_grad
    assert out["nested"][0] == (1, 2.5, "s", None, True) and type(out["size"]) is ember.Size
    same(out["nested"][1]["k"], obj["nested"][1]["k"])
    with ember.no_grad():  # views of one saved storage share memory after load, as in torch
        out["base"][2, 0] = 100.0
    assert out["offset"][0].item() == 100.0 and out["t"][0, 2].item() == 100.0


def test_torch_optimizer_state_dict(tmp_path):
    p = torch.nn.Parameter(torch.randn(3))
    opt = torch.optim.Adam([p], lr=0.1, betas=(0.8, 0.9))
    p.sum().backward()
    opt.step()
    torch.save(opt.state_dict(), tmp_path / "opt.pt")
    sd = ember.load(tmp_path / "opt.pt", map_location="cpu", weights_only=True)
    assert sd["param_groups"][0]["betas"] == (0.8, 0.9) and sd["param_groups"][0]["params"] == [0]
    same(sd["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])
    same(sd["state"][0]["step"], opt.state_dict()["state"][0]["step"])


def test_torch_file_object_and_map_location(tmp_path):
    buf = io.BytesIO()
    torch.save({"w": torch.ones(2)}, buf)
    buf.seek(0)
    seen = []
    out = ember.load(buf, map_location=lambda t, loc: seen.append(loc))
    same(out["w"], torch.ones(2))
    assert seen == ["cpu"]


# --- malicious files --------------------------------------------------------------------------------------
class Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_raw_malicious_pickle_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"x": Evil(marker)}, protocol=2))
    with pytest.raises(pickle.UnpicklingError, match=r"evil.pt is refused.*'(posix|os|nt)\.system'"):
        ember.load(path)
    assert not marker.exists()


def test_malicious_pickle_inside_torch_zip_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    torch.save({"w": torch.ones(2), "evil": Evil(marker)}, path)
    assert not marker.exists()
    with pytest.raises(ember.serialization.UnsafeLoadError, match=r"evil.pth is refused.*system"):
        ember.load(path)
    assert not marker.exists()


def test_plain_pickle_of_containers_loads(tmp_path):
    path = tmp_path / "plain.pkl"
    path.write_bytes(pickle.dumps({"a": [1, 2.5, (None, "s")]}, protocol=2))
    assert ember.load(path) == {"a": [1, 2.5, (None, "s")]}


def test_out_of_bounds_torch_view_refused(tmp_path):
    path = tmp_path / "oob.pt"
    torch.save(torch.arange(4.0), path)
    with zipfile.ZipFile(path) as z:
        entries = {n: z.read(n) for n in z.namelist()}
    pkl = next(n for n in entries if n.endswith("data.pkl"))
    storage = next(n for n in entries if "/data/" in n)
    entries[storage] = entries[storage][:8]  # two floats left for a tensor of four
    with zipfile.ZipFile(path, "w") as z:
        for n, data in entries.items():
            z.writestr(n, data)
    assert pkl
    with pytest.raises(RuntimeError, match=r"oob.pt: storage '0' holds 8 bytes, but its 4 float32 elements need 16"):
        ember.load(path)
    with pytest.raises(RuntimeError, match=r"f: tensor of size \[2, 3\], stride \[3, 1\], offset 1 reads past"):
        torch_zip._strided(np.zeros(6, np.float32), 1, (2, 3), (3, 1), "f")


def test_torch_pickled_module_refused_with_class_name(tmp_path):
    torch.save(torch.nn.Linear(2, 2), tmp_path / "whole.pt")
    with pytest.raises(ember.serialization.UnsafeLoadError, match=r"'torch.nn.modules.linear.Linear'"):
        ember.load(tmp_path / "whole.pt")


# --- corrupt / truncated ------------------------------------------------------------------------------------
@pytest.fixture
def ckpt(tmp_path):
    path = tmp_path / "ckpt.pt"
    ember.save({"w": ember.randn(10, 10), "b": ember.arange(3)}, path)
    return path


def _header(path):
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    return raw, n


def test_truncated_file(ckpt):
    raw, n = _header(ckpt)
    for cut in (3, 8 + n // 2, len(raw) - 5):
        ckpt.write_bytes(raw[:cut])
        with pytest.raises(RuntimeError, match=rf"ember.load: {ckpt} is not a valid"):
            ember.load(ckpt)


def test_huge_header_length(ckpt):
    raw, _ = _header(ckpt)
    ckpt.write_bytes(struct.pack("<Q", 999999) + raw[8:])
    with pytest.raises(RuntimeError, match=rf"{ckpt} is not a valid ember checkpoint: header length 999999 "
                                           rf"exceeds file size {len(raw)}"):
        ember.load(ckpt)


@pytest.mark.parametrize("old, new, match", [
    (b'"dtype":"F32"', b'"dtype":"X99"', "unknown or missing dtype"),
    (b'"shape":[10,10]', b'"shape":[10,11]', "needs 440 bytes"),
    (b'"format":"ember"', b'"format":"ember", ', "header is not valid JSON"),
    (b'"ember_format":"1"', b'"ember_format":"9"', "unsupported ember checkpoint version"),
    (rb'\"$\":\"dict\"', rb'\"$\":\"what\"', "unknown tag"),
])
def test_corrupt_header(ckpt, old, new, match):
    raw, n = _header(ckpt)
    head = raw[8:8 + n].replace(old, new)
    assert head != raw[8:8 + n]
    ckpt.write_bytes(struct.pack("<Q", len(head)) + head + raw[8 + n:])
    with pytest.raises(RuntimeError, match=match):
        ember.load(ckpt)


def test_garbage_and_empty_files(tmp_path):
    for name, data in (("empty.pt", b""), ("junk.pt", os.urandom(64)), ("zip.pt", b"PK\x03\x04garbage")):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(RuntimeError, match=name):
            ember.load(tmp_path / name)


@pytest.mark.parametrize("path", ["os.system", "posix.system", "ember.serialization.os.system",
                                  "ember.nn.modules.module.OrderedDict", "ember.no.such.Thing"])
def test_class_path_outside_ember_refused(tmp_path, path):
    ckpt = tmp_path / "crafted.pt"
    structure = json.dumps({"$": "object", "class": path, "state": {"x": 1}})
    with open(ckpt, "wb") as f:
        st_format.write(f, {}, {"format": "ember", "ember_format": "1", "structure": structure})
    with pytest.raises(ember.serialization.UnsafeLoadError, match=rf"crafted.pt asks to rebuild .*class '{path}'"):
        ember.load(ckpt)


def test_legacy_torch_format_named(tmp_path):
    torch.save(torch.ones(2), tmp_path / "old.pt", _use_new_zipfile_serialization=False)
    with pytest.raises(RuntimeError, match="old.pt uses torch's legacy"):
        ember.load(tmp_path / "old.pt")


# --- atomic saves -----------------------------------------------------------------------------------------
def test_unsaveable_object_leaves_previous_file(ckpt):
    before = ckpt.read_bytes()
    with pytest.raises(TypeError, match="cannot save"):
        ember.save({"w": ember.ones(3), "f": lambda: 0}, ckpt)
    assert ckpt.read_bytes() == before and os.listdir(ckpt.parent) == [ckpt.name]


def test_write_failure_midway_leaves_previous_file(ckpt, monkeypatch):
    before = ckpt.read_bytes()
    real = st_format.write

    def failing(f, arrays, metadata):
        f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(st_format, "write", failing)
    with pytest.raises(OSError, match="disk full"):
        ember.save({"w": ember.ones(1000)}, ckpt)
    monkeypatch.setattr(st_format, "write", real)
    assert ckpt.read_bytes() == before and os.listdir(ckpt.parent) == [ckpt.name]
    assert set(ember.load(ckpt)) == {"w", "b"}
