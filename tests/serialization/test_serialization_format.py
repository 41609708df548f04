"""ember.save / ember.load round trips in ember's own (safetensors-compatible) format."""
import io
import json
import math
import os
import struct
from collections import OrderedDict

import numpy as np
import pytest
import safetensors.numpy

import ember
from ember import nn

DTYPES = [d for d in (ember.bool, ember.uint8, ember.int8, ember.int16, ember.int32, ember.int64,
                      ember.float16, ember.bfloat16, ember.float32, ember.float64) if d is not None]


def roundtrip(obj, **kw):
    buf = io.BytesIO()
    ember.save(obj, buf)
    buf.seek(0)
    return ember.load(buf, **kw)


def same(a, b):
    assert isinstance(b, ember.Tensor) and a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(np.asarray(a.cpu(), dtype=np.float64), np.asarray(b.cpu(), dtype=np.float64))


@pytest.mark.parametrize("dt", DTYPES, ids=lambda d: d.name)
@pytest.mark.parametrize("shape", [(), (0,), (3, 0, 2), (4,), (2, 3, 5)], ids=str)
def test_tensor_roundtrip_every_dtype(dt, shape):
    src = np.random.default_rng(0).uniform(-50, 50, size=shape)
    t = ember.tensor(src).to(dt)
    same(t, roundtrip(t))


def test_views_saved_compact():
    base = ember.arange(60, dtype=ember.float32).reshape(6, 10)
    views = {"t": base.t(), "slice": base[1:5:2, ::3], "exp": ember.ones(3, 1).expand(3, 1000)}
    buf = io.BytesIO()
    ember.save(views, buf)
    buf.seek(0)
    out = ember.load(buf)
    for k, v in views.items():
        same(v, out[k])
        assert out[k].is_contiguous()
    header_len = struct.unpack("<Q", buf.getvalue()[:8])[0]
    data_bytes = len(buf.getvalue()) - 8 - header_len
    assert data_bytes == sum(v.numel() * 4 for v in views.values())


def test_python_values_and_containers():
    obj = {"int": 7, "big": 2**70, "float": 0.1, "nan": float("nan"), "inf": -math.inf, "bool": True,
           "none": None, "str": "héllo", "list": [1, [2, (3, "x")]], "tuple": (), "set": {3, 1},
           "bytes": b"\x00\xff", "keys": {1: "a", (2, 3): "b", 2.5: "c"}, "dtype": ember.float16,
           "device": ember.device("cpu"), "size": ember.Size([2, 3])}
    out = roundtrip(obj)
    assert math.isnan(out.pop("nan")) and math.isnan(obj.pop("nan"))
    assert out == obj
    assert type(out["tuple"]) is tuple and type(out["size"]) is ember.Size and out["dtype"] is ember.float16
    assert type(out["int"]) is int and type(out["float"]) is float and out["bool"] is True


def test_ordered_dict_and_state_dict_kept():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    sd = model.state_dict()
    out = roundtrip(sd)
    assert type(out) is type(sd) and list(out) == list(sd)
    for k in sd:
        same(sd[k], out[k])
    fresh = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    fresh.load_state_dict(out)
    x = ember.randn(5, 3)
    same(model(x).detach(), fresh(x).detach())
    assert type(roundtrip(OrderedDict(a=1))) is OrderedDict and type(roundtrip({"a": 1})) is dict


def test_shared_tensor_stays_shared_and_flags_kept():
    t = ember.randn(3, requires_grad=True)
    p = nn.Parameter(ember.ones(2))
    out = roundtrip({"a": t, "b": [t], "p": p, "q": p, "i": ember.arange(3)})
    assert out["a"] is out["b"][0] and out["a"].requires_grad and out["a"].is_leaf
    assert isinstance(out["p"], nn.Parameter) and out["p"] is out["q"] and out["p"].requires_grad
    assert not out["i"].requires_grad


