"""Transforms (forward, inverse, log|det J|, shapes, caching), constraints and biject_to /
transform_to against torch."""
import numpy as np
import pytest
import torch
import torch.distributions.transforms as torch_tf

import ember
import ember.distributions.transforms as ember_tf
from ember.distributions import constraints as ember_con
from torch.distributions import constraints as torch_con

rng = np.random.default_rng(7)
X = rng.normal(size=(4, 6))
SQUARE = rng.normal(size=(2, 3, 3))

TRANSFORMS = {
    "exp": (lambda m: m.ExpTransform(), X),
    "sigmoid": (lambda m: m.SigmoidTransform(), X),
    "tanh": (lambda m: m.TanhTransform(), X),
    "softplus": (lambda m: m.SoftplusTransform(), X),
    "abs": (lambda m: m.AbsTransform(), X),
    "affine": (lambda m: m.AffineTransform(1.5, -2.0), X),
    "affine_tensor": (lambda m: m.AffineTransform(m_tensor(m, X[0]), m_tensor(m, np.abs(X[1]) + 0.5)), X),
    "affine_event": (lambda m: m.AffineTransform(1.5, -2.0, event_dim=1), X),
    "power": (lambda m: m.PowerTransform(2.5), np.abs(X) + 0.1),
    "softmax": (lambda m: m.SoftmaxTransform(), X),
    "stick_breaking": (lambda m: m.StickBreakingTransform(), X),
    "corr_cholesky": (lambda m: m.CorrCholeskyTransform(), X),
    "lower_cholesky": (lambda m: m.LowerCholeskyTransform(), SQUARE),
    "positive_definite": (lambda m: m.PositiveDefiniteTransform(), SQUARE),
    "compose": (lambda m: m.ComposeTransform([m.AffineTransform(0.5, 2.0), m.ExpTransform()]), X),
    "compose_vector": (lambda m: m.ComposeTransform([m.ExpTransform().inv.inv, m.StickBreakingTransform()]), X),
    "independent": (lambda m: m.IndependentTransform(m.ExpTransform(), 1), X),
    "reshape": (lambda m: m.ReshapeTransform((6,), (2, 3)), X),
    "cat": (lambda m: m.CatTransform([m.ExpTransform(), m.AffineTransform(1.0, 3.0)], dim=1, lengths=[2, 4]), X),
    "stack": (lambda m: m.StackTransform([m.ExpTransform(), m.SigmoidTransform(), m.TanhTransform(),
                                          m.ExpTransform()], dim=0), X),
    "inverse_sigmoid": (lambda m: m.SigmoidTransform().inv, 1 / (1 + np.exp(-X))),
    "cdf": (lambda m: m.CumulativeDistributionTransform(m_normal(m)), X),
}


def m_tensor(m, a):
    lib = ember if m is ember_tf else torch
    return lib.tensor(a)


def m_normal(m):
    lib = ember if m is ember_tf else torch
    return lib.distributions.Normal(lib.tensor(0.3), lib.tensor(1.7))


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_transform_matches_torch(name):
    make, x = TRANSFORMS[name]
    te, tt = make(ember_tf), make(torch_tf)
    xe, xt = ember.tensor(x), torch.tensor(x)
    ye, yt = te(xe), tt(xt)
    np.testing.assert_allclose(ye.numpy(), yt.numpy(), rtol=1e-6, atol=1e-10)
    assert te.bijective == tt.bijective
    assert repr(te.domain) == repr(tt.domain) and repr(te.codomain) == repr(tt.codomain)
    assert tuple(te.forward_shape(x.shape)) == tuple(tt.forward_shape(x.shape))
    assert tuple(te.inverse_shape(tuple(yt.shape))) == tuple(tt.inverse_shape(yt.shape))
    y = yt.numpy()
    np.testing.assert_allclose(te.inv(ember.tensor(y)).numpy(), tt.inv(torch.tensor(y)).numpy(), rtol=1e-5,
                               atol=1e-8)
    if tt.bijective:
        np.testing.assert_allclose(te.log_abs_det_jacobian(xe, ye).numpy(), tt.log_abs_det_jacobian(xt, yt).numpy(),
                                   rtol=1e-5, atol=1e-8)


def test_log_abs_det_jacobian_gradients_match_torch():
    xe, xt = ember.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    for make in (lambda m: m.StickBreakingTransform(), lambda m: m.CorrCholeskyTransform(),
                 lambda m: m.TanhTransform(), lambda m: m.SigmoidTransform()):
        te, tt = make(ember_tf), make(torch_tf)
        te.log_abs_det_jacobian(xe, te(xe)).sum().backward()
        tt.log_abs_det_jacobian(xt, tt(xt)).sum().backward()
        np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-8)
        xe.grad, xt.grad = None, None


