"""The nn.functional additions against torch: grid_sample/affine_grid (values and gradients in every
mode, padding and alignment), the shrinks, rrelu, gumbel_softmax, in-place forms, *_with_indices,
grouped_mm, linear_cross_entropy and the torch-function helpers (values elsewhere: tests/opdb)."""
import itertools
import warnings

import numpy as np
import pytest
import torch

import ember
import ember.nn.functional as F  # noqa: N812 (torch convention)
from oracle import check, gradcheck, rand

MODES = [(nd, mode, pad, align) for nd, mode, pad, align in itertools.product(
    (2, 3), ("bilinear", "nearest", "bicubic"), ("zeros", "border", "reflection"), (False, True))
    if not (nd == 3 and mode == "bicubic")]


@pytest.mark.parametrize("nd,mode,pad,align", MODES)
def test_grid_sample_values_and_grads_match_torch(nd, mode, pad, align):
    spatial = (4, 5) if nd == 2 else (3, 4, 2)
    x = rand(2, 3, *spatial, seed=1)
    grid = rand(2, 3, 2, *(() if nd == 2 else (2,)), nd, low=-1.4, high=1.4, seed=2)  # outside [-1, 1] too
    check(lambda lib, x, g: lib.nn.functional.grid_sample(x, g, mode, pad, align), x, grid, atol=1e-5)


@pytest.mark.parametrize("mode,pad,align", [("bilinear", "reflection", False), ("bicubic", "border", True),
                                            ("bilinear", "zeros", True)])
def test_grid_sample_gradcheck(mode, pad, align):
    x = rand(1, 2, 3, 3, dtype=np.float64, seed=3)
    grid = rand(1, 2, 2, 2, dtype=np.float64, low=-1.2, high=1.2, seed=4)
    gradcheck(lambda lib, x, g: lib.nn.functional.grid_sample(x, g, mode, pad, align), x, grid)


def test_grid_sample_warns_and_errors_like_torch():
    x, g = ember.zeros(1, 2, 3, 3), ember.zeros(1, 2, 2, 2)
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        F.grid_sample(x, g)
    with pytest.raises(ValueError, match="expected mode to be 'bilinear', 'nearest' or 'bicubic', but got: 'area'"):
        F.grid_sample(x, g, mode="area", align_corners=False)
    with pytest.raises(ValueError, match="expected padding_mode"):
        F.grid_sample(x, g, padding_mode="wrap", align_corners=False)
    with pytest.raises(RuntimeError, match=r"expected grid to have size 2 in last dimension, but got grid with sizes "
                                           r"\[1, 2, 2, 3\]"):
        F.grid_sample(x, ember.zeros(1, 2, 2, 3), align_corners=False)
    with pytest.raises(RuntimeError, match="same batch size"):
        F.grid_sample(x, ember.zeros(2, 2, 2, 2), align_corners=False)
    with pytest.raises(RuntimeError, match="bicubic interpolation only supports 4D input"):
        F.grid_sample(ember.zeros(1, 1, 2, 2, 2), ember.zeros(1, 1, 1, 1, 3), mode="bicubic", align_corners=False)


@pytest.mark.parametrize("size,align", [((2, 3, 4, 5), False), ((2, 3, 4, 5), True), ((2, 1, 3, 2, 4), False),
                                        ((2, 1, 3, 2, 4), True), ((2, 1, 1, 3), False)])
def test_affine_grid_matches_torch(size, align):
    nd = len(size) - 2
    theta = rand(2, nd, nd + 1, seed=5)
    check(lambda lib, th: lib.nn.functional.affine_grid(th, size, align_corners=align), theta)


def test_affine_grid_then_grid_sample_is_the_identity_for_the_identity_map():
    x = ember.randn(2, 3, 5, 4)
    theta = ember.eye(2, 3).expand(2, 2, 3)
    out = F.grid_sample(x, F.affine_grid(theta, x.shape, align_corners=True), align_corners=True)
    assert ember.allclose(out, x, atol=1e-6)


