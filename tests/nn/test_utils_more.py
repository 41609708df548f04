"""The hook-based weight_norm / spectral_norm, BatchNorm fusion, stateless.functional_call, skip_init, pruning
and the memory-format converters against torch."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn.utils.prune  # noqa: F401 (torch does not import it with torch.nn.utils)

import ember
from ember import nn
from ember.nn.utils import prune


def _e(t):
    return ember.tensor(t.detach().cpu().numpy())


def _pair(cls, *args):
    t = getattr(torch.nn, cls)(*args).double()
    e = getattr(nn, cls)(*args).double()
    e.load_state_dict({k: _e(v) for k, v in t.state_dict().items()})
    return e, t


def _quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return fn(*args, **kw)


@pytest.mark.parametrize("dim", [0, 1, None])
def test_hook_weight_norm_matches_torch_and_removes(dim):
    e, t = _pair("Conv1d", 3, 4, 2)
    with pytest.warns(FutureWarning, match="parametrizations.weight_norm"):
        nn.utils.weight_norm(e, dim=dim)
    _quiet(torch.nn.utils.weight_norm, t, dim=dim)
    assert list(e.state_dict()) == list(t.state_dict())
    assert np.allclose(e.weight_g.detach().cpu().numpy(), t.weight_g.detach().cpu().numpy())
    x = np.random.default_rng(0).standard_normal((2, 3, 6))
    out_e, out_t = e(ember.tensor(x)), t(torch.tensor(x))
    assert np.allclose(out_e.detach().cpu().numpy(), out_t.detach().cpu().numpy())
    out_e.sum().backward()
    out_t.sum().backward()
    assert np.allclose(e.weight_g.grad.cpu().numpy(), t.weight_g.grad.cpu().numpy())
    assert np.allclose(e.weight_v.grad.cpu().numpy(), t.weight_v.grad.cpu().numpy())
    with pytest.raises(RuntimeError, match="Cannot register two weight_norm hooks on the same parameter weight"):
        _quiet(nn.utils.weight_norm, e)
    nn.utils.remove_weight_norm(e)
    torch.nn.utils.remove_weight_norm(t)
    assert list(e.state_dict()) == list(t.state_dict())
    assert np.allclose(e.weight.detach().numpy(force=True), t.weight.detach().numpy(force=True))
    with pytest.raises(ValueError, match="weight_norm of 'weight' not found in"):
        nn.utils.remove_weight_norm(e)


@pytest.mark.parametrize("cls,args", [("Linear", (5, 4)), ("ConvTranspose2d", (3, 4, 2))])
def test_hook_spectral_norm_matches_torch_with_the_same_vectors(cls, args):
    e, t = _pair(cls, *args)
    torch.nn.utils.spectral_norm(t, n_power_iterations=3)
    nn.utils.spectral_norm(e, n_power_iterations=3)
    assert list(e.state_dict()) == list(t.state_dict())
    e.load_state_dict({k: _e(v) for k, v in t.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((2, 5) if cls == "Linear" else (2, 3, 4, 4))
    out_e, out_t = e(ember.tensor(x)), t(torch.tensor(x))
    assert np.allclose(out_e.detach().cpu().numpy(), out_t.detach().cpu().numpy())
    assert np.allclose(e.weight_u.numpy(force=True), t.weight_u.numpy(force=True))
    assert np.allclose(e.weight_v.numpy(force=True), t.weight_v.numpy(force=True))
    out_e.sum().backward()
    out_t.sum().backward()
    assert np.allclose(e.weight_orig.grad.cpu().numpy(), t.weight_orig.grad.cpu().numpy())
    nn.utils.remove_spectral_norm(e)
    torch.nn.utils.remove_spectral_norm(t)
    assert list(e.state_dict()) == list(t.state_dict())
    assert np.allclose(e.weight.detach().cpu().numpy(), t.weight.detach().cpu().numpy())
    with pytest.raises(ValueError, match="spectral_norm of 'weight' not found"):
        nn.utils.remove_spectral_norm(e)


@pytest.mark.parametrize("cls,bn,transpose", [("Conv2d", "BatchNorm2d", False), ("ConvTranspose2d", "BatchNorm2d", True),
                                              ("Conv1d", "BatchNorm1d", False)])
def test_fuse_conv_bn_matches_torch_and_the_unfused_pair(cls, bn, transpose):
    conv_e, conv_t = _pair(cls, 3, 4, 3)
    bn_e, bn_t = _pair(bn, 4)
    x = np.random.default_rng(2).standard_normal((2, 3, 6, 6) if "2d" in cls else (2, 3, 7))
    bn_t(conv_t(torch.tensor(x)))  # non-trivial running statistics
    for m_e, m_t in ((bn_e, bn_t), (conv_e, conv_t)):
        m_e.load_state_dict({k: _e(v) for k, v in m_t.state_dict().items()})
        m_e.eval(), m_t.eval()
    fused_e = nn.utils.fuse_conv_bn_eval(conv_e, bn_e, transpose)
    fused_t = torch.nn.utils.fuse_conv_bn_eval(conv_t, bn_t, transpose)
    assert np.allclose(fused_e.weight.detach().cpu().numpy(), fused_t.weight.detach().cpu().numpy())
    assert np.allclose(fused_e.bias.detach().cpu().numpy(), fused_t.bias.detach().cpu().numpy())
    assert np.allclose(fused_e(ember.tensor(x)).detach().cpu().numpy(), bn_e(conv_e(ember.tensor(x))).detach().cpu().numpy())
    assert fused_e is not conv_e and isinstance(fused_e.weight, nn.Parameter)
    with pytest.raises(AssertionError, match="Fusion only for eval!"):
        nn.utils.fuse_conv_bn_eval(conv_e.train(), bn_e)


def test_fuse_linear_bn_matches_torch():
    lin_e, lin_t = _pair("Linear", 5, 4)
    bn_e, bn_t = _pair("BatchNorm1d", 4)
    bn_t(lin_t(torch.randn(8, 5, dtype=torch.float64)))
    bn_e.load_state_dict({k: _e(v) for k, v in bn_t.state_dict().items()})
    for m in (lin_e, lin_t, bn_e, bn_t):
        m.eval()
    fused_e, fused_t = nn.utils.fuse_linear_bn_eval(lin_e, bn_e), torch.nn.utils.fuse_linear_bn_eval(lin_t, bn_t)
    assert np.allclose(fused_e.weight.detach().cpu().numpy(), fused_t.weight.detach().cpu().numpy())
    assert np.allclose(fused_e.bias.detach().cpu().numpy(), fused_t.bias.detach().cpu().numpy())
    w, b = nn.utils.fuse_linear_bn_weights(lin_e.weight, None, bn_e.running_mean, bn_e.running_var, 1e-5,
                                           bn_e.weight, bn_e.bias)
    tw, tb = torch.nn.utils.fuse_linear_bn_weights(lin_t.weight, None, bn_t.running_mean, bn_t.running_var, 1e-5,
                                                   bn_t.weight, bn_t.bias)
    assert np.allclose(w.detach().numpy(force=True), tw.detach().numpy(force=True))
    assert np.allclose(b.detach().numpy(force=True), tb.detach().numpy(force=True))
    with pytest.raises(AssertionError, match="linear.out_features == bn.num_features"):
        nn.utils.fuse_linear_bn_eval(nn.Linear(2, 3).eval(), nn.BatchNorm1d(4).eval())


def _tied(lib):
    class Tied(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = lib.nn.Linear(2, 2, bias=False)
            self.b = lib.nn.Linear(2, 2, bias=False)
            self.b.weight = self.a.weight
            self.register_buffer("scale", lib.ones(1))

        def forward(self, x):
            return self.b(self.a(x)) * self.scale
    return Tied()


@pytest.mark.parametrize("tie", [True, False])
def test_functional_call_matches_torch_and_restores_the_module(tie):
    e, t = _tied(ember), _tied(torch)
    e.load_state_dict({k: _e(v) for k, v in t.state_dict().items()})
    w = np.arange(4.0, dtype=np.float32).reshape(2, 2)
    x = np.ones((1, 2), np.float32)
    new_e = {"a.weight": ember.tensor(w, requires_grad=True), "scale": ember.tensor([2.0])}
    new_t = {"a.weight": torch.tensor(w, requires_grad=True), "scale": torch.tensor([2.0])}
    with pytest.warns(FutureWarning, match="Please use `torch.func.functional_call` instead"):
        out_e = nn.utils.stateless.functional_call(e, new_e, (ember.tensor(x),), tie_weights=tie)
    out_t = _quiet(torch.nn.utils.stateless.functional_call, t, new_t, (torch.tensor(x),), tie_weights=tie)
    assert np.allclose(out_e.detach().cpu().numpy(), out_t.detach().cpu().numpy())
    out_e.sum().backward()
    out_t.sum().backward()
    assert np.allclose(new_e["a.weight"].grad.cpu().numpy(), new_t["a.weight"].grad.cpu().numpy())
    assert np.allclose(e(ember.tensor(x)).detach().cpu().numpy(), t(torch.tensor(x)).detach().cpu().numpy())  # restored
    assert e.scale.item() == 1.0 and e.a.weight is e.b.weight


def test_functional_call_strict_and_tied_conflicts():
    e = _tied(ember)
    with pytest.raises(RuntimeError, match="Missing key"):
        _quiet(nn.utils.stateless.functional_call, e, {"scale": ember.ones(1)}, (ember.ones(1, 2),), strict=True)
    with pytest.raises(ValueError, match="which are tied"):
        _quiet(nn.utils.stateless.functional_call, e, {"a.weight": ember.ones(2, 2), "b.weight": ember.zeros(2, 2)},
               (ember.ones(1, 2),))


def test_skip_init_builds_the_module_without_initialising():
    layer = nn.utils.skip_init(nn.Linear, 5, 3, bias=False)
    assert type(layer) is nn.Linear and layer.weight.shape == (3, 5) and layer.weight.device.type == "cpu"
    with pytest.raises(RuntimeError, match="Module must support a 'device' arg"):
        nn.utils.skip_init(nn.ReLU)
    with pytest.raises(RuntimeError, match="Expected a Module"):
        nn.utils.skip_init(int)


def test_convert_weight_memory_format_keeps_values():
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.Sequential(nn.ConvTranspose2d(3, 2, 2)), nn.Conv3d(1, 1, 1))
    before = [p.detach().clone() for p in model.parameters()]
    assert nn.utils.convert_conv2d_weight_memory_format(model, None) is model
    assert nn.utils.convert_conv3d_weight_memory_format(model, None) is model
    assert all(np.array_equal(a.cpu().numpy(), b.detach().cpu().numpy()) for a, b in zip(before, model.parameters()))


# pruning ---------------------------------------------------------------------------------------


def _prune_pair(fn_name, *args, **kw):
    e, t = _pair("Conv2d", 3, 6, 3)
    getattr(prune, fn_name)(e, "weight", *args, **kw)
    getattr(torch.nn.utils.prune, fn_name)(t, "weight", *args, **kw)
    return e, t


@pytest.mark.parametrize("fn_name,args", [("l1_unstructured", (0.3,)), ("l1_unstructured", (17,)),
                                          ("ln_structured", (0.5, 2, 0)), ("ln_structured", (2, 1, 1)),
                                          ("ln_structured", (1, float("inf"), -1)), ("identity", ())])
def test_deterministic_pruning_masks_equal_torch(fn_name, args):
    e, t = _prune_pair(fn_name, *args)
    assert list(e.state_dict()) == list(t.state_dict())
    assert np.array_equal(e.weight_mask.cpu().numpy(), t.weight_mask.cpu().numpy())
    assert np.allclose(e.weight.detach().cpu().numpy(), t.weight.detach().cpu().numpy())
    x = np.random.default_rng(3).standard_normal((1, 3, 5, 5))
    e(ember.tensor(x)).sum().backward()
    t(torch.tensor(x)).sum().backward()
    assert np.allclose(e.weight_orig.grad.cpu().numpy(), t.weight_orig.grad.cpu().numpy())
    assert prune.is_pruned(nn.Sequential(e)) and not prune.is_pruned(nn.Linear(1, 1))


def test_pruning_twice_combines_masks_like_torch():
    e, t = _prune_pair("l1_unstructured", 0.2)
    prune.ln_structured(e, "weight", 2, 2, 0)
    torch.nn.utils.prune.ln_structured(t, "weight", 2, 2, 0)
    assert isinstance(list(e._forward_pre_hooks.values())[0], prune.PruningContainer)
    assert np.array_equal(e.weight_mask.cpu().numpy(), t.weight_mask.cpu().numpy())
    prune.l1_unstructured(e, "weight", 5)
    torch.nn.utils.prune.l1_unstructured(t, "weight", 5)
    assert np.array_equal(e.weight_mask.cpu().numpy(), t.weight_mask.cpu().numpy())
    prune.remove(e, "weight")
    torch.nn.utils.prune.remove(t, "weight")
    assert list(e.state_dict()) == list(t.state_dict()) and isinstance(e.weight, nn.Parameter)
    assert np.allclose(e.weight.detach().cpu().numpy(), t.weight.detach().cpu().numpy())
    with pytest.raises(ValueError, match="has to be pruned before pruning can be removed"):
        prune.remove(e, "weight")


def test_random_pruning_prunes_the_right_count_and_structure():
    layer = prune.random_unstructured(nn.Linear(10, 10), "weight", 0.35)
    assert int((layer.weight_mask == 0).sum()) == 35
    conv = prune.random_structured(nn.Conv2d(3, 8, 3), "weight", 3, 0)
    per_channel = conv.weight_mask.cpu().numpy().reshape(8, -1)
    assert sorted(per_channel.min(1)) == [0] * 3 + [1] * 5 and np.all(per_channel.min(1) == per_channel.max(1))


def test_global_and_custom_pruning_match_torch():
    e1, t1 = _pair("Linear", 4, 3)
    e2, t2 = _pair("Linear", 3, 2)
    prune.global_unstructured([(e1, "weight"), (e2, "weight")], prune.L1Unstructured, amount=7)
    torch.nn.utils.prune.global_unstructured([(t1, "weight"), (t2, "weight")], torch.nn.utils.prune.L1Unstructured,
                                             amount=7)
    assert np.array_equal(e1.weight_mask.cpu().numpy(), t1.weight_mask.cpu().numpy())
    assert np.array_equal(e2.weight_mask.cpu().numpy(), t2.weight_mask.cpu().numpy())
    mask = np.array([1.0, 0.0, 1.0])
    prune.custom_from_mask(e1, "bias", ember.tensor(mask))
    torch.nn.utils.prune.custom_from_mask(t1, "bias", torch.tensor(mask))
    assert np.allclose(e1.bias.detach().cpu().numpy(), t1.bias.detach().cpu().numpy())
    with pytest.raises(TypeError, match='Only "unstructured" PRUNING_TYPE supported'):
        prune.global_unstructured([(e2, "bias")], prune.RandomStructured, amount=1)


def test_pruning_errors_match_torch():
    with pytest.raises(ValueError, match="amount=1.5 should either be a float in the range"):
        prune.l1_unstructured(nn.Linear(2, 2), "weight", 1.5)
    with pytest.raises(TypeError, match="Invalid type for amount"):
        prune.l1_unstructured(nn.Linear(2, 2), "weight", "half")
    with pytest.raises(ValueError, match="amount=9 should be smaller than the number of parameters to prune=4"):
        prune.l1_unstructured(nn.Linear(2, 2), "weight", 9)
    layer = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="Structured pruning can only be applied to multidimensional tensors"):
        prune.ln_structured(layer, "bias", 1, 2, 0)
    assert "bias" in layer._parameters and "bias_orig" not in layer._parameters  # rolled back