def test_cache_returns_the_original_input():
    t = ember_tf.ExpTransform(cache_size=1)
    x = ember.tensor(X)
    y = t(x)
    assert t(x) is y and t.inv(y) is x
    assert ember_tf.ExpTransform().with_cache(1)._cache_size == 1
    with pytest.raises(ValueError, match="cache_size must be 0 or 1"):
        ember_tf.ExpTransform(cache_size=2)


def test_inverse_and_equality():
    t = ember_tf.AffineTransform(1.0, 2.0)
    assert t.inv.inv is t and t.inv.sign == 1
    assert ember_tf.ExpTransform() == ember_tf.ExpTransform() and ember_tf.ExpTransform() != ember_tf.SigmoidTransform()
    assert ember_tf.AffineTransform(1.0, 2.0) == ember_tf.AffineTransform(1.0, 2.0) != ember_tf.AffineTransform(1.0, 3.0)
    assert ember_tf.ComposeTransform([ember_tf.ExpTransform()]).inv.parts[0] == ember_tf.ExpTransform().inv
    assert ember_tf.identity_transform(ember.tensor(X)).numpy().tolist() == X.tolist()
    with pytest.raises(ValueError, match="different numbers of elements"):
        ember_tf.ReshapeTransform((6,), (4,))


CONSTRAINTS = {
    "real": (lambda c: c.real, X),
    "positive": (lambda c: c.positive, X),
    "nonnegative": (lambda c: c.nonnegative, X),
    "greater_than": (lambda c: c.greater_than(0.3), X),
    "greater_than_eq": (lambda c: c.greater_than_eq(-0.3), X),
    "less_than": (lambda c: c.less_than(0.5), X),
    "unit_interval": (lambda c: c.unit_interval, X),
    "interval": (lambda c: c.interval(-1.0, 2.0), X),
    "half_open_interval": (lambda c: c.half_open_interval(-1.0, 2.0), X),
    "simplex": (lambda c: c.simplex, X),
    "real_vector": (lambda c: c.real_vector, X),
    "independent_positive": (lambda c: c.independent(c.positive, 1), X),
    "corr_cholesky": (lambda c: c.corr_cholesky, X),
    "lower_cholesky": (lambda c: c.lower_cholesky, SQUARE),
    "positive_definite": (lambda c: c.positive_definite, SQUARE),
    "cat": (lambda c: c.cat([c.positive, c.real], dim=1, lengths=[2, 4]), X),
    "stack": (lambda c: c.stack([c.positive, c.unit_interval, c.real, c.positive], dim=0), X),
}


@pytest.mark.parametrize("name", sorted(CONSTRAINTS))
@pytest.mark.parametrize("registry", ["biject_to", "transform_to"])
def test_registry_maps_into_the_constraint(name, registry):
    make, x = CONSTRAINTS[name]
    ce, ct = make(ember_con), make(torch_con)
    try:
        tt = getattr(torch.distributions, registry)(ct)
    except NotImplementedError:
        with pytest.raises(NotImplementedError, match="Cannot transform"):
            getattr(ember.distributions, registry)(ce)
        return
    te = getattr(ember.distributions, registry)(ce)
    assert type(te).__name__ == type(tt).__name__
    ye = te(ember.tensor(x))
    np.testing.assert_allclose(ye.numpy(), tt(torch.tensor(x)).numpy(), rtol=1e-6, atol=1e-10)
    assert bool(ce.check(ye).all())


VALUES = [np.array([0.0, 1.0, 0.5, -1.0, np.nan]), np.array([[1.0, 0.0], [0.0, 1.0]]),
          np.array([[0.2, 0.8], [0.5, 0.6]]), np.array([[[2.0, 0.0], [1.0, 3.0]], [[1.0, 1.0], [0.0, 1.0]]])]
CHECKS = ["real", "positive", "nonnegative", "boolean", "unit_interval", "nonnegative_integer", "positive_integer",
          "simplex", "one_hot", "lower_triangular", "lower_cholesky", "positive_definite", "symmetric",
          "positive_semidefinite", "square", "corr_cholesky"]


@pytest.mark.parametrize("name", CHECKS)
def test_constraint_checks_match_torch(name):
    ce, ct = getattr(ember_con, name), getattr(torch_con, name)
    assert repr(ce) == repr(ct) and ce.is_discrete == ct.is_discrete and ce.event_dim == ct.event_dim
    for v in VALUES:
        if v.ndim < ct.event_dim:
            continue
        np.testing.assert_array_equal(ce.check(ember.tensor(v)).numpy(), ct.check(torch.tensor(v)).numpy())


def test_dependent_constraints():
    assert ember_con.is_dependent(ember_con.dependent) and not ember_con.is_dependent(ember_con.real)
    with pytest.raises(ValueError, match="Cannot determine validity of dependent constraint"):
        ember_con.dependent.check(ember.zeros(2))
    assert ember_con.dependent(is_discrete=True, event_dim=1).event_dim == 1
    assert repr(ember_con.integer_interval(0, 3)) == repr(torch_con.integer_interval(0, 3))
