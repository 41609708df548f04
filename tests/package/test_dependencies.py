"""What the package promises a new user: bfloat16 always there (ml_dtypes is a runtime dependency)."""
import os
import subprocess
import sys
import tomllib

import torch

import ember

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def project():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        return tomllib.load(f)["project"]


def test_ml_dtypes_is_a_runtime_dependency():
    assert any(d.startswith("ml_dtypes") for d in project()["dependencies"])
    assert "bfloat16" not in project().get("optional-dependencies", {})


def test_bfloat16_is_a_real_dtype():
    assert ember.bfloat16 is not None and str(ember.bfloat16) == "ember.bfloat16"
    e, t = ember.ones(2, dtype=ember.bfloat16), torch.ones(2, dtype=torch.bfloat16)
    assert e.dtype is ember.bfloat16 and e.element_size() == t.element_size() == 2
    x = ember.tensor([1.0, 3.14159, -2.5e4]).bfloat16()
    assert x.dtype is ember.bfloat16
    assert x.float().tolist() == torch.tensor([1.0, 3.14159, -2.5e4]).bfloat16().float().tolist()


def test_missing_ml_dtypes_fails_loudly_at_import():
    code = "import sys; sys.modules['ml_dtypes'] = None\nimport ember"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": ROOT})
    assert out.returncode != 0 and "ml_dtypes" in out.stderr
