"""Shape ops against torch: views (view/reshape/expand/permute/squeeze/..., diagonal, view(dtype)),
and the rearranging copies (repeat/tile, flip, roll, tril/triu, diag, diag_embed, trace)."""
import numpy as np
import pytest
import torch

import ember
from oracle import check, check_layouts, gradcheck, rand

A, B3 = rand(3, 4), rand(2, 3, 4, seed=1)

# (name, fn, input, node name or None)
SHAPE_OPS = [
    ("view", lambda m, x: x.view(4, 3), A, "ViewBackward0"),
    ("view_infer", lambda m, x: x.view(-1), A, "ViewBackward0"),
    ("reshape", lambda m, x: m.reshape(x, (2, -1)), A, "ViewBackward0"),
    ("flatten", lambda m, x: m.flatten(x, 1), B3, "ViewBackward0"),
    ("unflatten", lambda m, x: x.unflatten(1, (2, 2)), A, "ViewBackward0"),
    ("view_as", lambda m, x: x.view_as(m.zeros(2, 6)), A, "ViewBackward0"),
    ("reshape_as", lambda m, x: x.reshape_as(m.zeros(6, 2)), A, "ViewBackward0"),
    ("expand", lambda m, x: x.expand(2, 3, 4), A, "ExpandBackward0"),
    ("expand_as", lambda m, x: x[:1].expand_as(m.zeros(3, 4)), A, "ExpandBackward0"),
    ("permute", lambda m, x: x.permute(2, 0, 1), B3, "PermuteBackward0"),
    ("transpose", lambda m, x: x.transpose(0, -1), B3, "TransposeBackward0"),
    ("t", lambda m, x: x.t(), A, "TBackward0"),
    ("mT", lambda m, x: x.mT, B3, "TransposeBackward0"),
    ("unsqueeze", lambda m, x: x.unsqueeze(-1), A, "UnsqueezeBackward0"),
    ("squeeze_all", lambda m, x: x.reshape(1, 3, 1, 4).squeeze(), A, "SqueezeBackward0"),
    ("squeeze_dim", lambda m, x: x.reshape(1, 3, 1, 4).squeeze(2), A, "SqueezeBackward1"),
    ("squeeze_tuple", lambda m, x: x.reshape(1, 3, 1, 4).squeeze((0, 2)), A, "SqueezeBackward2"),
    ("squeeze_tuple_keep", lambda m, x: x.reshape(1, 3, 1, 4).squeeze((0, 1)), A, "SqueezeBackward2"),
    ("movedim", lambda m, x: m.movedim(x, (0, 1), (2, 0)), B3, "PermuteBackward0"),
    ("diagonal", lambda m, x: x.diagonal(), A, "DiagonalBackward0"),
    ("diagonal_offset", lambda m, x: m.diagonal(x, 1), A, "DiagonalBackward0"),
    ("diagonal_neg", lambda m, x: m.diagonal(x, -1, 0, 1), A, "DiagonalBackward0"),
    ("diagonal_dims", lambda m, x: x.diagonal(1, 2, 0), B3, "DiagonalBackward0"),
    ("repeat", lambda m, x: x.repeat(2, 1), A, "RepeatBackward0"),
    ("repeat_new_dims", lambda m, x: x.repeat(2, 1, 3), A, "RepeatBackward0"),
    ("tile", lambda m, x: x.tile((2,)), A, "RepeatBackward0"),
    ("tile_more", lambda m, x: m.tile(x, (2, 1, 2)), A, "RepeatBackward0"),
    ("flip", lambda m, x: x.flip(0), A, "FlipBackward0"),
    ("flip_tuple", lambda m, x: m.flip(x, (0, -1)), B3, "FlipBackward0"),
    ("fliplr", lambda m, x: m.fliplr(x), A, "FlipBackward0"),
    ("flipud", lambda m, x: x.flipud(), A, "FlipBackward0"),
    ("roll", lambda m, x: x.roll(1, 0), A, "RollBackward0"),
    ("roll_tuple", lambda m, x: m.roll(x, (1, -2), (1, 2)), B3, "RollBackward0"),
    ("roll_flat", lambda m, x: x.roll(5), A, "RollBackward0"),
    ("tril", lambda m, x: x.tril(), A, "TrilBackward0"),
    ("tril_k", lambda m, x: m.tril(x, -1), B3, "TrilBackward0"),
    ("triu", lambda m, x: x.triu(1), A, "TriuBackward0"),
    ("diag_vec", lambda m, x: m.diag(x[0]), A, "DiagEmbedBackward0"),
    ("diag_vec_offset", lambda m, x: m.diag(x[0], -2), A, "DiagEmbedBackward0"),
    ("diag_mat", lambda m, x: m.diag(x, 1), A, "DiagonalBackward0_copy"),
    ("diag_embed", lambda m, x: m.diag_embed(x), A, "DiagEmbedBackward0"),
    ("diag_embed_args", lambda m, x: m.diag_embed(x, 1, 0, 2), A, "DiagEmbedBackward0"),
    ("trace", lambda m, x: x.trace(), A, "TraceBackward0"),
    ("atleast_1d", lambda m, x: m.atleast_1d(x.sum()), A, None),
    ("atleast_2d", lambda m, x: m.atleast_2d(x[0]), A, "UnsqueezeBackward0"),
    ("atleast_3d", lambda m, x: m.atleast_3d(x), A, "UnsqueezeBackward0"),
    ("atleast_3d_vec", lambda m, x: m.atleast_3d(x[0]), A, "UnsqueezeBackward0"),
]