def test_readable_by_safetensors_library(tmp_path):
    path = tmp_path / "m.pt"
    model = nn.Linear(3, 2)
    ember.save({"model": model.state_dict(), "x": ember.arange(4, dtype=ember.int16), "flag": ember.tensor(True)},
               path)
    tensors = safetensors.numpy.load_file(str(path))
    np.testing.assert_array_equal(tensors["model.weight"], model.weight.detach().cpu().numpy())
    np.testing.assert_array_equal(tensors["x"], np.arange(4, dtype=np.int16))
    assert tensors["flag"].dtype == np.bool_ and tensors["flag"].shape == ()
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        meta = json.loads(f.read(n))["__metadata__"]
    assert meta["format"] == "ember" and json.loads(meta["structure"])["$"] == "dict"


def test_save_file_load_file_and_plain_safetensors(tmp_path):
    path = tmp_path / "w.safetensors"
    tensors = {"a": ember.randn(2, 3), "b": ember.arange(5), "c": ember.zeros(0, 2, dtype=ember.float16)}
    ember.serialization.save_file(tensors, path, metadata={"note": "hi"})
    for loaded in (ember.serialization.load_file(path), ember.load(path)):
        assert list(sorted(loaded)) == ["a", "b", "c"]
        for k in tensors:
            same(tensors[k], loaded[k])
    other = tmp_path / "np.safetensors"
    safetensors.numpy.save_file({"w": np.arange(6, dtype=np.float64).reshape(2, 3)}, str(other))
    same(ember.arange(6, dtype=ember.float64).reshape(2, 3), ember.load(other)["w"])
    with pytest.raises(ValueError, match="dict mapping str names to tensors"):
        ember.serialization.save_file({"a": 1}, path)


def test_path_types_and_file_objects(tmp_path):
    t = ember.randn(4)
    ember.save(t, str(tmp_path / "a.pt"))
    ember.save(t, tmp_path / "b.pt")
    with open(tmp_path / "c.pt", "wb") as f:
        ember.save(t, f)
    for name in "abc":
        same(t, ember.load(tmp_path / f"{name}.pt"))
    with open(tmp_path / "a.pt", "rb") as f:
        same(t, ember.load(f))
    assert sorted(os.listdir(tmp_path)) == ["a.pt", "b.pt", "c.pt"]  # no temporary files left


def test_optimizer_state_dict_roundtrip_continues_identically(tmp_path):
    def make():
        ember.manual_seed(0)
        model = nn.Linear(4, 3)
        return model, ember.optim.Adam(model.parameters(), lr=0.01, betas=(0.8, 0.95), weight_decay=0.1)

    def step(model, opt, seed):
        ember.manual_seed(seed)
        opt.zero_grad()
        model(ember.randn(6, 4)).pow(2).sum().backward()
        opt.step()

    model, opt = make()
    for i in range(3):
        step(model, opt, i)
    ember.save({"model": model.state_dict(), "optim": opt.state_dict()}, tmp_path / "ckpt.pt")
    ckpt = ember.load(tmp_path / "ckpt.pt")
    assert ckpt["optim"]["param_groups"][0]["betas"] == (0.8, 0.95)
    model2, opt2 = make()
    model2.load_state_dict(ckpt["model"])
    opt2.load_state_dict(ckpt["optim"])
    for i in range(3, 6):
        step(model, opt, i)
        step(model2, opt2, i)
    for a, b in zip(model.parameters(), model2.parameters()):
        same(a.detach(), b.detach())


