"""Padding modules against torch: values, gradients, reprs."""
import numpy as np
import pytest
import torch

import ember
from tests.oracle import check

CASES = [("ReflectionPad", (2, 1, 1, 0, 1, 1)), ("ReplicationPad", 2), ("CircularPad", (1, 2, 0, 1, 1, 0)),
         ("ZeroPad", (1, 0, 2, 1, 0, 1)), ("ConstantPad", 1)]


@pytest.mark.parametrize("name, padding", CASES)
@pytest.mark.parametrize("dims", [1, 2, 3])
def test_padding_module_matches_torch(name, padding, dims):
    pad = padding if isinstance(padding, int) else padding[: 2 * dims]
    args = (pad, 2.5) if name == "ConstantPad" else (pad,)
    cls = f"{name}{dims}d"
    x = np.random.default_rng(dims).standard_normal((2, 3, *(4,) * dims)).astype(np.float32)
    check(lambda lib, x: getattr(lib.nn, cls)(*args)(x), x)
    assert repr(getattr(ember.nn, cls)(*args)) == repr(getattr(torch.nn, cls)(*args))


def test_padding_module_bad_tuple():
    with pytest.raises(ValueError, match="ReflectionPad2d: padding must be an int or a 4-tuple"):
        ember.nn.ReflectionPad2d((1, 2))
