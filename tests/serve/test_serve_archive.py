"""Model archives and the command line, without a server: the file is safe, validated, and names code only."""
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT, lenet
from safetensors import safe_open

import ember
from ember.serve import ArchiveError, read_archive, save_archive
from ember.serve.archive import build_model
from ember.cli import main
from ember.export import Dim, export
from ember.serve.config import ServeConfig
from ember.serve.errors import ServeError
from ember.serve.handlers import make_handler
from ember.serve.tensors import array_from_json, json_depth
from ember.vision.models import resnet18

X = [{"name": "x", "datatype": "float32", "shape": [1, 28, 28]}]


def test_archive_round_trip_rebuilds_the_model(tmp_path):
    model = lenet().eval()
    path = tmp_path / "lenet.emar"
    save_archive(path, name="lenet", version="3", model=model, inputs=X, labels=["a", "b"], description="digits")
    archive = read_archive(path)
    assert archive.manifest["model"] == {"kind": "class", "class": "ember.vision.models.lenet:LeNet5", "kwargs": {}}
    assert (archive.name, archive.version, archive.manifest["labels"]) == ("lenet", "3", ["a", "b"])
    rebuilt = build_model(archive, ("ember",))
    x = ember.randn(2, 1, 28, 28)
    with ember.no_grad():
        np.testing.assert_array_equal(rebuilt(x).numpy(), model(x).numpy())
    assert not rebuilt.training


def test_archive_is_a_plain_safetensors_file(tmp_path):
    path = tmp_path / "lenet.emar"
    save_archive(path, name="lenet", model=lenet(), inputs=X)
    raw = path.read_bytes()
    assert raw[8:9] == b"{" and b"pickle" not in raw[:4096] and not raw.startswith(b"PK")
    with safe_open(str(path), framework="np") as f:
        assert f.metadata()["format"] == "ember"
        assert "state_dict.features.0.weight" in f.keys()
        np.testing.assert_array_equal(f.get_tensor("state_dict.features.0.weight"),
                                      lenet().state_dict()["features.0.weight"].numpy())


def test_archives_name_code_only_under_allowed_prefixes(tmp_path):
    path = tmp_path / "evil.emar"
    save_archive(path, name="evil", model_class="serve_never_imported_module:Thing", inputs=X,
                 handler="serve_never_imported_handler:Handler")
    archive = read_archive(path)
    with pytest.raises(ArchiveError, match="not allowed: its module is outside the allowed prefixes"):
        build_model(archive, ("ember",))
    with pytest.raises(ArchiveError, match="handler 'serve_never_imported_handler:Handler' is not allowed"):
        make_handler(archive.manifest, ServeConfig())
    assert "serve_never_imported_module" not in sys.modules
    save_archive(path, name="evil", model_class="ember_but_not_ember:Thing", inputs=X)
    with pytest.raises(ArchiveError, match="not allowed"):   # a prefix is a module path, not a string prefix
        build_model(read_archive(path), ("ember",))
    save_archive(path, name="missing", model_class="ember.vision.models:NoSuchNet", inputs=X)
    with pytest.raises(ArchiveError, match="cannot be found"):
        build_model(read_archive(path), ("ember",))


@pytest.mark.parametrize("change, message", [
    ({"name": "../evil"}, "model name"), ({"version": "a/b"}, "version"), ({"handler": "os.system"}, "handler"),
    ({"inputs": []}, "inputs"), ({"inputs": [{"name": "x", "datatype": "complex64", "shape": [1]}]}, "datatype"),
    ({"inputs": [{"name": "x", "datatype": "float32", "shape": [-1]}]}, "shape"),
    ({"model": {"kind": "pickle"}}, "model.kind"), ({"model": {"kind": "class", "class": "os.system()"}}, "model.class"),
    ({"archive_version": 2}, "archive_version"), ({"labels": "cat"}, "labels"),
])
def test_invalid_manifests_are_refused(tmp_path, change, message):
    path = tmp_path / "a.emar"
    save_archive(path, name="ok", model=lenet(), inputs=X)
    obj = ember.load(path)
    obj["manifest"] = json.dumps({**json.loads(obj["manifest"]), **change})
    ember.save(obj, path)
    with pytest.raises(ArchiveError, match=message):
        read_archive(path)


def test_files_that_are_not_archives_are_refused(tmp_path):
    ember.save({"w": ember.ones(2)}, tmp_path / "ckpt.pt")
    with pytest.raises(ArchiveError, match="no manifest"):
        read_archive(tmp_path / "ckpt.pt")
    with pytest.raises(ArchiveError, match="not a readable model archive"):
        read_archive(io.BytesIO(b"\x00" * 64))


