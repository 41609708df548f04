"""Linear, Identity, Flatten, Unflatten against torch."""
import math

import numpy as np
import pytest
import torch

import ember
from tests.oracle import assert_same, check, check_layouts, gradcheck, rand


def _pair(in_f, out_f, bias=True):
    t = torch.nn.Linear(in_f, out_f, bias=bias)
    e = ember.nn.Linear(in_f, out_f, bias=bias)
    e.load_state_dict({k: ember.tensor(v.detach().cpu().numpy()) for k, v in t.state_dict().items()})
    return e, t


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(4, 3), (3,), (2, 5, 3), (0, 3)])
def test_linear_matches_torch(bias, shape):
    e, t = _pair(3, 2, bias)
    x = rand(*shape, seed=1)
    ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ey, ty = e(ex), t(tx)
    assert_same(ey, ty)
    up = rand(*ty.shape, seed=2)
    (ey * ember.tensor(up)).sum().backward()
    (ty * torch.tensor(up)).sum().backward()
    assert_same(ex.grad, tx.grad)
    for (name, ep), (_, tp) in zip(e.named_parameters(), t.named_parameters()):
        assert_same(ep.grad, tp.grad, what=name)


def test_linear_node_names():
    e, t = _pair(3, 2)
    assert e(ember.ones(4, 3)).grad_fn.name() == t(torch.ones(4, 3)).grad_fn.name() == "AddmmBackward0"
    e, t = _pair(3, 2, bias=False)
    assert e(ember.ones(4, 3)).grad_fn.name() == t(torch.ones(4, 3)).grad_fn.name()


def test_linear_nd_paths_match_torch():
    """N-d input: a contiguous one is flattened into one addmm (torch's ViewBackward0 on top), a strided
    one goes through matmul and an add (AddBackward0); values, gradients and node names as torch's."""
    e, t = _pair(3, 2)
    makers = (lambda lib: lib.ones(2, 4, 3), lambda lib: lib.ones(4, 2, 3).transpose(0, 1),
              lambda lib: lib.ones(2, 0, 3))
    for make in makers:
        assert e(make(ember)).grad_fn.name() == t(make(torch)).grad_fn.name()
    w, b = rand(2, 3, seed=8), rand(2, seed=9)
    check_layouts(lambda lib, x, w, b: lib.nn.functional.linear(x, w, b), rand(3, 4, 3, seed=10), w, b)
    gradcheck(lambda lib, x, w, b: lib.nn.functional.linear(x, w, b), rand(2, 3, 3, seed=11), w, b)


def test_linear_dtype_and_bias_errors_match_torch():
    cases = [((2, 3), "float64", (4, 3), "float32", None, None), ((2, 3), "float64", (4, 3), "float32", (4,), "float32"),
             ((2, 3), "float32", (4, 3), "float32", (4,), "float64"), ((2, 3), "float32", (4, 3), "float32", (5,), "float32"),
             ((2, 3), "bool", (4, 3), "bool", None, None)]
    for xs, xd, ws, wd, bs, bd in cases:
        messages = []
        for lib in (torch, ember):
            args = [lib.ones(xs, dtype=getattr(lib, xd)), lib.ones(ws, dtype=getattr(lib, wd))]
            if bs is not None:
                args.append(lib.ones(bs, dtype=getattr(lib, bd)))
            with pytest.raises((RuntimeError, NotImplementedError)) as info:
                lib.nn.functional.linear(*args)
            messages.append((info.type, str(info.value)))
        assert messages[0] == messages[1]


def test_linear_weight_gradient_is_kept_without_a_copy():
    """The weight's gradient is computed straight into the array that becomes ``.grad``."""
    e = ember.nn.Linear(5, 3)
    e(ember.ones(4, 5)).sum().backward()
    assert e.weight.grad._data.base is None and e.weight.grad.is_contiguous()
    np.testing.assert_allclose(e.weight.grad.cpu().numpy(), np.full((3, 5), 4.0))
    np.testing.assert_allclose(e.bias.grad.cpu().numpy(), np.full(3, 4.0))


def test_functional_linear_and_gradcheck():
    x, w, b = rand(4, 3, seed=3), rand(2, 3, seed=4), rand(2, seed=5)
    check(lambda lib, x, w, b: lib.nn.functional.linear(x, w, b), x, w, b)
    check(lambda lib, x, w, b: lib.nn.functional.linear(x, w, b), rand(2, 4, 3, seed=6), w, b)
    check(lambda lib, x, w: lib.nn.functional.linear(x, w), x, rand(3, seed=7))
    gradcheck(lambda lib, x, w, b: lib.nn.functional.linear(x, w, b), x, w, b)


def test_linear_default_init_bounds():
    ember.manual_seed(0)
    lin = ember.nn.Linear(50, 40)
    w, b = lin.weight.detach().cpu().numpy(), lin.bias.detach().cpu().numpy()
    bound = 1 / math.sqrt(50)  # kaiming_uniform_(a=sqrt(5)) gives the same bound as the bias
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(b).max() <= bound and np.abs(b).std() > 0
    assert lin.weight.requires_grad and isinstance(lin.weight, ember.nn.Parameter)


def test_linear_repr_and_state():
    e, t = _pair(3, 2)
    assert repr(e) == repr(t) == "Linear(in_features=3, out_features=2, bias=True)"
    assert repr(ember.nn.Linear(3, 2, bias=False)) == "Linear(in_features=3, out_features=2, bias=False)"
    assert list(ember.nn.Linear(3, 2, bias=False).state_dict()) == ["weight"]
    assert ember.nn.Linear(3, 2, dtype=ember.float64).weight.dtype == ember.float64


@pytest.mark.parametrize("shape,msg", [((4, 5), r"\(4x5 and 3x2\)"), ((2, 4, 5), r"\(8x5 and 3x2\)"),
                                       ((5,), r"\(1x5 and 3x2\)")])
def test_linear_shape_error(shape, msg):
    with pytest.raises(RuntimeError, match="mat1 and mat2 shapes cannot be multiplied " + msg):
        ember.nn.Linear(3, 2)(ember.ones(*shape))
    with pytest.raises(RuntimeError, match="mat1 and mat2 shapes cannot be multiplied " + msg):
        torch.nn.Linear(3, 2)(torch.ones(*shape))


def test_identity():
    x = ember.ones(2)
    assert ember.nn.Identity(5, key=1)(x) is x
    assert repr(ember.nn.Identity()) == "Identity()"


@pytest.mark.parametrize("args", [(), (0,), (1, 2), (0, -2)])
def test_flatten(args):
    check(lambda lib, x: lib.nn.Flatten(*args)(x), rand(2, 3, 4, seed=8))
    assert repr(ember.nn.Flatten(*args)) == repr(torch.nn.Flatten(*args))


@pytest.mark.parametrize("dim,size", [(1, (2, 3)), (-1, [3, 2]), (1, (-1, 2))])
def test_unflatten(dim, size):
    check(lambda lib, x: lib.nn.Unflatten(dim, size)(x), rand(4, 6, seed=9))
    assert repr(ember.nn.Unflatten(dim, size)) == repr(torch.nn.Unflatten(dim, size))