@pytest.mark.parametrize("name,fn,x,node", SHAPE_OPS, ids=[r[0] for r in SHAPE_OPS])
def test_against_torch(name, fn, x, node):
    out = check(fn, x)
    if node is not None:
        assert out.grad_fn.name() == node


NON_VIEW = {"repeat", "repeat_new_dims", "tile", "tile_more", "flip", "flip_tuple", "fliplr", "flipud", "roll",
            "roll_tuple", "roll_flat", "diag_mat", "squeeze_all"}


@pytest.mark.parametrize("name,fn,x,node", [r for r in SHAPE_OPS if "view" not in r[0] and "reshape" not in r[0]
                                            and "flatten" not in r[0] and r[0] not in NON_VIEW],
                         ids=[r[0] for r in SHAPE_OPS if "view" not in r[0] and "reshape" not in r[0]
                              and "flatten" not in r[0] and r[0] not in NON_VIEW])
def test_layouts(name, fn, x, node):
    check_layouts(fn, x)


GRADCHECK = ["view", "expand", "permute", "squeeze_tuple", "diagonal_offset", "diagonal_dims", "repeat_new_dims",
             "tile", "flip_tuple", "roll_tuple", "roll_flat", "tril_k", "triu", "diag_vec_offset", "diag_mat",
             "diag_embed_args", "trace", "movedim"]


@pytest.mark.parametrize("name", GRADCHECK)
def test_gradcheck(name):
    fn, x = next((r[1], r[2]) for r in SHAPE_OPS if r[0] == name)
    gradcheck(fn, x)


@pytest.mark.parametrize("fn", [lambda m, x: x.repeat(2, 3), lambda m, x: x.flip(0), lambda m, x: x.roll(1, 0),
                                lambda m, x: x.tril(), lambda m, x: m.diag(x), lambda m, x: x.trace(),
                                lambda m, x: x.diagonal(), lambda m, x: x.squeeze((0,))])
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_, np.float64])
def test_dtypes(fn, dtype):
    if dtype == np.bool_ and fn(torch, torch.ones(1, 1)).dim() == 0:
        return  # trace: covered in test_int_trace_and_repeat_grad_values
    check(fn, rand(3, 3, dtype=dtype, low=-5, high=5), grad=False)


@pytest.mark.parametrize("fn", [lambda m, x: x.repeat(2, 1), lambda m, x: x.flip(1), lambda m, x: x.roll(1, 1),
                                lambda m, x: x.tril(), lambda m, x: x.diagonal(), lambda m, x: m.diag_embed(x),
                                lambda m, x: x.repeat(0, 2), lambda m, x: x.squeeze((0, 1)), lambda m, x: x.view(3, 0)])
def test_empty(fn):
    check(fn, rand(0, 3))


@pytest.mark.parametrize("fn", [lambda m, x: x.repeat(2), lambda m, x: x.flip(()), lambda m, x: x.roll(1),
                                lambda m, x: m.atleast_3d(x), lambda m, x: x.squeeze(),
                                lambda m, x: x.view(1, 1), lambda m, x: m.atleast_1d(x)])
def test_zero_dim(fn):
    check(fn, rand())


def test_large():
    x = rand(64, 128)
    check(lambda m, x: x.repeat(2, 2).roll((3, -5), (0, 1)).flip(1).tril(3).diagonal(2), x)


# views share memory and the version counter ------------------------------------------------------

@pytest.mark.parametrize("make", [lambda x: x.view(12), lambda x: x.diagonal(), lambda x: x.t(),
                                  lambda x: x.unsqueeze(0), lambda x: x.view(ember.int32), lambda x: x.squeeze((0,)),
                                  lambda x: x.permute(1, 0), lambda x: x.mT, lambda x: x.diagonal(0, 1, 0)])
