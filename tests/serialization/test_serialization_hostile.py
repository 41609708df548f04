"""Hostile checkpoints: bounded memory, one error type (FormatError), a strict safetensors layout and a
decoder that accepts exactly what the encoder writes."""
import io
import json
import os
import pickle
import random
import struct
import subprocess
import stat
import sys
import textwrap
import time
import zipfile

import numpy as np
import pytest
import safetensors.numpy
import torch

import ember
from ember.serialization import FormatError, UnsafeLoadError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load_bytes(raw, **kw):
    return ember.load(io.BytesIO(raw), **kw)


def st_file(header, data=b""):
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


def ember_file(obj):
    buf = io.BytesIO()
    ember.save(obj, buf)
    return buf.getvalue()


def with_structure(obj, edit):
    """An ember checkpoint of ``obj`` whose JSON structure went through ``edit(tree)``."""
    raw = ember_file(obj)
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    tree = json.loads(header["__metadata__"]["structure"])
    header["__metadata__"]["structure"] = json.dumps(edit(tree) or tree)
    return st_file(header, raw[8 + n:])


# --- item 1: memory bounded by the file --------------------------------------------------------------------
def peak_rss_kib(code):
    """Peak resident memory (KiB) of a fresh interpreter that imports ember and runs ``code``."""
    script = "import io, resource, ember\n" + code + "\nprint(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                         cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT})
    assert out.returncode == 0, out.stderr
    return int(out.stdout.split()[-1])


def test_memo_index_pickle_stays_small():
    base = peak_rss_kib("")
    code = textwrap.dedent("""
        for index in (0x05000000, 0x7FFFFFFF):
            raw = b"\\x80\\x02]r" + index.to_bytes(4, "little") + b"."
            assert ember.load(io.BytesIO(raw)) == []
    """)
    assert peak_rss_kib(code) - base < 64 * 1024  # the C unpickler's memo table would take > 1 GiB


def test_compressed_entry_cannot_balloon(tmp_path):
    buf = io.BytesIO()
    torch.save({"w": torch.ones(2)}, buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith("byteorder"):  # 100 MB of zeros deflate to ~100 kB
                z.writestr(info.filename, b"little" + bytes(100_000_000), compress_type=zipfile.ZIP_DEFLATED)
            else:
                z.writestr(info.filename, data)
    (tmp_path / "bomb.pt").write_bytes(out.getvalue())
    code = f"""
try:
    ember.load({str(tmp_path / "bomb.pt")!r})
except ember.serialization.FormatError as e:
    assert "byteorder" in str(e) and "more than" in str(e), e
else:
    raise AssertionError("loaded")
"""
    assert peak_rss_kib(code) - peak_rss_kib("") < 32 * 1024


def test_stored_entry_must_match_its_bytes():
    buf = io.BytesIO()
    torch.save(torch.ones(3), buf)
    raw = bytearray(buf.getvalue())
    name = next(n for n in zipfile.ZipFile(io.BytesIO(bytes(raw))).namelist() if "/data/" in n)
    at = raw.rindex(name.encode()) - 46  # its central directory record; the uncompressed size made to lie
    assert raw[at:at + 4] == b"PK\x01\x02"
    raw[at + 24:at + 28] = struct.pack("<I", 10**9)
    with pytest.raises(FormatError, match="claims 1000000000 bytes"):
        load_bytes(bytes(raw))


# --- item 2: every malformed input ends in FormatError ------------------------------------------------------
@pytest.mark.parametrize("raw, match", [
    (st_file({"a": {"dtype": "F32", "shape": [2**32, 2**32], "data_offsets": [0, 0]}}), "needs"),
    (st_file({"a": {"dtype": "F32", "shape": [2**64], "data_offsets": [0, 0]}}), "needs"),
    (st_file({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 0]}}), "invalid shape"),
    (st_file({"a": {"dtype": "F32", "shape": [1.0], "data_offsets": [0, 4]}}, bytes(4)), "invalid shape"),
    (struct.pack("<Q", 200_000) + b"[" * 100_000 + b"]" * 100_000, "RecursionError|not valid JSON"),
    (b"PK\x03\x04" + bytes(60), "broken zip"),
    (b"\x80\x02(((", "not a valid checkpoint"),
    (b"\x80\x02X\xff\xff\xff\x7fabc.", "not a valid checkpoint"),
    (b"\x80\x02\x8a\x04\xff\xff\xff\xff.", None),
])
def test_malformed_files_raise_format_error(raw, match):
    if match is None:
        assert load_bytes(raw) == -1
        return
    with pytest.raises(FormatError, match=match) as info:
        load_bytes(raw)
    assert "<BytesIO>" in str(info.value)
    assert isinstance(info.value, RuntimeError) and isinstance(info.value, pickle.UnpicklingError)


