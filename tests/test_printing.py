"""repr/str of tensors must equal PyTorch's, with ``torch.`` written as ``ember.``."""
import numpy as np
import pytest
import torch

import ember

# each case: (code run with lib=torch and lib=ember)
CASES = {
    "ints": "lib.tensor([1, 2, 3])",
    "negative ints": "lib.tensor([[-1, 20], [300, -4000]])",
    "bools": "lib.tensor([True, False, True])",
    "int-valued floats": "lib.tensor([1., 2., 3.])",
    "negative int-valued floats": "lib.tensor([-1., 0., 25.])",
    "floats": "lib.tensor([0.5, -1.25, 3.14159])",
    "zeros": "lib.zeros(2, 3)",
    "mixed magnitudes": "lib.tensor([1e-5, 1.0, 1e3])",
    "large int-valued": "lib.tensor([1e9, 1.0])",
    "large": "lib.tensor([1.5e10, 2.0])",
    "tiny": "lib.tensor([1e-6, 2e-6])",
    "nan inf": "lib.tensor([float('nan'), float('inf'), -float('inf'), 1.0])",
    "nan inf floats": "lib.tensor([float('nan'), 1.5, -float('inf'), 100.25])",
    "only nan": "lib.tensor([float('nan')])",
    "0-d float": "lib.tensor(3.5)",
    "0-d int": "lib.tensor(7)",
    "0-d int-valued float": "lib.tensor(2.)",
    "0-d bool": "lib.tensor(True)",
    "empty": "lib.tensor([])",
    "empty 0x3": "lib.zeros(0, 3)",
    "empty int": "lib.zeros(0, dtype=lib.int64)",
    "empty float64": "lib.zeros(2, 0, dtype=lib.float64)",
    "2-D": "lib.tensor([[1.5, 2.0], [3.0, 4.25]])",
    "3-D": "lib.arange(24.).reshape(2, 3, 4)",
    "4-D": "lib.arange(16).reshape(2, 2, 2, 2)",
    "long row": "lib.arange(40.) / 7",
    "long int row": "lib.arange(100) * 1000",
    "long row 2-D": "(lib.arange(60.) / 3).reshape(2, 30)",
    "summarised 1-D": "lib.arange(2000.)",
    "summarised 2-D": "lib.arange(1200).reshape(40, 30)",
    "summarised 3-D": "(lib.arange(3000.) / 7).reshape(10, 30, 10)",
    "summarised short dims": "lib.arange(1500.).reshape(3, 500)",
    "float64": "lib.tensor([1.5, 2.0], dtype=lib.float64)",
    "int32": "lib.tensor([1, 2], dtype=lib.int32)",
    "float16": "lib.tensor([1.5, 2.0], dtype=lib.float16)",
    "bfloat16": "lib.tensor([1.5, 2.0], dtype=lib.bfloat16)",
    "uint8": "lib.tensor([1, 255], dtype=lib.uint8)",
    "int8 2-D": "lib.tensor([[1, -2], [3, 4]], dtype=lib.int8)",
    "requires_grad": "lib.tensor([1., 2.], requires_grad=True)",
    "grad_fn": "lib.tensor([1., 2.], requires_grad=True) * 2",
    "grad_fn sum": "(lib.tensor([[1., 2.]], requires_grad=True) * 3).sum()",
    "dtype and grad": "lib.tensor([1., 2.], dtype=lib.float64, requires_grad=True)",
    "wrapping suffix": "lib.arange(70., dtype=lib.float64).reshape(10, 7) / 3",
    "long 2-D wrapped rows": "lib.tensor([[123456.5, -0.25] * 8] * 2, dtype=lib.float64, requires_grad=True)",
    "transposed": "lib.arange(6.).reshape(2, 3).t()",
    "sliced": "lib.arange(10)[::3]",
    "single element": "lib.tensor([[[5]]])",
}


def _both(code):
    return [eval(code, {"lib": lib}) for lib in (torch, ember)]


@pytest.mark.parametrize("code", CASES.values(), ids=CASES.keys())
def test_repr_matches_torch(code):
    t, e = _both(code)
    assert repr(e) == repr(t).replace("torch.", "ember.")
    assert str(e) == str(t).replace("torch.", "ember.")


def test_repr_random_values_match_torch():
    rng = np.random.default_rng(0)
    for scale in (1e-3, 1.0, 1e3, 1e6):
        a = (rng.standard_normal((4, 5)) * scale).astype(np.float32)
        assert repr(ember.tensor(a)) == repr(torch.tensor(a))


def test_repr_follows_default_dtype():
    old_e, old_t = ember.get_default_dtype(), torch.get_default_dtype()
    ember.set_default_dtype(ember.float64)
    torch.set_default_dtype(torch.float64)
    try:
        for code in ("lib.tensor([1.5, 2.])", "lib.tensor([1.5], dtype=lib.float32)", "lib.tensor([])"):
            t, e = _both(code)
            assert repr(e) == repr(t).replace("torch.", "ember.")
    finally:
        ember.set_default_dtype(old_e)
        torch.set_default_dtype(old_t)


@pytest.mark.parametrize("options", [
    {"precision": 2}, {"sci_mode": True}, {"sci_mode": False}, {"threshold": 5}, {"edgeitems": 1, "threshold": 5},
    {"linewidth": 40}, {"profile": "short"}, {"profile": "full"},
])
def test_printoptions_match_torch(options):
    codes = ["lib.tensor([1.23456, 1e-5, 300.0])", "lib.arange(30.).reshape(5, 6) / 7", "lib.arange(2000)"]
    try:
        torch.set_printoptions(**options)
        ember.set_printoptions(**options)
        for code in codes:
            t, e = _both(code)
            assert repr(e) == repr(t).replace("torch.", "ember.")
    finally:
        torch.set_printoptions(profile="default")
        ember.set_printoptions(profile="default")


def test_format_of_0d_tensor():
    assert f"{ember.tensor(2.5):.2f}" == f"{torch.tensor(2.5):.2f}"
