"""ember.autograd.forward_ad against torch.autograd.forward_ad: tangents of ops and of a
small MLP, views and in-place changes of dual tensors, the errors, and what torch does
not have (nested levels; forward-over-reverse through ``autograd.grad``)."""
import numpy as np
import pytest
import torch

import ember
from autograd_helpers import both
from oracle import assert_same

RNG = np.random.default_rng(0)
X, T = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))
W, B = RNG.standard_normal((4, 5)), RNG.standard_normal(5)


def fw(lib):
    return lib.autograd.forward_ad


def jvp(lib, fn, *pairs):
    """``fn`` on dual tensors made of (primal, tangent) arrays: [primal, tangent] of each output."""
    f = fw(lib)
    with f.dual_level():
        duals = [f.make_dual(lib.tensor(p), lib.tensor(t)) for p, t in pairs]
        out = fn(lib, *duals)
        outs = out if isinstance(out, tuple) else (out,)
        return [x for o in outs for x in f.unpack_dual(o)]


OPS = {
    "exp": lambda lib, x: x.exp(),
    "sigmoid_tanh": lambda lib, x: x.sigmoid() * x.tanh(),
    "pow_div": lambda lib, x: x ** 3 / (1 + x * x),
    "abs_relu": lambda lib, x: x.abs() + lib.relu(x),
    "matmul": lambda lib, x: x @ lib.tensor(W),
    "sum_mean": lambda lib, x: (x.sum(1), x.mean(0, keepdim=True)),
    "views": lambda lib, x: (x.t()[1:3], x.reshape(2, 6), x.unsqueeze(0).expand(2, 3, 4), x[:, ::2]),
    "cat_stack": lambda lib, x: (lib.cat([x, x * 2], 1), lib.stack([x, x.exp()])),
    "softmax": lambda lib, x: (lib.softmax(x, 1), lib.log_softmax(x, 0)),
    "norms": lambda lib, x: (lib.nn.functional.layer_norm(x, (4,)), x.norm(), lib.linalg.vector_norm(x, dim=1)),
    "batch_group_norm": lambda lib, x: (lib.nn.functional.batch_norm(x, None, None, training=True),
                                        lib.nn.functional.group_norm(x.reshape(3, 4, 1), 2)),
    "activations": lambda lib, x: (lib.nn.functional.gelu(x), lib.nn.functional.silu(x), lib.nn.functional.elu(x),
                                   lib.nn.functional.softplus(x), lib.nn.functional.leaky_relu(x, 0.1)),
    "pool_conv": lambda lib, x: (lib.nn.functional.max_pool1d(x.unsqueeze(0), 2),
                                 lib.nn.functional.avg_pool1d(x.unsqueeze(0), 2),
                                 lib.nn.functional.conv1d(x.unsqueeze(0), x[:2, :3].unsqueeze(1).expand(2, 3, 3))),
    "sort_cumulative": lambda lib, x: (x.sort(1).values, x.topk(2).values, x.cumsum(0), x.cumprod(1),
                                       x.cummax(1).values, x.median(1).values, x.var(1), x.std()),
    "max_where": lambda lib, x: (x.max(1).values, lib.where(x > 0, x, x * x), x.clamp(-0.5, 0.5)),
    "index": lambda lib, x: (x[lib.tensor([2, 0])], x.gather(1, lib.tensor([[0], [3], [1]])), x.masked_fill(x > 1, 0.0)),
    "losses": lambda lib, x: (lib.nn.functional.mse_loss(x, lib.tensor(T)),
                              lib.nn.functional.cross_entropy(x, lib.tensor([0, 3, 1]))),
    "linalg": lambda lib, x: (lib.linalg.inv(x[:, :3] + 3 * lib.eye(3, dtype=x.dtype)), lib.logsumexp(x, 1)),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_tangents_match_torch(name):
    both(lambda lib: jvp(lib, OPS[name], (X, T)), atol=1e-10, rtol=1e-8)


def test_two_dual_inputs():
    both(lambda lib: jvp(lib, lambda lib, a, b: (a * b + a.atan2(b), a @ b.t()), (X, T), (T, X)), atol=1e-10, rtol=1e-8)


def test_mlp_tangents():
    w2 = RNG.standard_normal((5, 2))

    def mlp(lib):
        net = lib.nn.Sequential(lib.nn.Linear(4, 5), lib.nn.Tanh(), lib.nn.Linear(5, 2)).double()
        with lib.no_grad():
            net[0].weight.copy_(lib.tensor(W.T))
            net[0].bias.copy_(lib.tensor(B))
            net[2].weight.copy_(lib.tensor(w2.T))
            net[2].bias.zero_()
        return jvp(lib, lambda lib, x: lib.nn.functional.gelu(net(x)).sum(), (X, T))
    both(mlp, atol=1e-10, rtol=1e-8)


@pytest.mark.parametrize("cell", ["LSTM", "GRU"])
def test_recurrent_layers_match_torch(cell):
    xs, ts = RNG.standard_normal((5, 2, 3)), RNG.standard_normal((5, 2, 3))
    torch.manual_seed(0)
    ref = getattr(torch.nn, cell)(3, 4).double()
    state = {k: v.detach().numpy().copy() for k, v in ref.state_dict().items()}

    def run(lib):
        net = ref if lib is torch else getattr(ember.nn, cell)(3, 4).double()
        if lib is ember:
            net.load_state_dict({k: ember.tensor(v) for k, v in state.items()})
        return jvp(lib, lambda lib, x: net(x)[0], (xs, ts))
    both(run, atol=1e-10, rtol=1e-8)


def test_tangent_of_weights_through_functional_linear():
    both(lambda lib: jvp(lib, lambda lib, x, w: lib.nn.functional.linear(x, w).relu(), (X, T), (W.T, W.T * 0.5)),
         atol=1e-10, rtol=1e-8)


def test_views_and_inplace():
    def run(lib):
        f = fw(lib)
        with f.dual_level():
            t = lib.tensor(T)
            x = f.make_dual(lib.tensor(X), t)
            row = x[1]
            got = [f.unpack_dual(row).tangent]
            row.mul_(2)                       # the view's tangent, and so x's, change in place
            got += [f.unpack_dual(x).tangent, t]
            plain = lib.zeros(3, 4, dtype=lib.float64)
            plain[:, 1:3].copy_(x[:, :2])     # a plain tensor becomes dual through a view of it
            got.append(f.unpack_dual(plain).tangent)
            y = lib.ones(3, 4, dtype=lib.float64)
            y.add_(x)
            got.append(f.unpack_dual(y).tangent)
            return got
    both(run, atol=1e-12, rtol=0)


def test_level_lifetime_and_unpack():
    f = ember.autograd.forward_ad
    x = ember.tensor(X)
    assert f.unpack_dual(x) == (x, None)
    with f.dual_level() as level:
        assert level == 0
        d = f.make_dual(x, ember.tensor(T))
        y = d * 2
        primal, tangent = f.unpack_dual(y)
        assert isinstance(f.unpack_dual(y), f.UnpackedDualTensor)
        assert f.unpack_dual(primal).tangent is None
        np.testing.assert_allclose(tangent.numpy(), 2 * T)
        assert f.unpack_dual(y.detach()).tangent is None
    assert f.unpack_dual(y).tangent is None          # exiting the level drops its tangents
    with f.dual_level():
        assert f.unpack_dual(y).tangent is None      # a re-entered index is a new level


def test_make_dual_keeps_or_relays_the_tangent():
    f = ember.autograd.forward_ad
    with f.dual_level():
        t = ember.tensor(T)
        assert f.unpack_dual(f.make_dual(ember.tensor(X), t)).tangent is t
        tt = ember.tensor(T.T.copy()).t()           # another memory layout: copied into the primal's
        kept = f.unpack_dual(f.make_dual(ember.tensor(X), tt)).tangent
        assert kept.stride() == (4, 1)
        np.testing.assert_array_equal(kept.numpy(), T)


def test_errors_match_torch():
    for lib in (ember, torch):
        f = fw(lib)
        x = lib.tensor(X)
        with pytest.raises(RuntimeError, match="no level exists, make sure to enter_dual_level"):
            f.make_dual(x, x)
        with f.dual_level():
            with pytest.raises(RuntimeError, match=r"different size .* Tensor is of size \[3, 4\] while the given "
                                                   r"forward gradient is of size \[4\]"):
                f.make_dual(x, lib.zeros(4, dtype=lib.float64))
            with pytest.raises(ValueError, match="Expected tangent to be floating point or complex, but got"):
                f.make_dual(x, lib.zeros(3, 4, dtype=lib.int64))
            with pytest.raises(ValueError, match="Expected primal to be floating point or complex, but got"):
                f.make_dual(lib.zeros(3, dtype=lib.int64), lib.zeros(3))
            with pytest.raises(RuntimeError, match="Invalid level given to _make_dual"):
                f.make_dual(x, x, level=3)
            d = f.make_dual(x, x)
            with pytest.raises(RuntimeError, match="already has a forward gradient at the same level 0"):
                f.make_dual(d, x)
            with pytest.raises(RuntimeError, match="not the last one that was created"):
                f.exit_dual_level(level=2)


def test_backward_through_make_dual_and_of_tangents():
    def run(lib):
        f = fw(lib)
        p = lib.tensor(X, requires_grad=True)
        v = lib.tensor(T, requires_grad=True)
        with f.dual_level():
            y = (f.make_dual(p, v).sin() * 3).sum()
            primal, tangent = f.unpack_dual(y)
            gp, gv = lib.autograd.grad(tangent, (p, v), retain_graph=True)    # reverse over forward
            (gpp,) = lib.autograd.grad(primal, p)
        return [gp, gv, gpp]
    both(run, atol=1e-12, rtol=1e-10)


def test_forward_over_reverse_hessian_vector_product():
    def run(lib):
        f = fw(lib)
        p = lib.tensor(X, requires_grad=True)
        with f.dual_level():
            x = f.make_dual(p, lib.tensor(T))
            (g,) = lib.autograd.grad((x.exp() * x).sum() + (x @ lib.tensor(W)).tanh().sum(), x)
            return [f.unpack_dual(g).tangent]
    both(run, atol=1e-10, rtol=1e-8)


def test_nested_levels_give_second_derivatives():
    f = ember.autograd.forward_ad
    x0, u, v = ember.tensor(X), ember.tensor(T), ember.tensor(T[::-1].copy())
    with f.dual_level() as outer:
        x = f.make_dual(x0, u, level=outer)
        with f.dual_level() as inner:
            y = f.make_dual(x, v, level=inner)
            out = (y.sin() * y).sum()
            d_inner = f.unpack_dual(out, level=inner).tangent
            d_both = f.unpack_dual(d_inner, level=outer).tangent
        assert f.unpack_dual(out, level=outer).tangent is not None
    xs, un, vn = X, T, T[::-1]
    second = (2 * np.cos(xs) - xs * np.sin(xs)) * un * vn   # d2/dx2 of x sin x, along u and v
    np.testing.assert_allclose(d_inner.numpy(), ((np.cos(xs) * xs + np.sin(xs)) * vn).sum(), rtol=1e-12)
    np.testing.assert_allclose(d_both.numpy(), second.sum(), rtol=1e-12)


def test_no_grad_does_not_stop_forward_ad():
    def run(lib):
        f = fw(lib)
        with lib.no_grad(), f.dual_level():
            return [f.unpack_dual(f.make_dual(lib.tensor(X), lib.tensor(T)).cos()).tangent]
    both(run, atol=1e-12, rtol=0)


def test_dual_level_is_a_decorator():
    f = ember.autograd.forward_ad

    @f.dual_level()
    def tangent():
        return f.unpack_dual(f.make_dual(ember.tensor(X), ember.tensor(T)) * 3).tangent
    assert_same(tangent(), torch.tensor(3 * T), 1e-12, 0)
    assert not f.state.levels


# Primitives whose forward rule is the generic one (ember.ops.dual.transposed_vjp: exact, from the
# reverse derivative, at the cost of a reverse pass through the derivative): decompositions whose
# tangents need the full spectral formulas, fused recurrent and CTC kernels, and internal helpers.
GENERIC_RULE = {
    "qr", "svd", "eig", "lu", "matrix_exp", "lstm_cell", "gru_cell", "lstm_seq", "gru_seq",
    "projection_with_recurrent_grad", "ctc_nll", "ctc_grad", "gelu_backward", "others", "scatter_reduce_extreme",
}


def test_every_differentiable_primitive_has_a_forward_rule():
    from ember.ops.registry import PRIMITIVES
    generic = {p.name for p in PRIMITIVES.values() if p.backward is not None and p.jvp_rule is None}
    assert generic == GENERIC_RULE, (
        f"primitives without a forward rule: {sorted(generic - GENERIC_RULE)} (declare one with @prim.jvp next to "
        f"the derivative, or list them here); listed but ruled now: {sorted(GENERIC_RULE - generic)}")
