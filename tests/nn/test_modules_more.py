"""AdaptiveLogSoftmaxWithLoss, CrossMapLRN2d, nn.init's dirac_/sparse_ and the re-exported names,
against torch with the same weights."""
import numpy as np
import pytest
import torch

import ember
from ember import nn
from oracle import rand


def _copy_weights(e_mod, t_mod):
    e_mod.load_state_dict({k: ember.tensor(v.detach().cpu().numpy()) for k, v in t_mod.state_dict().items()})


@pytest.mark.parametrize("head_bias", [False, True])
def test_adaptive_log_softmax_matches_torch(head_bias):
    t_mod = torch.nn.AdaptiveLogSoftmaxWithLoss(8, 12, cutoffs=[3, 7, 10], div_value=2.0, head_bias=head_bias)
    e_mod = nn.AdaptiveLogSoftmaxWithLoss(8, 12, cutoffs=[3, 7, 10], div_value=2.0, head_bias=head_bias)
    assert list(e_mod.state_dict()) == list(t_mod.state_dict())
    _copy_weights(e_mod, t_mod)
    x = rand(6, 8, seed=1)
    target = np.array([0, 4, 11, 8, 2, 7])
    tx, ex = torch.tensor(x, requires_grad=True), ember.tensor(x, requires_grad=True)
    t_out, e_out = t_mod(tx, torch.tensor(target)), e_mod(ex, ember.tensor(target))
    assert np.allclose(e_out.output.detach().cpu().numpy(), t_out.output.detach().cpu().numpy(), atol=1e-5)
    assert np.allclose(e_out.loss.item(), t_out.loss.item(), atol=1e-5)
    t_out.loss.backward()
    e_out.loss.backward()
    assert np.allclose(ex.grad.cpu().numpy(), tx.grad.cpu().numpy(), atol=1e-5)
    for (name, tp), ep in zip(t_mod.named_parameters(), e_mod.parameters()):
        assert np.allclose(ep.grad.cpu().numpy(), tp.grad.cpu().numpy(), atol=1e-5), name
    assert np.allclose(e_mod.log_prob(ex).detach().cpu().numpy(), t_mod.log_prob(tx).detach().cpu().numpy(), atol=1e-5)
    assert np.array_equal(e_mod.predict(ex).cpu().numpy(), t_mod.predict(tx).cpu().numpy())
    single = e_mod(ex[0], ember.tensor(target[0]))
    assert single.output.shape == () and np.isclose(single.output.item(), t_out.output[0].item(), atol=1e-5)


def test_adaptive_log_softmax_errors_match_torch():
    with pytest.raises(ValueError, match="cutoffs should be a sequence of unique, positive integers"):
        nn.AdaptiveLogSoftmaxWithLoss(8, 10, cutoffs=[5, 3])
    with pytest.raises(ValueError, match="cutoffs should be a sequence of length larger than 0"):
        nn.AdaptiveLogSoftmaxWithLoss(8, 10, cutoffs=[])
    asm = nn.AdaptiveLogSoftmaxWithLoss(8, 10, cutoffs=[4])
    with pytest.raises(RuntimeError, match=r"Target values should be in \[0, 9\]"):
        asm(ember.zeros(2, 8), ember.tensor([0, 10]))
    with pytest.raises(RuntimeError, match="same size in the batch dimension"):
        asm(ember.zeros(3, 8), ember.tensor([0, 1]))
    with pytest.raises(RuntimeError, match="0D or 1D target tensor expected"):
        asm(ember.zeros(2, 8), ember.zeros(2, 2, dtype=ember.int64))


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8])
def test_cross_map_lrn2d_values_match_torch(size):
    x = rand(2, 6, 3, 3, seed=size)
    t = torch.nn.CrossMapLRN2d(size, 0.1, 0.6, 1.5)
    e = nn.CrossMapLRN2d(size, 0.1, 0.6, 1.5)
    assert repr(e) == repr(t)
    assert np.allclose(e(ember.tensor(x)).detach().cpu().numpy(), t(torch.tensor(x)).detach().cpu().numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="CrossMapLRN2d: Expected input to be 4D, got 3D instead."):
        e(ember.zeros(2, 3, 3))


def test_cross_map_lrn2d_gradient_is_the_derivative_of_its_values():
    x = ember.tensor(rand(1, 5, 2, 2, dtype=np.float64, seed=9), requires_grad=True)
    assert ember.autograd.gradcheck(lambda t: nn.CrossMapLRN2d(3, 0.5, 0.75, 1.0)(t), (x,))


