import math

import numpy as np
import pytest
import torch

import ember
from ember.nn import init


@pytest.mark.parametrize("nl,param", [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None),
                                      ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None)])
def test_calculate_gain_matches_torch(nl, param):
    assert init.calculate_gain(nl, param) == pytest.approx(torch.nn.init.calculate_gain(nl, param))


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="Unsupported nonlinearity foo"):
        init.calculate_gain("foo")
    with pytest.raises(ValueError, match="negative_slope"):
        init.calculate_gain("leaky_relu", "x")


@pytest.mark.parametrize("shape", [(3, 4), (5, 2, 3, 3), (2, 7, 4)])
def test_fans_match_torch(shape):
    assert init._calculate_fan_in_and_fan_out(ember.empty(*shape)) == \
        torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(ember.empty(3))


SHAPE = (256, 128, 3)
# name, kwargs, expected std from the formula torch documents, bound (or None)
FAN_IN, FAN_OUT = 128 * 3, 256 * 3
CASES = [
    ("uniform_", {"a": -2.0, "b": 1.0}, 3 / math.sqrt(12), (-2.0, 1.0)),
    ("normal_", {"mean": 1.0, "std": 0.5}, 0.5, None),
    ("xavier_uniform_", {"gain": 2.0}, 2 * math.sqrt(2 / (FAN_IN + FAN_OUT)),
     2 * math.sqrt(6 / (FAN_IN + FAN_OUT))),
    ("xavier_normal_", {}, math.sqrt(2 / (FAN_IN + FAN_OUT)), None),
    ("kaiming_uniform_", {"a": math.sqrt(5)}, math.sqrt(2 / 6) / math.sqrt(FAN_IN),
     math.sqrt(3) * math.sqrt(2 / 6) / math.sqrt(FAN_IN)),
    ("kaiming_normal_", {"mode": "fan_out", "nonlinearity": "relu"}, math.sqrt(2 / FAN_OUT), None),
    ("trunc_normal_", {"a": -1.0, "b": 1.5}, None, (-1.0, 1.5)),
]


@pytest.mark.parametrize("name,kwargs,std,bound", CASES, ids=[c[0] for c in CASES])
def test_distributions_match_torch(name, kwargs, std, bound):
    e = ember.empty(*SHAPE, requires_grad=True)
    t = torch.empty(*SHAPE)
    assert getattr(init, name)(e, **kwargs) is e
    getattr(torch.nn.init, name)(t, **kwargs)
    ev, tv = e.detach().cpu().numpy().astype(float), t.cpu().numpy().astype(float)  # float64: Python-float tolerances
    assert e.requires_grad and e.is_leaf and e.grad_fn is None
    assert ev.mean() == pytest.approx(tv.mean(), abs=0.01 + 0.01 * tv.std())
    assert ev.std() == pytest.approx(tv.std(), rel=0.02)
    if std is not None:
        assert ev.std() == pytest.approx(std, rel=0.02)
    if bound is not None:
        lo, hi = bound if isinstance(bound, tuple) else (-bound, bound)
        assert ev.min() >= lo and ev.max() <= hi
        assert ev.min() < lo + 0.05 * (hi - lo) and ev.max() > hi - 0.05 * (hi - lo)


def test_generator_makes_draws_reproducible():
    a = init.kaiming_uniform_(ember.empty(4, 5), generator=ember.Generator().manual_seed(3))
    b = init.kaiming_uniform_(ember.empty(4, 5), generator=ember.Generator().manual_seed(3))
    np.testing.assert_array_equal(a.cpu().numpy(), b.cpu().numpy())


@pytest.mark.parametrize("fn,val", [(lambda t: init.constant_(t, 0.3), 0.3), (init.ones_, 1.0), (init.zeros_, 0.0)])
def test_constant_fills(fn, val):
    p = ember.nn.Parameter(ember.empty(2, 3))
    assert fn(p) is p
    np.testing.assert_array_equal(p.detach().cpu().numpy(), np.full((2, 3), val, np.float32))


@pytest.mark.parametrize("shape", [(3, 3), (2, 4), (4, 2)])
def test_eye_matches_torch(shape):
    e = init.eye_(ember.empty(*shape, dtype=ember.float64))
    np.testing.assert_array_equal(e.cpu().numpy(), torch.nn.init.eye_(torch.empty(*shape)).cpu().numpy())
    assert e.dtype == ember.float64
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
        init.eye_(ember.empty(2, 2, 2))


@pytest.mark.parametrize("shape", [(4, 6), (6, 4), (3, 2, 2)])
def test_orthogonal(shape):
    w = init.orthogonal_(ember.empty(*shape, dtype=ember.float64), gain=2.0).cpu().numpy().reshape(shape[0], -1)
    small = w @ w.T if shape[0] <= w.shape[1] else w.T @ w
    np.testing.assert_allclose(small, 4 * np.eye(len(small)), atol=1e-10)
    with pytest.raises(ValueError, match="Only tensors with 2 or more dimensions are supported"):
        init.orthogonal_(ember.empty(3))


def test_kaiming_errors_and_empty():
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_normal_(ember.empty(2, 2), mode="fan_avg")
    with pytest.warns(UserWarning, match="zero-element"):
        init.kaiming_uniform_(ember.empty(0, 3))
