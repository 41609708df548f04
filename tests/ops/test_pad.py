"""F.pad in every mode against torch: values, gradients, double backward, errors."""
import numpy as np
import pytest
import torch

import ember
from tests.oracle import check, check_layouts, gradcheck, rand

CASES = [
    ("constant", (2, 3, 4), (1, 2, 0, 3)),
    ("constant", (2, 3, 4), (-1, 2, 0, 3)),
    ("constant", (2, 3), (1, 1, 1, 1)),
    ("constant", (4,), (-2, -2)),
    ("reflect", (2, 3, 4, 5), (1, 2, 3, 0)),
    ("reflect", (2, 5), (4, 2)),
    ("reflect", (1, 2, 3, 4, 5), (1, 1, 2, 2, 0, 1)),
    ("replicate", (2, 3, 4, 5), (1, 2, 3, 0)),
    ("replicate", (2, 5), (7, -2)),
    ("replicate", (1, 2, 3, 4, 5), (1, 1, 2, 2, 0, 1)),
    ("circular", (2, 3, 4, 5), (1, 2, 3, 0)),
    ("circular", (2, 5), (5, 2)),
    ("circular", (1, 2, 3, 4, 5), (1, 1, 2, 2, 0, 1)),
]


@pytest.mark.parametrize("mode,shape,pad", CASES)
def test_pad_matches_torch(mode, shape, pad):
    check_layouts(lambda lib, x: lib.nn.functional.pad(x, pad, mode=mode), rand(*shape, seed=1))


@pytest.mark.parametrize("mode,shape,pad", CASES[::2])
def test_pad_gradcheck(mode, shape, pad):
    gradcheck(lambda lib, x: lib.nn.functional.pad(x, pad, mode=mode), rand(*shape, seed=2))


def test_pad_value_dtypes_and_empty():
    check(lambda lib, x: lib.nn.functional.pad(x, (1, 2), value=1.5), rand(2, 3, seed=3))
    check(lambda lib, x: lib.nn.functional.pad(x, (1, 2), value=7), rand(2, 3, dtype=np.int64, seed=4), grad=False)
    check(lambda lib, x: lib.nn.functional.pad(x, (1, 2, 1, 0)), rand(0, 3, seed=5))
    check(lambda lib, x: lib.nn.functional.pad(x, (1, 1), mode="reflect"), rand(0, 2, 3, seed=6))
    check(lambda lib, x: lib.constant_pad_nd(x, (1, 1), 2.0), rand(2, 3, seed=7))


def test_pad_node_name():
    x = ember.ones(2, 3, requires_grad=True)
    t = torch.ones(2, 3, requires_grad=True)
    f = lambda lib, x: lib.nn.functional.pad(x, (1, 1)).grad_fn.name()  # noqa: E731
    assert f(ember, x) == f(torch, t) == "ConstantPadNdBackward0"


ERRORS = [
    (lambda lib: lib.nn.functional.pad(lib.ones(2, 3), (1,)), RuntimeError, "Padding length must be divisible by 2"),
    (lambda lib: lib.nn.functional.pad(lib.ones(2, 3), (1, 1, 1, 1, 1, 1)), RuntimeError,
     "Padding length should be less than or equal to two times the input dimension but got padding length 6"),
    (lambda lib: lib.nn.functional.pad(lib.ones(2, 3, 4, 5), (5, 5, 1, 1), mode="reflect"), RuntimeError,
     r"Padding size should be less than the corresponding input dimension, but got: padding \(5, 5\) at dimension 3"),
    (lambda lib: lib.nn.functional.pad(lib.ones(2, 3, 4, 5), (6, 6, 1, 1), mode="circular"), RuntimeError,
     "Padding value causes wrapping around more than once"),
    (lambda lib: lib.nn.functional.pad(lib.ones(2, 3, 4, 5), (1, 1), mode="reflect"), NotImplementedError,
     "Padding size 2 is not supported for 4D input tensor"),
    (lambda lib: lib.nn.functional.pad(lib.ones(2, 3), (1, 1), mode="foo"), NotImplementedError,
     "Unrecognised padding mode foo"),
    (lambda lib: lib.nn.functional.pad(lib.ones(2, 3), (1, 1), mode="reflect", value=2), RuntimeError,
     'Padding mode "reflect" doesn\'t take in value argument'),
    (lambda lib: lib.nn.functional.pad(lib.ones(3, 0), (1, 1), mode="reflect"), RuntimeError,
     r"Expected 2D or 3D \(batch mode\) tensor with possibly 0 batch size and other non-zero dimensions"),
]


@pytest.mark.parametrize("fn,exc,match", ERRORS)
def test_pad_errors_match_torch(fn, exc, match):
    with pytest.raises(exc, match=match):
        fn(torch)
    with pytest.raises(exc, match=match):
        fn(ember)
