"""Every ``xp.<name>`` the ops use exists in CuPy, so one definition of each op serves the GPU.

The names are checked against ``ember/backend/cupy_names.json`` (taken from CuPy itself), which
the fake CUDA device also answers to; when CuPy is installed, the file is checked against it."""
import ast
import importlib
import json
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2] / "ember"
NAMES = json.loads((ROOT / "backend" / "cupy_names.json").read_text())
SUBMODULES = {"linalg": "cupy.linalg", "fft": "cupy.fft", "random": "cupy.random",
              "lib.stride_tricks": "cupy.lib.stride_tricks"}
# numpy names ops use only on paths that is_numpy(xp) guards (host-only kernels)
HOST_ONLY = set()


def _uses(tree):
    """(name, line) of every ``xp.<name>`` and ``xp.<submodule>.<name>``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "xp":
            yield node.attr, node.lineno
        elif (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
              and isinstance(node.value.value, ast.Name) and node.value.value.id == "xp"
              and node.value.attr in SUBMODULES):
            yield f"{node.value.attr}.{node.attr}", node.lineno
        elif (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
              and node.value.attr == "stride_tricks" and isinstance(node.value.value, ast.Attribute)
              and node.value.value.attr == "lib" and isinstance(node.value.value.value, ast.Name)
              and node.value.value.value.id == "xp"):
            yield f"lib.stride_tricks.{node.attr}", node.lineno


def _missing():
    missing = []
    for path in sorted(ROOT.rglob("*.py")):
        if path.name == "fake_cupy.py":
            continue
        for name, line in _uses(ast.parse(path.read_text())):
            module, _, attr = name.rpartition(".")
            table = NAMES[SUBMODULES[module]] if module else NAMES["cupy"]
            if module == "" and (attr in SUBMODULES or attr == "lib"):
                continue
            if attr not in table and name not in HOST_ONLY:
                missing.append(f"{path.relative_to(ROOT.parent)}:{line}: xp.{name}")
    return missing


def test_every_array_module_name_the_ops_use_exists_in_cupy():
    assert _missing() == []


def test_the_scan_sees_stride_tricks():
    planted = ast.parse("def f(xp, a):\n    return xp.lib.stride_tricks.broadcast_arrays(a)\n")
    assert "lib.stride_tricks.broadcast_arrays" in [n for n, _ in _uses(planted)]


def test_the_scan_sees_a_missing_name():
    planted = ast.parse("def f(xp, a):\n    return xp.busday_count(a)\n")
    assert [n for n, _ in _uses(planted)] == ["busday_count"] and "busday_count" not in NAMES["cupy"]


def test_the_name_list_matches_the_installed_cupy():
    cupy = pytest.importorskip("cupy", reason="CuPy is not installed: the name list cannot be compared with it")
    import cupyx.scipy.fft
    import cupyx.scipy.special

    def public(module):
        return sorted(n for n in dir(module) if not n.startswith("_"))

    assert NAMES["cupy"] == public(cupy), f"regenerate cupy_names.json for CuPy {cupy.__version__}"
    assert NAMES["cupy.linalg"] == public(cupy.linalg)
    assert set(NAMES["cupy.lib.stride_tricks"]) <= set(public(importlib.import_module("cupy.lib.stride_tricks")))
    assert NAMES["cupy.fft"] == public(cupy.fft)
    assert NAMES["cupyx.scipy.special"] == public(cupyx.scipy.special)
    assert NAMES["cupyx.scipy.fft"] == public(cupyx.scipy.fft)
