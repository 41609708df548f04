"""Conv and ConvTranspose modules against torch: outputs, every parameter's gradient,
padding modes, default init bounds, reprs, state_dict names and constructor errors."""
import math

import numpy as np
import pytest
import torch

import ember
from tests.oracle import assert_same, rand

pytestmark = pytest.mark.filterwarnings("ignore:Using padding=.same.:UserWarning")


def _pair(name, *args, **kwargs):
    t = getattr(torch.nn, name)(*args, **kwargs)
    e = getattr(ember.nn, name)(*args, **kwargs)
    e.load_state_dict({k: ember.tensor(v.detach().cpu().numpy()) for k, v in t.state_dict().items()})
    return e, t


def _compare(e, t, x, **call):
    ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ey, ty = e(ex, **call), t(tx, **call)
    assert_same(ey, ty, atol=1e-4)
    up = rand(*ty.shape, seed=9)
    (ey * ember.tensor(up)).sum().backward()
    (ty * torch.tensor(up)).sum().backward()
    assert_same(ex.grad, tx.grad, atol=1e-4, what="input grad")
    for (name, ep), (_, tp) in zip(e.named_parameters(), t.named_parameters()):
        assert_same(ep.grad, tp.grad, atol=1e-3, what=name)


MODULES = [
    ("Conv1d", (3, 4, 3), dict(stride=2, padding=1), (2, 3, 9)),
    ("Conv2d", (1, 8, 3), {}, (4, 1, 12, 12)),
    ("Conv2d", (4, 6, (3, 2)), dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2), (2, 4, 9, 8)),
    ("Conv2d", (4, 6, 3), dict(padding="same", bias=False), (2, 4, 7, 6)),
    ("Conv2d", (4, 6, 4), dict(padding="same", padding_mode="reflect"), (2, 4, 7, 6)),
    ("Conv2d", (2, 3, 3), dict(padding=2, padding_mode="reflect"), (2, 2, 6, 7)),
    ("Conv2d", (2, 3, 3), dict(padding=(1, 2), padding_mode="replicate"), (2, 2, 6, 7)),
    ("Conv2d", (2, 3, 3), dict(padding=1, padding_mode="circular", stride=2), (2, 2, 6, 7)),
    ("Conv3d", (2, 4, 2), dict(padding=1, groups=2), (1, 2, 4, 5, 3)),
    ("Conv3d", (2, 3, 3), dict(padding=1, padding_mode="replicate"), (1, 2, 4, 3, 3)),
    ("ConvTranspose1d", (3, 4, 3), dict(stride=2, output_padding=1), (2, 3, 5)),
    ("ConvTranspose2d", (4, 6, 3), dict(stride=2, padding=1, output_padding=1, groups=2), (2, 4, 5, 4)),
    ("ConvTranspose2d", (4, 2, 2), dict(stride=2, bias=False, dilation=2), (2, 4, 3, 3)),
    ("ConvTranspose3d", (2, 2, 2), dict(stride=(1, 2, 2)), (1, 2, 3, 2, 3)),
]


@pytest.mark.parametrize("name,args,kwargs,shape", MODULES)
def test_conv_modules_match_torch(name, args, kwargs, shape):
    e, t = _pair(name, *args, **kwargs)
    _compare(e, t, rand(*shape, seed=1))
    assert repr(e) == repr(t)
    assert list(e.state_dict()) == list(t.state_dict())
    assert all(tuple(p.shape) == tuple(q.shape) for p, q in zip(e.parameters(), t.parameters()))


def test_conv_transpose_output_size():
    e, t = _pair("ConvTranspose2d", 3, 2, 3, stride=2, padding=1)
    x = rand(1, 3, 4, 4, seed=2)
    for size in ([8, 8], [1, 2, 7, 8]):
        _compare(e, t, x, output_size=size)
    with pytest.raises(ValueError, match=r"requested an output size of \[10, 10\], but valid sizes range from"):
        e(ember.tensor(x), output_size=[10, 10])


@pytest.mark.parametrize("name,args,kwargs", [
    ("Conv2d", (50, 40, 3), {}), ("Conv1d", (8, 20, 5), dict(groups=4)), ("ConvTranspose2d", (30, 20, 3), {}),
])
def test_conv_default_init_bounds(name, args, kwargs):
    ember.manual_seed(0)
    m = getattr(ember.nn, name)(*args, **kwargs)
    t = getattr(torch.nn, name)(*args, **kwargs)
    w, b = m.weight.detach().cpu().numpy(), m.bias.detach().cpu().numpy()
    fan_in = t.weight.shape[1] * math.prod(t.weight.shape[2:])
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform_(a=sqrt(5)) and the bias share this bound
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(b).max() <= bound and np.abs(b).std() > 0
    assert isinstance(m.weight, ember.nn.Parameter) and m.weight.requires_grad


@pytest.mark.parametrize("args,kwargs,match", [
    ((4, 6, 3), dict(groups=0), "groups must be a positive integer"),
    ((3, 6, 3), dict(groups=2), "in_channels must be divisible by groups"),
    ((4, 5, 3), dict(groups=2), "out_channels must be divisible by groups"),
    ((4, 6, 3), dict(padding="foo"), "Invalid padding string 'foo'"),
    ((4, 6, 3), dict(padding="same", stride=2), "padding='same' is not supported for strided convolutions"),
    ((4, 6, 3), dict(padding_mode="bad"), "padding_mode must be one of"),
])
def test_conv_constructor_errors_match_torch(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        torch.nn.Conv2d(*args, **kwargs)
    with pytest.raises(ValueError, match=match):
        ember.nn.Conv2d(*args, **kwargs)


def test_conv_transpose_padding_mode_error():
    match = 'Only "zeros" padding mode is supported for ConvTranspose2d'
    with pytest.raises(ValueError, match=match):
        torch.nn.ConvTranspose2d(2, 2, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match=match):
        ember.nn.ConvTranspose2d(2, 2, 3, padding_mode="reflect")


def test_small_cnn_trains_like_torch():
    def build(nn):
        return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Conv2d(4, 8, 3, stride=2), nn.ReLU(), nn.Flatten(),
                             nn.Linear(8 * 4 * 4, 3))
    t_model, e_model = build(torch.nn), build(ember.nn)
    e_model.load_state_dict({k: ember.tensor(v.cpu().numpy()) for k, v in t_model.state_dict().items()})
    x, y = rand(6, 1, 11, 11, seed=3), np.arange(6) % 3
    losses = {}
    for lib, model in ((ember, e_model), (torch, t_model)):
        opt = lib.optim.SGD(model.parameters(), lr=0.1)
        xb, yb = lib.tensor(x), lib.tensor(y)
        losses[lib.__name__] = []
        for _ in range(5):
            opt.zero_grad()
            loss = lib.nn.functional.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            losses[lib.__name__].append(loss.item())
    np.testing.assert_allclose(losses["ember"], losses["torch"], rtol=1e-4, atol=1e-5)
