"""Lazy modules against torch: inferred shapes, the class they become, state_dict before and after,
loading a checkpoint into an uninitialised module, errors, and outputs given the same weights."""
import numpy as np
import pytest
import torch

import ember
from ember import nn

CASES = [
    ("LazyLinear", (3,), (4, 5)),
    ("LazyLinear", (2, False), (2, 3, 6)),
    ("LazyConv1d", (4, 3), (2, 3, 9)),
    ("LazyConv2d", (4, 3), (2, 2, 6, 5)),
    ("LazyConv2d", (4, 3, 1, 1, 1, 2), (2, 6, 5, 5)),
    ("LazyConv3d", (2, 2), (1, 3, 4, 4, 4)),
    ("LazyConv2d", (4, 3), (2, 6, 5)),  # unbatched
    ("LazyConvTranspose1d", (3, 2), (2, 4, 5)),
    ("LazyConvTranspose2d", (4, 3, 2, 0, 0, 2), (1, 2, 4, 4)),
    ("LazyConvTranspose3d", (2, 2), (1, 3, 3, 3, 3)),
    ("LazyBatchNorm1d", (), (4, 3, 5)),
    ("LazyBatchNorm2d", (), (4, 3, 2, 2)),
    ("LazyBatchNorm3d", (1e-3, 0.2, False), (2, 3, 2, 2, 2)),
    ("LazyInstanceNorm1d", (), (2, 3, 5)),
    ("LazyInstanceNorm2d", (1e-5, 0.1, False, False), (2, 3, 4, 4)),
    ("LazyInstanceNorm3d", (), (2, 3, 2, 3, 2)),
]


@pytest.mark.filterwarnings("ignore:input.s size at dim=1 does not match num_features")
@pytest.mark.parametrize("name,args,shape", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_lazy_module_infers_shapes_and_becomes_its_regular_class(name, args, shape):
    e_mod, t_mod = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(e_mod) == repr(t_mod)
    assert e_mod.has_uninitialized_params() == t_mod.has_uninitialized_params()
    e_sd, t_sd = e_mod.state_dict(), t_mod.state_dict()
    assert list(e_sd) == list(t_sd)
    assert [type(v).__name__ for v in e_sd.values()] == [type(v).__name__ for v in t_sd.values()]
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    t_out = t_mod(torch.tensor(x))
    e_mod(ember.tensor(x))
    assert type(e_mod).__name__ == type(t_mod).__name__ and repr(e_mod) == repr(t_mod)
    assert not e_mod.has_uninitialized_params() if hasattr(e_mod, "has_uninitialized_params") else True
    assert {k: tuple(v.shape) for k, v in e_mod.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in t_mod.state_dict().items()}
    # same weights, same output (and the running statistics of the norms follow)
    e_mod.load_state_dict({k: ember.tensor(v.cpu().numpy()) for k, v in t_mod.state_dict().items()})
    t_mod.eval(), e_mod.eval()
    assert np.allclose(e_mod(ember.tensor(x)).detach().cpu().numpy(), t_mod(torch.tensor(x)).detach().cpu().numpy(), atol=1e-5)
    assert t_out.shape == tuple(e_mod.train()(ember.tensor(x)).shape)


def test_parameters_keep_their_identity_so_an_early_optimizer_trains_them():
    layer = nn.LazyLinear(2)
    weight = layer.weight
    opt = ember.optim.SGD(layer.parameters(), lr=0.5)
    out = layer(ember.ones(3, 4))
    assert layer.weight is weight and isinstance(weight, nn.Parameter) and not isinstance(weight, nn.UninitializedParameter)
    before = weight.detach().clone()
    out.sum().backward()
    opt.step()
    assert np.allclose((before - weight.detach()).cpu().numpy(), 0.5 * 3)


def test_uninitialized_parameter_refuses_shape_like_torch():
    p, t = nn.UninitializedParameter(), torch.nn.UninitializedParameter()
    assert repr(p) == repr(t) == "<UninitializedParameter>" and repr(nn.UninitializedBuffer()) == "<UninitializedBuffer>"
    with pytest.raises(RuntimeError, match="Can't access the shape of an uninitialized parameter"):
        _ = p.shape
    p.materialize((2, 3), dtype=ember.float64)
    assert type(p) is nn.Parameter and p.shape == (2, 3) and p.dtype == ember.float64 and p.requires_grad
    b = nn.UninitializedBuffer()
    b.materialize(4)
    assert type(b) is ember.Tensor and b.shape == (4,)


def test_loading_a_checkpoint_materializes_an_uninitialized_module():
    source = torch.nn.Linear(4, 3)
    layer = nn.LazyLinear(3)
    layer.load_state_dict({k: ember.tensor(v.detach().cpu().numpy()) for k, v in source.state_dict().items()})
    assert not layer.has_uninitialized_params() and layer.weight.shape == (3, 4)
    assert np.allclose(layer.weight.detach().cpu().numpy(), source.weight.detach().cpu().numpy())
    x = np.ones((2, 4), np.float32)
    assert np.allclose(layer(ember.tensor(x)).detach().cpu().numpy(), source(torch.tensor(x)).detach().cpu().numpy(), atol=1e-6)
    assert type(layer) is nn.Linear


def test_lazy_errors_match_torch():
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.LazyConv2d(4, 3, groups=2)(ember.zeros(1, 3, 5, 5))
    with pytest.raises(RuntimeError, match=r"Expected 3D \(unbatched\) or 4D \(batched\) input to LazyConv2d, but "
                                           r"got input of size: ember.Size\(\[3, 5\]\)"):
        nn.LazyConv2d(4, 3)(ember.zeros(3, 5))