def test_unknown_dtype_name_in_structure_is_format_error():
    raw = with_structure({"d": ember.float32}, lambda t: t["v"]["d"].update(v="float7"))
    names = []
    for name in ["a", "b"]:  # a StopIteration would silently end this loop
        with pytest.raises(FormatError, match="unknown dtype 'float7'"):
            load_bytes(raw)
        names.append(name)
    assert names == ["a", "b"]


def test_deeply_nested_structure_is_format_error():
    raw = ember_file([])
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    header["__metadata__"]["structure"] = '{"$":"tuple","v":[' * 5000 + "1" + "]}" * 5000
    raw = st_file(header)
    with pytest.raises(FormatError, match="RecursionError"):
        load_bytes(raw)


def test_map_location_errors_are_the_callers():
    raw = ember_file({"w": ember.ones(2)})

    def place(t, loc):
        raise KeyError("mine")
    with pytest.raises(KeyError, match="mine"):
        load_bytes(raw, map_location=place)


def mutants(raw, rng, count):
    for _ in range(count):
        b = bytearray(raw)
        kind = rng.randrange(4)
        if kind == 0:
            for _ in range(rng.randint(1, 4)):
                b[rng.randrange(len(b))] = rng.randrange(256)
        elif kind == 1:
            del b[rng.randrange(len(b)):]
        elif kind == 2:
            at = rng.randrange(len(b))
            b[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        else:
            at = rng.randrange(len(b))
            b[at:at + 4] = struct.pack("<I", rng.choice([0, 1, 0x7FFFFFFF, 0xFFFFFFFF, len(b), rng.randrange(2**32)]))
        yield bytes(b)


def seeds():
    torch_buf = io.BytesIO()
    torch.save({"w": torch.randn(3, 2), "n": [1, (2.5, "x")], "i": torch.arange(4)}, torch_buf)
    return {
        "ember": ember_file({"w": ember.randn(3, 2), "m": ember.nn.Linear(2, 2), "d": ember.float16, "t": (1, None)}),
        "safetensors": safetensors.numpy.save({"a": np.ones((2, 3), np.float32), "b": np.arange(3)}),
        "torch": torch_buf.getvalue(),
        "pickle": pickle.dumps({"a": [1, 2.5, ("s", None)], "b": b"xy"}, protocol=2),
    }


@pytest.mark.parametrize("kind", ["ember", "safetensors", "torch", "pickle"])
def test_mutated_files_only_raise_format_error(kind):
    rng = random.Random(f"fuzz-{kind}")
    outcomes = {}
    for raw in mutants(seeds()[kind], rng, 1500):
        try:
            load_bytes(raw)
            outcome = "loaded"
        except (FormatError, UnsafeLoadError) as e:
            assert "<BytesIO>" in str(e)
            outcome = type(e).__name__
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert outcomes.get("FormatError", 0) > 300, outcomes


# --- item 3: the safetensors layout ---------------------------------------------------------------------------
@pytest.mark.parametrize("a, b, data, match", [
    ([0, 8], [4, 12], 12, "overlaps 'a'"),
    ([0, 8], [0, 8], 8, "overlaps"),
    ([0, 8], [12, 20], 20, "leaves a gap after 'a'"),
    ([4, 12], [12, 20], 20, "leaves a gap after the start"),
    ([0, 8], [8, 16], 20, "cover 16 bytes of the 20-byte"),
    ([False, 8], [8, 16], 16, "invalid data_offsets"),
    ([0, 8], [8, 16.0], 16, "invalid data_offsets"),
])
def test_safetensors_layout_checked(a, b, data, match):
    raw = st_file({"a": {"dtype": "F32", "shape": [2], "data_offsets": a},
                   "b": {"dtype": "F32", "shape": [2], "data_offsets": b}}, bytes(data))
    with pytest.raises(FormatError, match=match):
        load_bytes(raw)
    with pytest.raises(Exception):  # noqa: B017 - the safetensors library refuses the same files
        safetensors.numpy.load(raw)


def test_valid_layouts_still_load():
    raw = st_file({"z": {"dtype": "F32", "shape": [0], "data_offsets": [8, 8]},
                   "b": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]},
                   "a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}, bytes(16))
    out = load_bytes(raw)
    assert sorted(out) == ["a", "b", "z"] and out["a"].shape == (2,) and out["z"].shape == (0,)
    assert safetensors.numpy.load(raw)["a"].shape == (2,)


# --- item 4: the decoder accepts exactly what the encoder writes -----------------------------------------------
def test_hook_store_in_file_refused():
    raw = with_structure(ember.nn.Linear(2, 2),
                         lambda t: t["state"].update(_forward_hooks={"$": "odict", "v": {"0": {
                             "$": "global", "path": "ember.serialization.save"}}}))
    with pytest.raises(FormatError, match="_forward_hooks.*hooks are never saved"):
        load_bytes(raw)


def test_instance_forward_refused_both_ways():
    raw = with_structure(ember.nn.Linear(2, 2),
                         lambda t: t["state"].update(forward={"$": "global", "path": "ember.nn.functional.relu"}))
    with pytest.raises(FormatError, match="'forward'.*hide the method Linear.forward"):
        load_bytes(raw)
    lin = ember.nn.Linear(2, 2)
    lin.forward = ember.nn.functional.relu
    with pytest.raises(TypeError, match="attribute 'forward'.*hide the method"):
        ember.save(lin, io.BytesIO())


@pytest.mark.parametrize("node", [
    {"$": "global", "path": "ember.serialization.save"},
    {"$": "global", "path": "ember.utils.data.dataloader.DataLoader"},
    {"$": "global", "path": "os.system"},
    {"$": "object", "class": "ember.optim.sgd.SGD", "state": {}},
    {"$": "object", "class": "ember._tensor.Tensor", "state": {}},
])
def test_only_catalogued_classes_and_functions(node):
    raw = with_structure({"x": 1}, lambda t: t["v"].update(x=node))
    with pytest.raises(UnsafeLoadError, match="neither a part of ember a checkpoint may name nor allowlisted"):
        load_bytes(raw)


def test_module_slots_hold_what_they_name():
    raw = with_structure(ember.nn.Linear(2, 2), lambda t: t["state"]["_modules"]["v"].update(x=[1, 2]))
    with pytest.raises(FormatError, match="_modules must map names to Modules"):
        load_bytes(raw)


def test_catalogued_functions_still_roundtrip():
    out = load_bytes(ember_file({"f": ember.nn.functional.gelu, "c": ember.nn.Linear}))
    assert out == {"f": ember.nn.functional.gelu, "c": ember.nn.Linear}


# --- item 5: weights_only=False trusts the file --------------------------------------------------------------
def test_weights_only_false_imports_user_classes(tmp_path):
    (tmp_path / "usernet.py").write_text(textwrap.dedent("""
        import ember
        class Net(ember.nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = ember.nn.Linear(3, 2)
            def forward(self, x):
                return self.fc(x).relu()
    """))
    script = textwrap.dedent(f"""
        import sys, warnings, ember
        sys.path.insert(0, {str(tmp_path)!r})
        import usernet
        ember.manual_seed(0)
        ember.save(usernet.Net(), {str(tmp_path / "net.pt")!r})
        del sys.modules["usernet"]
        try:
            ember.load({str(tmp_path / "net.pt")!r})
        except ember.serialization.UnsafeLoadError as e:
            assert "usernet.Net" in str(e) and "weights_only=False" in str(e)
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            net = ember.load({str(tmp_path / "net.pt")!r}, weights_only=False)
            ember.load({str(tmp_path / "net.pt")!r}, weights_only=False)
        assert [str(w.message)[:40] for w in seen] == ["ember.load(weights_only=False) imports t"]
        print(type(net).__module__, type(net).__name__, net(ember.ones(1, 3)).shape)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                         cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["usernet", "Net", "ember.Size([1,", "2])"]


# --- item 6: saves ------------------------------------------------------------------------------------------------
def test_killed_save_leaves_no_temp_after_next_save(tmp_path):
    target = tmp_path / "big.pt"
    script = textwrap.dedent(f"""
        import ember
        big = ember.zeros(64 * 2**20)  # 256 MiB: the kill lands while it is written
        while True:
            ember.save({{"w": big}}, {str(target)!r})
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT})
    try:
        for _ in range(600):
            sizes = [os.stat(p).st_size for p in tmp_path.glob("*.tmp") if p.exists()]
            if sizes and max(sizes) > 2**20:
                break
            time.sleep(0.02)
        else:
            raise AssertionError("the save never started")
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert any(p.endswith(".tmp") for p in os.listdir(tmp_path))  # what the kill left
    (tmp_path / ".other.pt.ember-save.1.x.tmp").write_bytes(b"not ours")
    ember.save({"w": ember.ones(2)}, target)
    assert sorted(os.listdir(tmp_path)) == [".other.pt.ember-save.1.x.tmp", "big.pt"]
    assert ember.load(target)["w"].tolist() == [1.0, 1.0]


def test_save_of_live_process_is_not_removed(tmp_path):
    live = tmp_path / f".ckpt.pt.ember-save.{os.getppid()}.abcd.tmp"
    live.write_bytes(b"in progress")
    ember.save(1, tmp_path / "ckpt.pt")
    assert live.exists()


def test_save_keeps_permissions(tmp_path):
    target = tmp_path / "w.pt"
    ember.save(1, target)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o666 & ~umask
    for mode in (0o644, 0o600, 0o640):
        os.chmod(target, mode)
        ember.save(2, target)
        assert stat.S_IMODE(os.stat(target).st_mode) == mode and ember.load(target) == 2