def test_views_share_memory(make):
    x = ember.zeros(3, 4)
    v = make(x)
    assert v._base is x and v._version is x._version
    before = x._version[0]
    v[(0,) * v.dim()] = 1 if v.dtype == ember.int32 else 7.0
    assert x._version[0] == before + 1
    assert x[0, 0].item() != 0.0


def test_diagonal_write_and_inplace_gradient():
    for m in (ember, torch):
        x = m.zeros(3, 4)
        x.diagonal(1).add_(2.0)
        assert x.sum().item() == 6.0 and x[0, 1].item() == 2.0
    check(lambda m, x: (x * 1).diagonal().mul_(3).sum() + x.sum(), A)


def test_view_dtype_reinterprets_bits():
    for src, dst in [(np.float32, "int32"), (np.float32, "int16"), (np.int64, "float64"), (np.int16, "float32"),
                     (np.float64, "uint8")]:
        x = rand(2, 4, dtype=src, low=-3, high=3)
        check(lambda m, t: t.view(getattr(m, dst)), x, grad=False)
    e = ember.tensor([1.0], requires_grad=True)
    assert not e.view(ember.int32).requires_grad
    assert e.view(ember.float32) is e


@pytest.mark.parametrize("fn", [
    lambda m: m.zeros(2, 3).view(m.float64),
    lambda m: m.zeros(()).view(m.int16),
    lambda m: m.zeros(3, 4)[:, ::2].view(m.int16),
    lambda m: m.zeros(2, 3).view(4, 2),
    lambda m: m.zeros(2, 3).t().view(6),
    lambda m: m.zeros(2).repeat(2, 1, 1)[0].repeat(1),
    lambda m: m.zeros(3).tril(),
    lambda m: m.zeros(3).triu(),
    lambda m: m.zeros(2, 2, 2).diag(),
    lambda m: m.zeros(2, 3, 4).trace(),
    lambda m: m.zeros(3).fliplr(),
    lambda m: m.zeros(()).flipud(),
    lambda m: m.zeros(2, 3).roll((1, 2), 0),
    lambda m: m.zeros(2, 3).diagonal(0, 1, 1),
    lambda m: m.zeros(2, 3).expand(3, 3),
    lambda m: m.zeros(2, 3).repeat(-1, 1),
], ids=lambda f: "")
def test_errors(fn):
    with pytest.raises(RuntimeError) as torch_err:
        fn(torch)
    with pytest.raises(RuntimeError) as ember_err:
        fn(ember)
    if "view size" in str(torch_err.value):  # ember's message also names the shapes
        assert str(ember_err.value).startswith("view size is not compatible with input tensor's size and stride")
    elif "negative dimension" not in str(torch_err.value):
        assert str(ember_err.value) == str(torch_err.value)


def test_inplace_triangles():
    for m in (ember, torch):
        x = m.tensor(A.copy())
        assert x.tril_(-1) is x and x[0].abs().sum().item() == 0
    check(lambda m, x: (x * 1).triu_(1), A)


def test_int_trace_and_repeat_grad_values():
    check(lambda m, x: x.trace(), rand(3, 3, dtype=np.int32), grad=False)
    for m in (ember, torch):
        with pytest.raises(NotImplementedError, match="trace"):
            m.ones(2, 2, dtype=m.bool).trace()
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    x.repeat(3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


@pytest.mark.parametrize("shape,target,dtype", [
    ((), (5,), "float32"), ((3, 1), (2, 3, 4), "float64"), ((1, 4), (3, 4), "bool"), ((2, 1), (2, 2), "int64"),
    ((1,), (0, 1), "float32"), ((3, 1), (3, 5), "bfloat16"),
])
def test_expand_of_a_contiguous_array_is_a_read_only_view(shape, target, dtype):
    """The view is made directly for C-contiguous inputs (``shape._broadcast_view``): the same values and
    strides as NumPy's broadcast_to (where a dim has more than one element), the input's memory, and not
    writable."""
    x = ember.ones(shape, dtype=getattr(ember, dtype)) if shape else ember.tensor(2.0)
    out = x.expand(*target)._data
    want = np.broadcast_to(x._data, target)
    assert out.shape == want.shape and out.dtype == want.dtype
    assert all(a == b for a, b, n in zip(out.strides, want.strides, target) if n > 1)
    np.testing.assert_array_equal(out.astype(np.float64), want.astype(np.float64))
    assert np.shares_memory(out, x._data) or out.size == 0
    assert not out.flags.writeable
