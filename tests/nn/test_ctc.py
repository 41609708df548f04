"""CTC loss against torch (inputs are log_softmax outputs, as CTC expects: torch's own backward assumes it)."""
import numpy as np
import pytest
import torch

import ember
from tests.oracle import check, gradcheck, rand

T, N, C = 10, 3, 5
TARGETS = np.array([[1, 2, 2, 0], [3, 1, 0, 0], [4, 4, 4, 4]])
TGT_LEN = [3, 2, 4]
IN_LEN = [10, 7, 9]


def _ctc(lib, x, targets=TARGETS, in_len=IN_LEN, tgt_len=TGT_LEN, as_tensor=False, **kw):
    lp = lib.log_softmax(x, -1)
    if as_tensor:
        in_len, tgt_len = lib.tensor(in_len), lib.tensor(tgt_len)
    return lib.nn.functional.ctc_loss(lp, lib.tensor(targets), in_len, tgt_len, **kw)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("blank", [0, 4])
def test_ctc_padded_targets(reduction, blank):
    targets = np.where(TARGETS == blank, 2, TARGETS)
    check(lambda lib, x: _ctc(lib, x, targets, reduction=reduction, blank=blank), rand(T, N, C, seed=1))


def test_ctc_concatenated_targets_tensor_lengths_and_empty_target():
    flat = np.concatenate([TARGETS[0, :3], TARGETS[2, :4]])
    check(lambda lib, x: _ctc(lib, x, flat, [10, 8, 9], [3, 0, 4], as_tensor=True, reduction="none"),
          rand(T, N, C, seed=2))


def test_ctc_unbatched_and_module():
    check(lambda lib, x: _ctc(lib, x, TARGETS[0, :3], lib.tensor(8), lib.tensor(3)), rand(T, C, seed=3))
    check(lambda lib, x: lib.nn.CTCLoss(blank=0, reduction="sum")(lib.log_softmax(x, -1), lib.tensor(TARGETS),
                                                                   IN_LEN, TGT_LEN), rand(T, N, C, seed=4))
    assert repr(ember.nn.CTCLoss()) == repr(torch.nn.CTCLoss())


@pytest.mark.parametrize("zero_infinity", [False, True])
def test_ctc_impossible_alignment(zero_infinity):
    # a 4-label target with a repeat needs at least 5 frames; 3 are given
    check(lambda lib, x: _ctc(lib, x, in_len=[3, 7, 9], reduction="none", zero_infinity=zero_infinity),
          rand(T, N, C, seed=5), grad=zero_infinity)


def test_ctc_gradcheck():
    gradcheck(lambda lib, x: _ctc(lib, x, np.array([[1, 2], [2, 1], [1, 1]]), [4, 3, 4], [2, 1, 2]), rand(4, N, 3, seed=6),
              gradgrad=False)


def test_ctc_errors():
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="Expected input_lengths to have value at most 10"):
            _ctc(lib, lib.zeros(T, N, C), in_len=[11, 3, 3])


def test_ctc_long_sequences_match_torch():
    """Long inputs and targets with repeats, different lengths per sample, blank in the middle of the classes."""
    rng = np.random.default_rng(11)
    targets = rng.integers(0, 7, (4, 25))
    targets[targets == 3] = 5  # class 3 is the blank
    targets[0, 5:9] = 2  # a run of repeats needs a blank between each
    check(lambda lib, x: _ctc(lib, x, targets, [60, 55, 41, 60], [25, 20, 9, 1], reduction="none", blank=3),
          rand(60, 4, 7, seed=12), atol=1e-4)


def test_ctc_has_no_second_derivative():
    for lib in (torch, ember):
        x = lib.tensor(rand(6, 2, 4, dtype=np.float64, seed=13), requires_grad=True)
        loss = _ctc(lib, x, np.array([[1, 2], [3, 3]]), [6, 5], [2, 2])
        (g,) = lib.autograd.grad(loss, x, create_graph=True)
        with pytest.raises(RuntimeError, match="derivative for aten::_ctc_loss_backward is not implemented"):
            g.sum().backward()
