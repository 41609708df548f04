"""The dropout family: statistics, channel masks, gradients, seeding, modules and errors.

ember cannot reproduce torch's random stream, so masks are checked by their statistics."""
import math

import numpy as np
import pytest
import torch

import ember
import ember.nn.functional as F  # noqa: N812

ALPHA = 1.7580993408473766


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_statistics_and_scale(p):
    ember.manual_seed(0)
    x = ember.ones(200, 100)
    y = F.dropout(x, p).cpu().numpy()
    kept = y != 0
    assert abs(kept.mean() - (1 - p)) < 0.02
    np.testing.assert_allclose(y[kept], 1 / (1 - p), rtol=1e-6)


def test_dropout_gradient_is_mask_times_scale():
    ember.manual_seed(1)
    x = ember.tensor(np.random.default_rng(0).uniform(1, 2, (50, 40)).astype(np.float32), requires_grad=True)
    y = F.dropout(x, 0.3)
    y.sum().backward()
    mask = (y.detach().cpu().numpy() != 0).astype(np.float32)
    np.testing.assert_allclose(x.grad.cpu().numpy(), mask / 0.7, rtol=1e-6)
    assert y.grad_fn.name() == F.dropout(x, 0.3).grad_fn.name() == \
        torch.nn.functional.dropout(torch.ones(2, requires_grad=True)).grad_fn.name()


def test_seed_reproduces():
    ember.manual_seed(5)
    a = F.dropout(ember.ones(100), 0.5).cpu().numpy()
    b = F.dropout2d(ember.ones(4, 8, 3, 3), 0.5).cpu().numpy()
    ember.manual_seed(5)
    np.testing.assert_array_equal(a, F.dropout(ember.ones(100), 0.5).cpu().numpy())
    np.testing.assert_array_equal(b, F.dropout2d(ember.ones(4, 8, 3, 3), 0.5).cpu().numpy())
    assert not np.array_equal(a, F.dropout(ember.ones(100), 0.5).cpu().numpy())


@pytest.mark.parametrize("fn,shape,lead", [(F.dropout1d, (6, 40, 5), 2), (F.dropout1d, (40, 5), 1),
                                           (F.dropout2d, (6, 40, 3, 3), 2), (F.dropout2d, (40, 3, 3), 2),
                                           (F.dropout3d, (6, 40, 2, 2, 2), 2), (F.dropout3d, (40, 2, 2, 2), 1)])
def test_channel_dropout_zeroes_whole_channels(fn, shape, lead):
    ember.manual_seed(2)
    with pytest.warns(UserWarning) if fn is F.dropout2d and len(shape) == 3 else _nothing():
        y = fn(ember.ones(*shape), 0.5).cpu().numpy()
    per_channel = y.reshape(shape[:lead] + (-1,))
    assert ((per_channel == 0).all(-1) | (per_channel == 2.0).all(-1)).all()
    assert 0.3 < (per_channel[..., 0] == 0).mean() < 0.7


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_alpha_dropout_keeps_mean_and_variance(p):
    ember.manual_seed(3)
    x = ember.randn(400, 500)
    y = F.alpha_dropout(x, p, training=True).cpu().numpy()
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1) < 0.02
    a = 1 / math.sqrt((ALPHA * ALPHA * p + 1) * (1 - p))
    dropped = np.isclose(y, -ALPHA * a + ALPHA * a * p)
    assert abs(dropped.mean() - p) < 0.01
    kept = ~dropped
    np.testing.assert_allclose(y[kept], x.cpu().numpy()[kept] * a + ALPHA * a * p, rtol=1e-5, atol=1e-6)
    assert F.alpha_dropout(x, p) is x  # training defaults to False, as in torch


def test_feature_alpha_dropout_channels():
    ember.manual_seed(4)
    y = F.feature_alpha_dropout(ember.zeros(8, 50, 6), 0.5, training=True).cpu().numpy()
    assert (y == y[..., :1]).all()
    assert len(np.unique(y.round(5))) == 2


@pytest.mark.parametrize("fn", [F.dropout, F.dropout2d, F.alpha_dropout])
def test_edge_probabilities_and_eval(fn):
    x = ember.ones(3, 4, 2)
    with pytest.warns(UserWarning) if fn is F.dropout2d else _nothing():
        assert fn(x, 0.5, training=False) is x
        assert fn(x, 0.0, training=True) is x
        y = fn(x, 1.0, training=True)
    t = torch.ones(3, 4, 2)
    with pytest.warns(UserWarning) if fn is F.dropout2d else _nothing():
        ty = getattr(torch.nn.functional, fn.__name__)(t, 1.0, training=True)
    np.testing.assert_array_equal(y.cpu().numpy(), ty.cpu().numpy())


def test_inplace():
    ember.manual_seed(6)
    x = ember.ones(100)
    y = F.dropout(x, 0.5, inplace=True)
    assert y is x and (x.cpu().numpy() == 0).any() and (x.cpu().numpy() == 2).any()
    leaf = ember.ones(10, requires_grad=True)
    z = leaf * 1.0
    F.dropout(z, 0.5, inplace=True).sum().backward()
    np.testing.assert_array_equal(leaf.grad.cpu().numpy(), z.detach().cpu().numpy())


@pytest.mark.parametrize("name", ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
                                  "FeatureAlphaDropout"])
def test_modules(name):
    e, t = getattr(ember.nn, name)(0.3), getattr(torch.nn, name)(0.3)
    assert repr(e) == repr(t)
    assert repr(getattr(ember.nn, name)(inplace=True)) == repr(getattr(torch.nn, name)(inplace=True))
    shape = (4, 6, 3, 3, 3)[:{"Dropout1d": 3, "Dropout2d": 4, "Dropout3d": 5}.get(name, 3)]
    x = ember.ones(*shape)
    e.eval()
    assert e(x) is x
    e.train()
    ember.manual_seed(7)
    assert (e(x).cpu().numpy() != 1).any()
    assert list(e.state_dict()) == []


@pytest.mark.parametrize("p", [1.5, -0.1])
def test_probability_errors(p):
    msg = f"dropout probability has to be between 0 and 1, but got {p}"
    for lib in (ember, torch):
        with pytest.raises(ValueError, match=msg):
            lib.nn.functional.dropout(lib.ones(3), p)
        with pytest.raises(ValueError, match=msg):
            lib.nn.Dropout2d(p)
        with pytest.raises(ValueError, match=msg):
            lib.nn.functional.alpha_dropout(lib.ones(3), p, True)


def test_dim_errors():
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="dropout1d: Expected 2D or 3D input, but received a 1D input"):
            lib.nn.functional.dropout1d(lib.ones(3))
        with pytest.raises(RuntimeError, match="Feature dropout requires at least 2 dimensions in the input"):
            lib.nn.functional.feature_alpha_dropout(lib.ones(3), 0.5, True)
