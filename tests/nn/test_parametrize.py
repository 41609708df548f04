"""nn.utils.parametrize and nn.utils.parametrizations against torch: registration, chaining, right_inverse,
unsafe, caching, removal, transfer, and weight_norm / spectral_norm / orthogonal outputs and gradients
given the same weights (spectral_norm with the same power-iteration vectors)."""
import copy
import pickle

import numpy as np
import pytest
import torch

import ember
from ember import nn
from ember.nn.utils import parametrize as P  # noqa: N812 (short, like F)


def _e(t):
    return ember.tensor(t.detach().cpu().numpy())


def _original_grad(m):
    return m.parametrizations.weight.original.grad.numpy(force=True)


def _linears(n_in=4, n_out=3, dtype=torch.float64):
    t = torch.nn.Linear(n_in, n_out).to(dtype)
    e = nn.Linear(n_in, n_out).to(ember.float64 if dtype == torch.float64 else ember.float32)
    e.load_state_dict({k: _e(v) for k, v in t.state_dict().items()})
    return e, t


def _symmetric(lib):
    class Symmetric(lib.nn.Module):
        def forward(self, x):
            return x.triu() + x.triu(1).mT

        def right_inverse(self, a):
            return a.triu()
    return Symmetric()


def _scale(lib, s):
    class Scale(lib.nn.Module):
        def forward(self, x):
            return x * s

        def right_inverse(self, y):
            return y / s
    return Scale()


def test_register_parametrization_matches_torch_and_keeps_gradients():
    e, t = _linears(3, 3)
    P.register_parametrization(e, "weight", _symmetric(ember))
    torch.nn.utils.parametrize.register_parametrization(t, "weight", _symmetric(torch))
    assert type(e).__name__ == type(t).__name__ == "ParametrizedLinear"
    assert P.type_before_parametrizations(e) is nn.Linear and P.is_parametrized(e) and P.is_parametrized(e, "weight")
    assert not P.is_parametrized(e, "bias") and not P.is_parametrized(nn.Linear(1, 1))
    assert list(e.state_dict()) == list(t.state_dict())
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert np.allclose(e.parametrizations.weight.original.detach().cpu().numpy(),
                       t.parametrizations.weight.original.detach().cpu().numpy())
    assert np.allclose(e.weight.detach().cpu().numpy(), t.weight.detach().cpu().numpy())
    x = np.random.default_rng(0).standard_normal((2, 3))
    e(ember.tensor(x)).sum().backward()
    t(torch.tensor(x)).sum().backward()
    assert np.allclose(_original_grad(e), _original_grad(t))


def test_chained_parametrizations_assignment_and_removal_match_torch():
    e, t = _linears(3, 3)
    for mod, lib in ((e, ember), (t, torch)):
        reg = (P if lib is ember else torch.nn.utils.parametrize).register_parametrization
        reg(mod, "weight", _symmetric(lib))
        reg(mod, "weight", _scale(lib, 2.0))
    assert len(e.parametrizations.weight) == 2
    assert np.allclose(e.weight.detach().cpu().numpy(), t.weight.detach().cpu().numpy())
    target = np.arange(9.0).reshape(3, 3)
    target = target + target.T
    e.weight = ember.tensor(target)
    t.weight = torch.tensor(target)
    assert np.allclose(e.weight.detach().cpu().numpy(), target) and np.allclose(t.weight.detach().cpu().numpy(), target)
    assert np.allclose(e.parametrizations.weight.original.detach().cpu().numpy(),
                       t.parametrizations.weight.original.detach().cpu().numpy())
    P.remove_parametrizations(e, "weight", leave_parametrized=True)
    torch.nn.utils.parametrize.remove_parametrizations(t, "weight", leave_parametrized=True)
    assert type(e) is nn.Linear and not hasattr(e, "parametrizations")
    assert isinstance(e.weight, nn.Parameter) and np.allclose(e.weight.detach().cpu().numpy(), target)
    assert list(e.state_dict()) == list(t.state_dict())


def test_remove_without_leaving_parametrized_restores_the_original():
    e, _ = _linears(3, 3)
    P.register_parametrization(e, "weight", _scale(ember, 3.0))
    original = e.parametrizations.weight.original.detach().clone()
    P.remove_parametrizations(e, "weight", leave_parametrized=False)
    assert np.allclose(e.weight.detach().cpu().numpy(), original.cpu().numpy())


