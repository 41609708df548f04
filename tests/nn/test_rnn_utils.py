"""nn.utils.rnn: packing and padding variable-length sequences, against torch."""
import numpy as np
import pytest
import torch

import ember
from tests.oracle import assert_same, check, gradcheck, rand

E, T = ember.nn.utils.rnn, torch.nn.utils.rnn


def _mod(lib):
    return lib.nn.utils.rnn


def _packed_fields(e, t):
    assert type(e).__name__ == "PackedSequence"
    assert e.batch_sizes.tolist() == t.batch_sizes.tolist()
    assert str(e.batch_sizes.dtype) == "ember.int64"
    for field in ("sorted_indices", "unsorted_indices"):
        ev, tv = getattr(e, field), getattr(t, field)
        assert (ev is None) == (tv is None), field
        if tv is not None:
            assert ev.tolist() == tv.tolist(), field


@pytest.mark.parametrize("lengths,enforce_sorted", [([5, 3, 3, 1], True), ([3, 5, 1, 3], False), ([2], True)])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("feature", [(), (3,)])
def test_pack_padded_round_trip(lengths, enforce_sorted, batch_first, feature):
    steps, batch = max(lengths) + 1, len(lengths)
    x = rand(*((batch, steps) if batch_first else (steps, batch)), *feature, seed=1)
    e = E.pack_padded_sequence(ember.tensor(x), lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
    t = T.pack_padded_sequence(torch.tensor(x), lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
    _packed_fields(e, t)
    check(lambda lib, x: _mod(lib).pack_padded_sequence(x, lengths, batch_first, enforce_sorted).data, x)
    for total in (None, steps + 2):
        check(lambda lib, x: _mod(lib).pad_packed_sequence(
            _mod(lib).pack_padded_sequence(x, lengths, batch_first, enforce_sorted), batch_first,
            padding_value=-1.5, total_length=total), x)


def test_pack_lengths_tensor_and_gradcheck():
    x = rand(4, 3, 2, seed=2)
    lengths = torch.tensor([2, 4, 1])
    check(lambda lib, x: _mod(lib).pack_padded_sequence(x, lib.tensor(lengths.tolist()), enforce_sorted=False).data,
          x)
    gradcheck(lambda lib, x: _mod(lib).pad_packed_sequence(_mod(lib).pack_padded_sequence(
        x, [2, 4, 1], enforce_sorted=False))[0], x)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_pad_sequence(batch_first, padding_side):
    seqs = [rand(3, 2, seed=1), rand(5, 2, seed=2), rand(1, 2, seed=3)]
    check(lambda lib, a, b, c: _mod(lib).pad_sequence([a, b, c], batch_first, 0.5, padding_side), *seqs)


def test_pack_sequence_and_unpack():
    seqs = [rand(3, 2, seed=1), rand(5, 2, seed=2), rand(1, 2, seed=3)]
    check(lambda lib, a, b, c: _mod(lib).pack_sequence([a, b, c], enforce_sorted=False).data, *seqs)
    check(lambda lib, a, b, c: _mod(lib).pack_sequence([b, a, c]).data, *seqs)
    check(lambda lib, a, b, c: _mod(lib).unpack_sequence(_mod(lib).pack_sequence([a, b, c], enforce_sorted=False)),
          *seqs)
    padded = rand(3, 3, 2, seed=4)
    for batch_first in (False, True):  # torch transposes its argument in place: hand it a non-leaf
        check(lambda lib, p: _mod(lib).unpad_sequence(p * 1, lib.tensor([3, 2, 1]), batch_first), padded)


@pytest.mark.cpu_only  # checks that a sequence made on the CPU stays there
def test_packed_sequence_methods():
    p = E.pack_sequence([ember.ones(3, 2), ember.ones(1, 2)])
    assert p.double().data.dtype == ember.float64 and p.float().data.dtype == ember.float32
    assert p.to("cpu") is p and not p.is_cuda
    assert E.invert_permutation(ember.tensor([2, 0, 1])).tolist() == [1, 2, 0]
    data, batch_sizes, _, _ = p  # a namedtuple, like torch's
    assert batch_sizes.tolist() == [2, 1, 1] and np.all(data.cpu().numpy() == 1)


@pytest.mark.parametrize("call,msg,exc", [
    (lambda m, lib: m.pack_padded_sequence(lib.ones(3, 2, 1), [2, 3]),
     "`lengths` array must be sorted in decreasing order when `enforce_sorted` is True", RuntimeError),
    (lambda m, lib: m.pack_padded_sequence(lib.ones(3, 2, 1), [0, 3], enforce_sorted=False),
     "Length of all samples has to be greater than 0", RuntimeError),
    (lambda m, lib: m.pad_packed_sequence(m.pack_padded_sequence(lib.ones(3, 2, 1), [3, 2]), total_length=2),
     "Expected total_length to be at least the length of the longest sequence in input, but got total_length=2 "
     "and max sequence length being 3", ValueError),
])
def test_errors(call, msg, exc):
    for m, lib in ((T, torch), (E, ember)):
        with pytest.raises(exc, match=msg):
            call(m, lib)


def test_assert_same_padded_values():
    x = rand(4, 2, 3, seed=5)
    e, _ = E.pad_packed_sequence(E.pack_padded_sequence(ember.tensor(x), [4, 2]), padding_value=7.0)
    t, _ = T.pad_packed_sequence(T.pack_padded_sequence(torch.tensor(x), [4, 2]), padding_value=7.0)
    assert_same(e, t)
    assert np.all(e.cpu().numpy()[2:, 1] == 7.0)
