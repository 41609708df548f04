"""The package metadata pip shows: built by setuptools from pyproject.toml, as an install would."""
import email
import os
import shutil
import subprocess
import sys

from ember.version import __version__

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_metadata_is_complete(tmp_path):
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(os.path.join(ROOT, name), tmp_path / name)
    (tmp_path / "ember").mkdir()
    shutil.copy(os.path.join(ROOT, "ember", "version.py"), tmp_path / "ember" / "version.py")
    (tmp_path / "ember" / "__init__.py").write_text("")
    (tmp_path / "meta").mkdir()
    code = "import sys; from setuptools import build_meta; print(build_meta.prepare_metadata_for_build_wheel(sys.argv[1]))"
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "meta")], capture_output=True, text=True,
                         timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    info = tmp_path / "meta" / out.stdout.split()[-1]
    meta = email.message_from_string((info / "METADATA").read_text())
    assert meta["Name"] == "ember" and meta["Version"] == __version__
    assert meta["Summary"] and meta["Author"] == "The ember developers"
    assert meta["License-Expression"] == "MIT" and (info / "licenses" / "LICENSE").read_text().startswith("MIT License")
    assert meta["Requires-Python"] == ">=3.10"
    assert any(r.startswith("ml_dtypes") for r in meta.get_all("Requires-Dist"))
    assert {u.split(",")[0] for u in meta.get_all("Project-URL")} >= {"Homepage", "Source", "Issues", "Documentation"}
    assert "Topic :: Scientific/Engineering :: Artificial Intelligence" in meta.get_all("Classifier")
    entry = (info / "entry_points.txt").read_text()
    assert "[console_scripts]\nember = ember.cli:main" in entry