def test_affine_grid_errors_like_torch():
    with pytest.raises(ValueError, match="Expected a batch of 2D affine matrices of shape Nx2x3 for size"):
        F.affine_grid(ember.zeros(1, 3, 4), (1, 1, 2, 2), align_corners=False)
    with pytest.raises(ValueError, match="floating point type"):
        F.affine_grid(ember.zeros(1, 2, 3, dtype=ember.int64), (1, 1, 2, 2), align_corners=False)
    with pytest.raises(NotImplementedError, match="affine_grid only supports 4D and 5D sizes"):
        F.affine_grid(ember.zeros(1, 2, 3), (1, 1, 2), align_corners=False)
    with pytest.raises(ValueError, match="Expected non-zero, positive output size"):
        F.affine_grid(ember.zeros(1, 2, 3), (1, 0, 2, 2), align_corners=False)


def test_channel_shuffle_and_its_errors():
    check(lambda lib, x: lib.nn.functional.channel_shuffle(x, 3), rand(2, 6, 4))
    check(lambda lib, x: lib.nn.ChannelShuffle(2)(x), rand(2, 4, 3, 3))
    with pytest.raises(RuntimeError, match="Number of channels must be divisible by groups. Got 6 channels and 4"):
        F.channel_shuffle(ember.zeros(1, 6, 2), 4)
    with pytest.raises(RuntimeError, match="channel_shuffle expects input with > 2 dims"):
        F.channel_shuffle(ember.zeros(6), 2)
    with pytest.raises(RuntimeError, match="must be positive"):
        F.channel_shuffle(ember.zeros(1, 6, 2), 0)


@pytest.mark.parametrize("name,kw", [("hardshrink", {"lambd": 0.7}), ("softshrink", {"lambd": 0.3}),
                                     ("tanhshrink", {}), ("rrelu", {"lower": 0.2, "upper": 0.4})])
def test_activation_modules_match_torch(name, kw):
    cls = {"hardshrink": "Hardshrink", "softshrink": "Softshrink", "tanhshrink": "Tanhshrink", "rrelu": "RReLU"}[name]
    check(lambda lib, x: getattr(lib.nn, cls)(**kw).eval()(x), rand(3, 4))
    assert repr(getattr(ember.nn, cls)(**kw)) == repr(getattr(torch.nn, cls)(**kw))


def test_softshrink_rejects_negative_lambda():
    with pytest.raises(RuntimeError, match="lambda must be in range"):
        F.softshrink(ember.zeros(2), -1.0)
    with pytest.raises(RuntimeError, match="Lower bound should be less than or equal to the upper bound"):
        F.rrelu(ember.zeros(2), 0.5, 0.1)


def test_rrelu_training_slopes_lie_between_the_bounds_and_are_the_gradient():
    x = ember.full((2000,), -1.0, requires_grad=True)
    y = F.rrelu(x, 0.1, 0.3, training=True)
    slopes = -y.detach().cpu().numpy()
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and slopes.std() > 0.03
    y.sum().backward()
    assert np.allclose(x.grad.cpu().numpy(), slopes)
    assert np.array_equal(F.rrelu(ember.ones(5), training=True).cpu().numpy(), np.ones(5))


def test_softmax2d_matches_torch_and_checks_dims():
    check(lambda lib, x: lib.nn.Softmax2d()(x), rand(2, 3, 4, 5))
    check(lambda lib, x: lib.nn.Softmax2d()(x), rand(3, 4, 5))
    with pytest.raises(ValueError, match="Softmax2d: expected input to be 3D or 4D, got 2D instead"):
        ember.nn.Softmax2d()(ember.zeros(2, 3))