def test_cached_computes_each_parametrized_tensor_once():
    calls = []

    class Count(nn.Module):
        def forward(self, x):
            calls.append(1)
            return x * 1.0
    e = P.register_parametrization(nn.Linear(2, 2), "weight", Count())
    calls.clear()
    with P.cached():
        assert e.weight is e.weight
        e(ember.ones(1, 2))
    assert len(calls) == 1
    _ = e.weight, e.weight
    assert len(calls) == 3


def test_unsafe_and_errors_match_torch():
    class Widen(nn.Module):
        def forward(self, x):
            return ember.cat([x, x], 0)
    e = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="may not change the shape of the tensor, unless `unsafe` flag is enabled"):
        P.register_parametrization(e, "weight", Widen())
    P.register_parametrization(e, "weight", Widen(), unsafe=True)
    assert e.weight.shape == (4, 2)
    with pytest.raises(ValueError, match="does not have a parameter, a buffer, or a parametrized element with name"):
        P.register_parametrization(nn.Linear(2, 2), "nothing", Widen())
    with pytest.raises(ValueError, match="does not have a parametrization on bias"):
        P.remove_parametrizations(e, "bias")

    class Double(nn.Module):
        def forward(self, x):
            return x.double()
    with pytest.raises(ValueError, match="may not change the dtype"):
        P.register_parametrization(nn.Linear(2, 2), "weight", Double())
    with pytest.raises(RuntimeError, match="does not implement right_inverse"):
        e.weight = ember.zeros(4, 2)
    with pytest.raises(RuntimeError, match="Serialization of parametrized modules is only supported through"):
        pickle.dumps(e)
    clone = copy.deepcopy(e)
    assert type(clone).__name__ == "ParametrizedLinear" and clone.weight.shape == (4, 2)
    assert clone.parametrizations.weight.original is not e.parametrizations.weight.original


def test_right_inverse_to_several_tensors_and_transfer():
    class Sum(nn.Module):
        def forward(self, a, b):
            return a + b

        def right_inverse(self, w):
            return w / 2, w / 2
    src = P.register_parametrization(nn.Linear(3, 2), "weight", Sum())
    assert [n for n, _ in src.named_parameters()] == ["bias", "parametrizations.weight.original0",
                                                      "parametrizations.weight.original1"]
    dst = P.transfer_parametrizations_and_params(src, nn.Linear(3, 2))
    assert P.is_parametrized(dst, "weight") and np.allclose(dst.weight.detach().cpu().numpy(), src.weight.detach().cpu().numpy())
    with pytest.raises(ValueError, match="Cannot leave unparametrized"):
        P.remove_parametrizations(src, "weight", leave_parametrized=False)
    P.remove_parametrizations(src, "weight")
    assert isinstance(src.weight, nn.Parameter) and type(src) is nn.Linear


