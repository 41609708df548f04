"""The ``ember`` command line: ``python -m ember`` and the console script's entry point."""
import json
import os
import subprocess
import sys
import tomllib

import numpy
import pytest

import ember
from ember import cli
from ember.backend import compiled
from ember.cli import info

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(*args):
    return subprocess.run([sys.executable, "-m", "ember", *args], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT})


def test_python_m_ember_version_and_info():
    out = run("version")
    assert out.returncode == 0 and out.stdout == f"ember {ember.__version__}\n"
    out = run("info", "--json")
    assert out.returncode == 0, out.stderr
    facts = json.loads(out.stdout)
    assert facts["ember"] == ember.__version__ and facts["dependencies"]["numpy"] == numpy.__version__
    assert facts["threads"] == ember.get_num_threads() and facts["devices"][0] == "cpu"
    assert set(facts["optional"]) >= {"cuda", "onnx", "serve", "distributed", "vision", "plot"}


def test_info_text_reports_what_is_installed(capsys):
    assert cli.main(["info"]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"ember {ember.__version__}\n") and f"numpy            {numpy.__version__}" in text
    assert f"threads {ember.get_num_threads()}\n" in text
    assert f"compiled kernels on, cache {compiled.cache_dir()}\n" in text
    import threadpoolctl
    (blas,) = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"][:1]
    assert f"blas {blas['internal_api']} {blas['version']}, {blas['architecture']} kernels" in text
    assert ("OPENBLAS_CORETYPE=" in text) == bool(os.environ.get("OPENBLAS_CORETYPE"))


def test_info_reports_kernels_switched_off_without_importing_numba():
    out = subprocess.run([sys.executable, "-c", "import sys, json; from ember.cli import info; "
                          "print(json.dumps([info.report()['kernels']['on'], 'numba' in sys.modules]))"],
                         capture_output=True, text=True, env={**os.environ, "EMBER_KERNELS": "0", "PYTHONPATH": ROOT})
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [False, False]


def test_missing_optional_part_is_reported_not_imported(monkeypatch):
    monkeypatch.setitem(info.OPTIONAL, "imaginary", ("no_such_module_for_ember",))
    assert info.report()["optional"]["imaginary"] == {"no_such_module_for_ember": None}
    assert "no_such_module_for_ember" not in sys.modules


def test_no_command_prints_help_and_unknown_command_fails():
    out = run()
    assert out.returncode == 2 and "commands:" in out.stdout and "version" in out.stdout and "info" in out.stdout
    out = run("serve-nothing")
    assert out.returncode == 2 and "invalid choice: 'serve-nothing'" in out.stderr


def test_console_script_points_at_main():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        scripts = tomllib.load(f)["project"]["scripts"]
    module, _, name = scripts["ember"].partition(":")
    assert module == "ember.cli" and getattr(cli, name) is cli.main


@pytest.mark.parametrize("name", sorted(cli.COMMANDS))
def test_each_command_module_has_the_interface(name):
    module = cli.COMMANDS[name]
    assert isinstance(module.HELP, str) and callable(module.add_arguments) and callable(module.run)