@pytest.mark.parametrize("shape,groups", [((4, 2, 3), 1), ((6, 3, 3, 3), 2), ((2, 4, 3, 3, 3), 1), ((6, 2, 5), 3)])
def test_dirac_matches_torch(shape, groups):
    e, t = ember.empty(*shape), torch.empty(*shape)
    assert nn.init.dirac_(e, groups) is e
    torch.nn.init.dirac_(t, groups)
    assert np.array_equal(e.cpu().numpy(), t.cpu().numpy())


def test_dirac_and_sparse_errors_match_torch():
    with pytest.raises(ValueError, match="Only tensors with 3, 4, or 5 dimensions are supported"):
        nn.init.dirac_(ember.empty(2, 2))
    with pytest.raises(ValueError, match="dim 0 must be divisible by groups"):
        nn.init.dirac_(ember.empty(3, 2, 3), 2)
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
        nn.init.sparse_(ember.empty(2, 2, 2), 0.5)


def test_sparse_zeroes_the_same_count_per_column_as_torch():
    e, t = ember.empty(40, 30), torch.empty(40, 30)
    nn.init.sparse_(e, 0.3, std=0.5)
    torch.nn.init.sparse_(t, 0.3, std=0.5)
    assert list((e.cpu().numpy() == 0).sum(0)) == list((t.cpu().numpy() == 0).sum(0)) == [12] * 30
    nonzero = e.cpu().numpy()[e.cpu().numpy() != 0]
    assert abs(nonzero.std() - 0.5) < 0.05


@pytest.mark.parametrize("name", ["uniform", "normal", "constant", "xavier_uniform", "xavier_normal",
                                  "kaiming_uniform", "kaiming_normal", "orthogonal", "sparse", "dirac"])
def test_deprecated_init_aliases_warn_and_fill(name):
    args = {"constant": (0.5,), "sparse": (0.5,)}.get(name, ())
    shape = (4, 3, 3) if name == "dirac" else (4, 3)
    e = ember.empty(*shape)
    with pytest.warns(FutureWarning, match=f"`nn.init.{name}` is now deprecated in favor of `nn.init.{name}_`."):
        assert getattr(nn.init, name)(e, *args) is e
    with pytest.warns(FutureWarning):
        getattr(torch.nn.init, name)(torch.empty(*shape), *args)
    if name in ("constant", "dirac"):
        t = torch.empty(*shape)
        getattr(torch.nn.init, name + "_")(t, *args)
        assert np.array_equal(e.cpu().numpy(), t.cpu().numpy())


def test_data_parallel_and_container_are_nn_names():
    layer = nn.Linear(2, 2)
    assert nn.DataParallel(layer)(ember.ones(1, 2)).shape == (1, 2)
    assert nn.DataParallel is nn.parallel.DataParallel
    with pytest.warns(FutureWarning, match="`nn.Container` is deprecated"):
        box = nn.Container(a=layer)
    assert box.a is layer and [n for n, _ in box.named_parameters()] == ["a.weight", "a.bias"]


def test_sync_batchnorm_in_one_process_is_batchnorm_and_converts_like_torch():
    t_mod = torch.nn.Sequential(torch.nn.BatchNorm2d(3), torch.nn.Sequential(torch.nn.BatchNorm1d(2)))
    e_mod = nn.Sequential(nn.BatchNorm2d(3), nn.Sequential(nn.BatchNorm1d(2)))
    t_conv = torch.nn.SyncBatchNorm.convert_sync_batchnorm(t_mod)
    e_conv = nn.SyncBatchNorm.convert_sync_batchnorm(e_mod)
    assert repr(e_conv) == repr(t_conv)
    assert e_conv[0].weight is e_mod[0].weight
    x = rand(4, 3, 2, 2, seed=7)
    tx, ex = torch.tensor(x, requires_grad=True), ember.tensor(x, requires_grad=True)
    t_out, e_out = t_conv[0](tx), e_conv[0](ex)
    assert np.allclose(e_out.detach().cpu().numpy(), t_out.detach().cpu().numpy(), atol=1e-5)
    t_out.sum().backward()
    e_out.sum().backward()
    assert np.allclose(ex.grad.cpu().numpy(), tx.grad.cpu().numpy(), atol=1e-5)
    assert np.allclose(e_conv[0].running_var.cpu().numpy(), t_conv[0].running_var.cpu().numpy(), atol=1e-6)
    with pytest.raises(ValueError, match=r"expected at least 2D input \(got 1D input\)"):
        nn.SyncBatchNorm(3)(ember.zeros(3))