@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_matches_torch(dim):
    t = torch.nn.Conv2d(3, 4, 2).double()
    e = nn.Conv2d(3, 4, 2).double()
    torch.nn.utils.parametrizations.weight_norm(t, dim=dim)
    nn.utils.parametrizations.weight_norm(e, dim=dim)
    assert list(e.state_dict()) == list(t.state_dict())
    e.load_state_dict({k: _e(v) for k, v in t.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((2, 3, 4, 4))
    te, tt = ember.tensor(x), torch.tensor(x)
    assert np.allclose(e(te).detach().cpu().numpy(), t(tt).detach().cpu().numpy())
    e(te).sum().backward()
    t(tt).sum().backward()
    for (name, tp), ep in zip(t.named_parameters(), e.parameters()):
        assert np.allclose(ep.grad.cpu().numpy(), tp.grad.cpu().numpy()), name


@pytest.mark.parametrize("cls,args,dim", [("Linear", (5, 4), None), ("Conv2d", (3, 4, 2), None),
                                          ("ConvTranspose2d", (3, 4, 2), None), ("Conv1d", (3, 4, 2), 2)])
def test_spectral_norm_matches_torch_with_the_same_power_iteration_vectors(cls, args, dim):
    t = getattr(torch.nn, cls)(*args).double()
    e = getattr(nn, cls)(*args).double()
    kwargs = {} if dim is None else {"dim": dim}
    torch.nn.utils.parametrizations.spectral_norm(t, n_power_iterations=2, **kwargs)
    nn.utils.parametrizations.spectral_norm(e, n_power_iterations=2, **kwargs)
    assert list(e.state_dict()) == list(t.state_dict())
    e.load_state_dict({k: _e(v) for k, v in t.state_dict().items()})  # original, _u and _v
    shape = (3, 5) if cls == "Linear" else (2, 3, 5) if cls == "Conv1d" else (2, 3, 5, 5)
    x = np.random.default_rng(2).standard_normal(shape)
    out_t, out_e = t(torch.tensor(x)), e(ember.tensor(x))  # training mode: two power iterations each
    assert np.allclose(out_e.detach().cpu().numpy(), out_t.detach().cpu().numpy())
    assert np.allclose(e.parametrizations.weight[0]._u.cpu().numpy(), t.parametrizations.weight[0]._u.cpu().numpy())
    out_t.sum().backward()
    out_e.sum().backward()
    assert np.allclose(_original_grad(e), _original_grad(t))
    t.eval(), e.eval()
    assert np.allclose(e(ember.tensor(x)).detach().cpu().numpy(), t(torch.tensor(x)).detach().cpu().numpy())


def test_spectral_norm_normalises_the_largest_singular_value():
    layer = nn.utils.parametrizations.spectral_norm(nn.Linear(6, 5))
    for _ in range(30):
        layer(ember.ones(1, 6))
    assert abs(np.linalg.svd(layer.weight.detach().cpu().numpy(), compute_uv=False)[0] - 1.0) < 1e-3
    with pytest.raises(ValueError, match="Expected n_power_iterations to be positive"):
        nn.utils.parametrizations.spectral_norm(nn.Linear(2, 2), n_power_iterations=0)


@pytest.mark.parametrize("shape,orth_map,trivial", [((4, 4), None, True), ((5, 3), "householder", True),
                                                    ((3, 5), "cayley", True), ((4, 4), "matrix_exp", False),
                                                    ((5, 3), "householder", False), ((3, 5), "matrix_exp", True)])
def test_orthogonal_matches_torch(shape, orth_map, trivial):
    t = torch.nn.Linear(shape[1], shape[0]).double()
    e = nn.Linear(shape[1], shape[0]).double()
    e.load_state_dict({k: _e(v) for k, v in t.state_dict().items()})
    torch.nn.utils.parametrizations.orthogonal(t, orthogonal_map=orth_map, use_trivialization=trivial)
    nn.utils.parametrizations.orthogonal(e, orthogonal_map=orth_map, use_trivialization=trivial)
    assert list(e.state_dict()) == list(t.state_dict())
    # the base of the trivialization and the original come from random draws: copy torch's
    e.load_state_dict({k: _e(v) for k, v in t.state_dict().items()})
    ones = torch.ones(shape, dtype=torch.float64)
    below = ones.tril(-1) if shape[0] >= shape[1] else ones.triu(1)  # householder keeps its +-1 diagonal
    with torch.no_grad():
        t.parametrizations.weight.original.add_(0.1 * below)
    e.parametrizations.weight.original.data = _e(t.parametrizations.weight.original)
    w_e, w_t = e.weight, t.weight
    assert np.allclose(w_e.detach().cpu().numpy(), w_t.detach().cpu().numpy(), atol=1e-10)
    q = w_e.detach().cpu().numpy()
    small = min(shape)
    gram = q @ q.T if shape[0] < shape[1] else q.T @ q
    assert np.allclose(gram, np.eye(small), atol=1e-10)
    (w_e * ember.arange(float(q.size)).reshape(shape).double()).sum().backward()
    (w_t * torch.arange(float(q.size)).reshape(shape).double()).sum().backward()
    assert np.allclose(_original_grad(e), _original_grad(t))


def test_orthogonal_errors_match_torch():
    with pytest.raises(ValueError, match="Expected a matrix or batch of matrices. Got a tensor of 1 dimensions."):
        nn.utils.parametrizations.orthogonal(nn.Linear(2, 2), "bias")
    with pytest.raises(ValueError, match='orthogonal_map has to be one of "matrix_exp", "cayley", "householder"'):
        nn.utils.parametrizations.orthogonal(nn.Linear(2, 2), orthogonal_map="qr")
    layer = nn.utils.parametrizations.orthogonal(nn.Linear(3, 3), use_trivialization=False)
    with pytest.raises(NotImplementedError, match="use_trivialization=False"):
        layer.weight = ember.eye(3)
