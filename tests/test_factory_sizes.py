"""Every factory checks its size, fill value and range as torch does: same exception type, same message."""
import math
import re

import numpy as np
import pytest
import torch

import ember

SAME_MESSAGE = [
    "lib.empty(2**62, 4)", "lib.randn(2**62, 4)", "lib.zeros(-1, 2)", "lib.rand(-1)",
    "lib.full((2,), 300, dtype=lib.uint8)", "lib.full((2,), -256, dtype=lib.uint8)",
    "lib.full((2,), -129, dtype=lib.int8)", "lib.full((2,), 2**63, dtype=lib.int64)",
    "lib.full((2,), math.inf, dtype=lib.int32)", "lib.full((1,), 1e40, dtype=lib.float32)",
    "lib.arange(0, math.inf)", "lib.arange(0, math.nan)", "lib.arange(-math.inf, 0, 1.0)",
    "lib.zeros(2.9)", "lib.randn(True)", "lib.ones((2.5, 3))", "lib.full((2.5,), 1.0)", "lib.rand(2, 3.0)",
    "lib.empty(2, 3, 4.0)", "lib.ones(2, None)", "lib.ones(lib.tensor([2, 3]))", "lib.ones(lib.tensor(2.5))",
    "lib.eye(2.5)", "lib.randperm(2.5)", "lib.randperm(-1)", "lib.zeros(np.float64(2))",
]
SAME_TYPE = ["lib.ones(2.5, 3)", "lib.ones(True, 2)", "lib.empty(2**63)", "lib.zeros(10**20)",
             "lib.randint(0, 5, (2.5,))", "lib.linspace(0, 1, 2.5)", "lib.ones([2, '3'])", "lib.zeros(size=(1.5,))"]


def outcome(code, lib):
    try:
        out = eval(code, {"lib": lib, "math": math, "np": np})
    except Exception as e:
        return type(e), str(e)
    return "ok", (tuple(out), None) if isinstance(out, (ember.Size, torch.Size)) else (tuple(out.shape), out.tolist())


@pytest.mark.parametrize("code", SAME_MESSAGE)
def test_same_error_and_message_as_torch(code):
    e, t = outcome(code, ember), outcome(code, torch)
    assert t[0] != "ok" and e == t


@pytest.mark.parametrize("code", SAME_TYPE)
def test_same_error_type_as_torch(code):
    e, t = outcome(code, ember), outcome(code, torch)
    assert t[0] != "ok" and e[0] is t[0], (e, t)
    assert "size" in e[1] or "steps" in e[1]


@pytest.mark.parametrize("code", [
    "lib.full((3,), -1, dtype=lib.uint8)", "lib.full((2,), -255, dtype=lib.uint8)", "lib.full((2,), -129, dtype=lib.uint8)",
    "lib.full((2,), 1.9, dtype=lib.int16)", "lib.full((2,), -1.9, dtype=lib.int32)", "lib.full((1,), 70000.0, dtype=lib.float16)",
    "lib.full((1,), 1e40, dtype=lib.float64)", "lib.full((2,), math.inf, dtype=lib.float32)", "lib.full((2,), 5, dtype=lib.bool)",
    "lib.ones(lib.tensor(3))", "lib.zeros(np.int64(2), 3)", "lib.ones(())", "lib.empty(0, 5).shape and lib.empty(0, 5)",
    "lib.zeros([])", "lib.rand(lib.Size([2, 1])).shape",
])
def test_valid_sizes_and_values_agree(code):
    e, t = outcome(code, ember), outcome(code, torch)
    assert e[0] == "ok" and e == t


def test_allocation_failure_is_torchs_runtime_error():
    with pytest.raises(RuntimeError, match=r"^DefaultCPUAllocator: can't allocate memory: you tried to allocate "
                                           r"4000000000000 bytes\.$"):
        ember.empty(10**12)
    with pytest.raises(RuntimeError, match=re.escape("you tried to allocate 4000000000000 bytes")):
        torch.empty(10**12)
    with pytest.raises(RuntimeError, match="DefaultCPUAllocator"):
        ember.randn(10**12, dtype=ember.float64)