def test_program_archive_runs_the_saved_program_without_the_class(tmp_path):
    model = lenet().eval()
    program = export(model, (ember.randn(2, 1, 28, 28),), dynamic_shapes={"x": {0: Dim("batch", min=1, max=64)}})
    ember.export.save(program, tmp_path / "lenet.ep")
    save_archive(tmp_path / "prog.emar", name="prog", program=tmp_path / "lenet.ep", inputs=X)
    archive = read_archive(tmp_path / "prog.emar")
    assert archive.manifest["model"] == {"kind": "program"} and archive.state_dict == {}
    assert archive.program == (tmp_path / "lenet.ep").read_bytes()
    rebuilt = build_model(archive, allowed_prefixes=())   # a program needs no importable class
    x = ember.randn(5, 1, 28, 28)
    with ember.no_grad():
        np.testing.assert_allclose(rebuilt(x).numpy(), model(x).numpy(), rtol=1e-5, atol=1e-6)
    save_archive(tmp_path / "bad.emar", name="bad", program=b"not really a program", inputs=X)
    with pytest.raises(ArchiveError, match="saved program in archive 'bad' cannot be loaded"):
        build_model(read_archive(tmp_path / "bad.emar"), ("ember",))


def test_archive_command_packs_weights_labels_and_image_settings(tmp_path, capsys):
    model = lenet()
    ember.save(model.state_dict(), tmp_path / "w.pt")
    (tmp_path / "labels.txt").write_text("\n".join(str(i) for i in range(10)) + "\n")
    out = tmp_path / "digits.emar"
    code = main(["archive", "--name", "digits", "--version", "2.1", "--model-class", "ember.vision.models.lenet:LeNet5",
                 "--model-kwargs", '{"num_classes": 10}', "--weights", str(tmp_path / "w.pt"), "--handler", "image",
                 "--input", "x:float32:1,28,28", "--output", "logits:float32:10", "--labels", str(tmp_path / "labels.txt"),
                 "--mean", "0.5", "--std", "0.25", "--top-k", "3", "-o", str(out)])
    assert code == 0 and "wrote" in capsys.readouterr().out
    archive = read_archive(out)
    m = archive.manifest
    assert m["model"]["kwargs"] == {"num_classes": 10} and m["version"] == "2.1" and len(m["labels"]) == 10
    assert m["image"] == {"top_k": 3, "mean": [0.5], "std": [0.25]}
    assert m["outputs"] == [{"name": "logits", "datatype": "float32", "shape": [10]}]
    np.testing.assert_array_equal(archive.state_dict["classifier.5.bias"].numpy(), model.classifier[5].bias.detach().numpy())
    assert main(["archive", "--name", "x", "--model-class", "a:B", "--input", "x:float32", "-o", str(out)]) == 2
    assert "NAME:DTYPE:SHAPE" in capsys.readouterr().err


def test_serve_refuses_to_bind_beyond_loopback_without_flag_and_token(tmp_path, capsys):
    assert main(["serve", "--host", "0.0.0.0"]) == 2
    assert "--allow-remote" in capsys.readouterr().err
    assert main(["serve", "--host", "0.0.0.0", "--allow-remote"]) == 2
    assert "without a token" in capsys.readouterr().err
    assert main(["serve", "--port", "9000", "--management-port", "9000"]) == 2
    assert "separate ports" in capsys.readouterr().err
    assert main(["serve", "--model", "x=/no/such.emar"]) == 2


def test_json_limits():
    assert json_depth(1) == 0 and json_depth([1, [2]]) == 2 and json_depth({"a": [{"b": []}]}) == 4
    with pytest.raises(ServeError, match="integer values"):
        array_from_json([1.5], "int64", 10)
    with pytest.raises(ServeError, match="true/false"):
        array_from_json([2], "bool", 10)
    with pytest.raises(ServeError, match="more than the limit of 3"):
        array_from_json([1, 2, 3, 4], "float32", 3)
    assert array_from_json([[1, 2]], "int64", 10).dtype == np.int64


def test_import_ember_does_not_load_the_server():
    code = ("import sys, ember; print(sorted(m for m in ('starlette', 'uvicorn', 'prometheus_client', 'ember.serve')"
            " if m in sys.modules))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_factory_function_builds_the_model(tmp_path):
    kwargs = {"num_classes": 3, "width": 8}
    model = resnet18(**kwargs).eval()
    save_archive(tmp_path / "r.emar", name="r", model=model, model_class="ember.vision.models.resnet:resnet18",
                 model_kwargs=kwargs, inputs=[{"name": "x", "datatype": "float32", "shape": [3, 32, 32]}])
    rebuilt = build_model(read_archive(tmp_path / "r.emar"), ("ember",))
    x = ember.randn(2, 3, 32, 32)
    with ember.no_grad():
        np.testing.assert_allclose(rebuilt(x).numpy(), model(x).numpy(), rtol=1e-6)