def test_gumbel_softmax_is_a_distribution_with_straight_through_hard_samples():
    logits = ember.tensor([[0.0, 3.0, -1.0]] * 4000, requires_grad=True)
    soft = F.gumbel_softmax(logits, tau=0.5)
    assert np.allclose(soft.detach().cpu().numpy().sum(1), 1.0, atol=1e-5)
    hard = F.gumbel_softmax(logits, hard=True)
    h = hard.detach().cpu().numpy()
    assert set(np.unique(h)) <= {0.0, 1.0} and np.all(h.sum(1) == 1)
    freq = h.mean(0)
    expected = torch.softmax(torch.tensor([0.0, 3.0, -1.0]), 0).cpu().numpy()  # Gumbel-max samples the softmax
    assert np.allclose(freq, expected, atol=0.03)
    (hard * ember.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert logits.grad is not None and float(logits.grad.abs().sum()) > 0
    with pytest.warns(UserWarning, match="`eps` parameter is deprecated"):
        F.gumbel_softmax(logits, eps=1e-3)


@pytest.mark.parametrize("name,args", [("elu_", (0.5,)), ("celu_", (0.7,)), ("selu_", ()), ("leaky_relu_", (0.2,)),
                                       ("hardtanh_", (-0.5, 0.5)), ("threshold_", (0.1, 9.0)), ("relu_", ()),
                                       ("rrelu_", (0.2, 0.3))])
def test_inplace_forms_write_into_their_input(name, args):
    x = rand(3, 4)
    e, t = ember.tensor(x), torch.tensor(x)
    assert getattr(F, name)(e, *args) is e
    getattr(torch.nn.functional, name)(t, *args)
    assert np.allclose(e.cpu().numpy(), t.cpu().numpy(), atol=1e-6)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_with_indices_forms_match_torch(nd):
    x = rand(2, 3, *(6, 5, 4)[:nd])
    check(lambda lib, x: getattr(lib.nn.functional, f"max_pool{nd}d_with_indices")(x, 2, 1), x)
    check(lambda lib, x: getattr(lib.nn.functional, f"adaptive_max_pool{nd}d_with_indices")(x, 2), x)


def test_grouped_mm_matches_torch_and_zeroes_rows_past_the_last_offset():
    a, b = rand(8, 8, seed=1), rand(3, 8, 8, seed=2)
    check(lambda lib, a, b, o: lib.nn.functional.grouped_mm(a, b, offs=o), a, b, np.array([2, 5, 8], dtype=np.int32))
    check(lambda lib, a, b, o: lib.nn.functional.grouped_mm(a, b, offs=o), rand(8, 16), rand(16, 8),
          np.array([4, 8, 16], dtype=np.int32))
    out = F.grouped_mm(ember.tensor(a), ember.tensor(b), offs=ember.tensor(np.array([2, 4, 6], dtype=np.int32)))
    assert np.all(out[6:].cpu().numpy() == 0)
    with pytest.raises(RuntimeError, match="offs must be given"):
        F.grouped_mm(ember.tensor(a), ember.tensor(b))


@pytest.mark.parametrize("kw", [{}, {"reduction": "sum", "label_smoothing": 0.1}, {"ignore_index": 1},
                                {"reduction": "none"}])
def test_linear_cross_entropy_and_its_module_match_torch(kw):
    x, w = rand(5, 4, seed=1), rand(3, 4, seed=2)
    target = np.array([0, 1, 2, 1, 0])
    check(lambda lib, x, w, b, t: lib.nn.functional.linear_cross_entropy(x, w, t, linear_bias=b, **kw),
          x, w, rand(3, seed=3), target)
    loss_t = torch.nn.LinearCrossEntropyLoss(4, 3, out_features=(2,), bias=True, **kw)
    loss_e = ember.nn.LinearCrossEntropyLoss(4, 3, out_features=(2,), bias=True, **kw)
    loss_e.load_state_dict({k: ember.tensor(v.cpu().numpy()) for k, v in loss_t.state_dict().items()})
    t2 = np.array([[0, 2], [1, 1], [2, 0], [0, 0], [1, 2]])
    assert np.allclose(loss_e(ember.tensor(x), ember.tensor(t2)).detach().cpu().numpy(),
                       loss_t(torch.tensor(x), torch.tensor(t2)).detach().cpu().numpy(), atol=1e-5)
    assert repr(loss_e) == repr(loss_t)
    with pytest.raises(ValueError, match="batch_chunk_size must be positive int or None, got 0"):
        ember.nn.LinearCrossEntropyOptions(batch_chunk_size=0)


def test_torch_function_helpers_dispatch_to_overriding_types():
    class Tracked:
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            return ("handled", func.__name__, types)

    def my_op(a, b):
        if F.has_torch_function_variadic(a, b):
            return F.handle_torch_function(my_op, (a, b), a, b)
        return a + b

    assert my_op(ember.ones(1), 1.0).item() == 2.0
    assert my_op(ember.ones(1), Tracked()) == ("handled", "my_op", (Tracked,))
    assert not F.has_torch_function((ember.ones(1), 2)) and F.has_torch_function_unary(Tracked())

    class Declines:
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            return NotImplemented
    with pytest.raises(TypeError, match="no implementation found for"):
        F.handle_torch_function(my_op, (Declines(),), Declines())


def test_boolean_dispatch_and_assert_int_or_pair():
    fn = F.boolean_dispatch("flag", 1, False, lambda x, flag=False: ("true", x), lambda x, flag=False: ("false", x),
                            __name__, "fn")
    assert fn(1) == ("false", 1) and fn(1, True) == ("true", 1) and fn(1, flag=True) == ("true", 1)
    F.assert_int_or_pair(3, "kernel", "{} bad")
    F.assert_int_or_pair((1, 2), "kernel", "{} bad")
    with pytest.raises(AssertionError, match="kernel bad"):
        F.assert_int_or_pair((1, 2, 3), "kernel", "{} bad")


def test_sdpa_kernel_selection_follows_torch_on_the_cpu():
    from ember.nn.attention import SDPBackend, sdpa_kernel
    q = ember.randn(1, 2, 3, 4)
    with sdpa_kernel([SDPBackend.FLASH_ATTENTION]):
        F.scaled_dot_product_attention(q, q, q)
    with sdpa_kernel(SDPBackend.EFFICIENT_ATTENTION), pytest.raises(RuntimeError, match="No viable backend"):
        F.scaled_dot_product_attention(q, q, q)
    with pytest.raises(ValueError, match="Backend must be an instance of SDPBackend"):
        with sdpa_kernel("math"):
            pass
    assert {b.name: int(b) for b in SDPBackend} == {n: int(v) for n, v in torch.nn.attention.SDPBackend.__members__.items()}


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_nn_grad_conv_gradients_match_torch(nd):
    x = torch.randn(2, 4, *(6, 5, 4)[:nd], dtype=torch.float64)
    w = torch.randn(6, 2, *(3, 2, 2)[:nd], dtype=torch.float64)
    g = torch.randn(*getattr(torch.nn.functional, f"conv{nd}d")(x, w, None, 2, 1, 1, 2).shape, dtype=torch.float64)
    e = lambda t: ember.tensor(t.cpu().numpy())  # noqa: E731
    got = getattr(ember.nn.grad, f"conv{nd}d_input")(x.shape, e(w), e(g), 2, 1, 1, 2)
    want = getattr(torch.nn.grad, f"conv{nd}d_input")(x.shape, w, g, 2, 1, 1, 2)
    assert np.allclose(got.cpu().numpy(), want.cpu().numpy())
    got = getattr(ember.nn.grad, f"conv{nd}d_weight")(e(x), w.shape, e(g), 2, 1, 1, 2)
    want = getattr(torch.nn.grad, f"conv{nd}d_weight")(x, w.shape, g, 2, 1, 1, 2)
    assert np.allclose(got.cpu().numpy(), want.cpu().numpy())


def test_factory_kwargs_matches_torch():
    for kw in ({"device": "cpu"}, {"dtype": 1, "factory_kwargs": {"device": "cpu"}}, None):
        assert ember.nn.factory_kwargs(kw) == torch.nn.factory_kwargs(kw)
    for kw in ({"other": 1}, {"device": "cpu", "factory_kwargs": {"device": "cpu"}}):
        with pytest.raises(TypeError):
            ember.nn.factory_kwargs(kw)


def test_deprecated_names_warn_like_torch():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ember.nn.NLLLoss2d()
        ember.nn.Container(a=ember.nn.Linear(1, 1))
        ember.nn.init.uniform(ember.empty(2))
        ember.nn.utils.clip_grad_norm([ember.nn.Parameter(ember.ones(1))], 1.0)
    assert [w.category for w in caught] == [FutureWarning] * 4
    assert "`nn.init.uniform` is now deprecated in favor of `nn.init.uniform_`." in str(caught[2].message)
