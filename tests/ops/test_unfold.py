"""F.unfold / F.fold (and nn.Unfold / nn.Fold) against torch: values, gradients, double backward, errors."""
import numpy as np
import pytest
import torch

import ember
from tests.oracle import check, check_layouts, gradcheck, rand

SPECS = [dict(kernel_size=2), dict(kernel_size=(2, 3), dilation=(1, 2), padding=1, stride=(2, 1)),
         dict(kernel_size=3, padding=(0, 1), stride=2)]


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("shape", [(2, 3, 5, 6), (3, 5, 6), (0, 2, 5, 6)])
def test_unfold_matches_torch(spec, shape):
    check(lambda lib, x: lib.nn.functional.unfold(x, **spec), rand(*shape, seed=1))


@pytest.mark.parametrize("spec", SPECS)
def test_fold_matches_torch_and_inverts_layout(spec):
    x = rand(2, 3, 5, 6, seed=2)
    cols = torch.nn.functional.unfold(torch.tensor(x), **spec).numpy()
    check(lambda lib, c: lib.nn.functional.fold(c, (5, 6), **spec), cols)
    check(lambda lib, c: lib.nn.functional.fold(c, (5, 6), **spec), cols[0])  # unbatched
    check_layouts(lambda lib, x: lib.nn.functional.unfold(x, **spec), x)


def test_unfold_fold_gradcheck_and_double_backward():
    x = rand(1, 2, 4, 5, dtype="float64", seed=3)
    spec = dict(kernel_size=(2, 2), dilation=(1, 2), padding=1, stride=(1, 2))
    gradcheck(lambda lib, x: lib.nn.functional.unfold(x, **spec), x)
    cols = rand(1, 8, 15, dtype="float64", seed=4)
    gradcheck(lambda lib, c: lib.nn.functional.fold(c, (4, 5), **spec), cols)
    assert ember.nn.functional.unfold(ember.ones(1, 2, 4, 4, requires_grad=True), 2).grad_fn.name() == "Im2ColBackward0"


def test_fold_of_unfold_counts_block_cover():
    out = ember.nn.functional.fold(ember.nn.functional.unfold(ember.ones(1, 1, 4, 4), 2), (4, 4), 2)
    expected = torch.nn.functional.fold(torch.nn.functional.unfold(torch.ones(1, 1, 4, 4), 2), (4, 4), 2)
    np.testing.assert_array_equal(out.numpy(), expected.numpy())


def test_modules_and_reprs():
    for args in (((2,), {"padding": 1}), (((4, 4), 2), {})):
        name = "Unfold" if len(args[0]) == 1 else "Fold"
        e, t = getattr(ember.nn, name)(*args[0], **args[1]), getattr(torch.nn, name)(*args[0], **args[1])
        assert repr(e) == repr(t)
    x = rand(1, 3, 4, 4, seed=5)
    check(lambda lib, x: lib.nn.Fold((4, 4), 2, padding=1)(lib.nn.Unfold(2, padding=1)(x)), x)


@pytest.mark.parametrize("call", [
    lambda lib: lib.nn.functional.unfold(lib.ones(1, 1, 2, 3, 4), 2),
    lambda lib: lib.nn.functional.fold(lib.ones(1, 5, 9), (4, 4), 2),
    lambda lib: lib.nn.functional.fold(lib.ones(1, 4, 8), (4, 4), 2),
    lambda lib: lib.nn.functional.unfold(lib.ones(1, 2, 3, 3), 4),
])
def test_errors_match_torch(call):
    with pytest.raises(RuntimeError) as theirs:
        call(torch)
    with pytest.raises(RuntimeError) as ours:
        call(ember)
    assert str(ours.value) == str(theirs.value)