class UserNet(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.hidden = hidden
        self.fc = nn.Linear(3, hidden)
        self.out = nn.Linear(hidden, 1)
        self.register_buffer("scale", ember.tensor(2.0))
        self.tags = ("a", "b")

    def forward(self, x):
        return self.out(self.fc(x).relu()) * self.scale


def test_whole_ember_module_roundtrip():
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    model.eval()
    out = roundtrip(model)
    assert type(out) is nn.Sequential and repr(out) == repr(model) and not out.training
    x = ember.randn(5, 3)
    same(model(x).detach(), out(x).detach())
    assert [n for n, _ in out.named_parameters()] == [n for n, _ in model.named_parameters()]


def test_user_module_needs_allowlist():
    model = UserNet(5)
    buf = io.BytesIO()
    ember.save(model, buf)
    buf.seek(0)
    with pytest.raises(ember.serialization.UnsafeLoadError, match=r"UserNet.*add_safe_globals"):
        ember.load(buf)
    buf.seek(0)
    with ember.serialization.safe_globals([UserNet]):
        out = ember.load(buf)
    assert UserNet not in ember.serialization.get_safe_globals()
    assert type(out) is UserNet and out.hidden == 5 and out.tags == ("a", "b")
    x = ember.randn(4, 3)
    same(model(x).detach(), out(x).detach())
    assert dict(out.named_buffers()).keys() == {"scale"}
    out(x).sum().backward()
    assert out.fc.weight.grad is not None
    ember.serialization.add_safe_globals([UserNet])
    try:
        buf.seek(0)
        assert type(ember.load(buf)) is UserNet
    finally:
        ember.serialization.clear_safe_globals()


def test_tied_weights_stay_tied():
    a, b = nn.Linear(3, 3), nn.Linear(3, 3)
    b.weight = a.weight
    out = roundtrip(nn.Sequential(a, b))
    assert out[0].weight is out[1].weight and len(list(out.parameters())) == 3


def test_map_location_forms():
    t = {"x": ember.arange(3.0)}
    for loc in (None, "cpu", ember.device("cpu"), {"cpu": "cpu"}):
        same(t["x"], roundtrip(t, map_location=loc)["x"])
    seen = []
    out = roundtrip(t, map_location=lambda tensor, location: seen.append(location) or tensor * 2)
    same(t["x"] * 2, out["x"])
    assert seen == [str(t["x"].device)]
    if not ember.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA device but ember.cuda.is_available"):
            roundtrip(t, map_location="cuda")
    same(t["x"], roundtrip(t, weights_only=True)["x"])


@pytest.mark.parametrize("bad, match", [
    (lambda: 3, "cannot save object of type builtins.function at 'f'"),
    (object(), "cannot save object of type builtins.object at 'f'"),
])
def test_unsaveable_objects(bad, match):
    with pytest.raises(TypeError, match=match):
        ember.save({"f": bad}, io.BytesIO())


def test_cycle_is_an_error():
    a = []
    a.append(a)
    with pytest.raises(ValueError, match="reference cycle"):
        ember.save(a, io.BytesIO())


def test_every_header_length_is_recognised():
    # a header length whose low byte is 0x80 must not be taken for a pickle's protocol marker
    lengths = set()
    for k in range(0, 300, 3):
        buf = io.BytesIO()
        ember.save({"x" * k: ember.ones(1)}, buf)
        lengths.add(buf.getvalue()[0])
        buf.seek(0)
        assert list(ember.load(buf)) == ["x" * k]
    assert 0x80 in lengths


def test_functions_stored_by_reference():
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0)
    out = roundtrip(layer)
    assert out.activation is layer.activation and repr(out) == repr(layer)
    x = ember.randn(3, 2, 8)
    same(layer(x).detach(), out(x).detach())
    with pytest.raises(TypeError, match="cannot save object of type builtins.function at 'f'"):
        ember.save({"f": json.dumps}, io.BytesIO())


@pytest.mark.parametrize("name", ["Conv2d", "BatchNorm1d", "LSTM", "Embedding", "MultiheadAttention", "LayerNorm"])
def test_library_modules_roundtrip(name):
    args = {"Conv2d": (2, 3, 3), "MultiheadAttention": (4, 2)}.get(name, (4, 4))
    model = getattr(nn, name)(*args)
    out = roundtrip(model)
    assert type(out) is type(model) and repr(out) == repr(model)
    sd, sd2 = model.state_dict(), out.state_dict()
    assert list(sd) == list(sd2)
    for k in sd:
        same(sd[k], sd2[k])
