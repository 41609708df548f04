"""F.scaled_dot_product_attention, F.multi_head_attention_forward and nn.MultiheadAttention against torch."""
import numpy as np
import pytest
import torch

import ember
from tests.oracle import assert_same, check, gradcheck, rand


def _causal_float(lib, n, s):
    return lib.zeros(n, s).masked_fill(lib.ones(n, s, dtype=lib.bool).triu(1), float("-inf"))


SDPA_CASES = {
    "plain": ((2, 3, 4), (2, 5, 4), (2, 5, 6), {}),
    "heads": ((2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 5), {}),
    "unbatched": ((3, 4), (5, 4), (5, 2), {}),
    "broadcast_batch": ((1, 3, 4), (2, 5, 4), (2, 5, 6), {}),
    "causal": ((2, 4, 4), (2, 4, 4), (2, 4, 3), {"is_causal": True}),
    "causal_rect": ((2, 5, 4), (2, 3, 4), (2, 3, 3), {"is_causal": True}),
    "scale": ((2, 3, 4), (2, 5, 4), (2, 5, 6), {"scale": 0.3}),
    "empty_keys": ((2, 3, 4), (2, 0, 4), (2, 0, 6), {}),
    "empty_batch": ((0, 3, 4), (0, 5, 4), (0, 5, 6), {}),
}


@pytest.mark.parametrize("case", list(SDPA_CASES))
def test_sdpa_matches_torch(case):
    qs, ks, vs, kw = SDPA_CASES[case]
    check(lambda lib, q, k, v: lib.nn.functional.scaled_dot_product_attention(q, k, v, **kw),
          rand(*qs, seed=1), rand(*ks, seed=2), rand(*vs, seed=3))


@pytest.mark.parametrize("kind", ["bool", "float", "bool_full_row", "float_full_row", "bool_batched"])
def test_sdpa_masks(kind):
    """Bool masks keep True; float masks add; a row with every key masked gives zeros and zero gradients."""
    m = rand(3, 5, dtype=np.bool_, seed=4)
    m[:, 0] = True
    if kind.startswith("float"):
        m = np.where(m, rand(3, 5, seed=5), -np.inf).astype(np.float32)
    if kind.endswith("full_row"):
        m[1] = False if m.dtype == np.bool_ else -np.inf
    if kind == "bool_batched":
        m = rand(2, 1, 3, 5, dtype=np.bool_, seed=6)
        m[..., 0] = True

    def fn(lib, q, k, v):
        mask = lib.tensor(m)
        return lib.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)

    check(fn, rand(2, 2, 3, 4, seed=7), rand(2, 2, 5, 4, seed=8), rand(2, 2, 5, 6, seed=9))


def test_sdpa_noncontiguous_and_gqa():
    check(lambda lib, q, k, v: lib.nn.functional.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2),
                                                                               v.transpose(1, 2)),
          rand(2, 3, 2, 4, seed=10), rand(2, 5, 2, 4, seed=11), rand(2, 5, 2, 4, seed=12))
    check(lambda lib, q, k, v: lib.nn.functional.scaled_dot_product_attention(q, k, v, enable_gqa=True),
          rand(2, 4, 3, 4, seed=13), rand(2, 2, 5, 4, seed=14), rand(2, 2, 5, 6, seed=15))


def test_sdpa_float64_and_large():
    check(lambda lib, q, k, v: lib.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True),
          rand(2, 3, 4, dtype=np.float64, seed=16), rand(2, 3, 4, dtype=np.float64, seed=17),
          rand(2, 3, 4, dtype=np.float64, seed=18))
    check(lambda lib, q, k, v: lib.nn.functional.scaled_dot_product_attention(q, k, v),
          rand(4, 4, 64, 32, seed=19), rand(4, 4, 64, 32, seed=20), rand(4, 4, 64, 32, seed=21))


def test_sdpa_gradcheck():
    q, k, v = rand(2, 3, 4, seed=22), rand(2, 4, 4, seed=23), rand(2, 4, 2, seed=24)
    m = np.array([[1, 1, 0, 0], [0, 0, 0, 0], [1, 0, 1, 1]], dtype=bool)
    gradcheck(lambda lib, q, k, v: lib.nn.functional.scaled_dot_product_attention(q, k, v), q, k, v)
    gradcheck(lambda lib, q, k, v: lib.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=lib.tensor(m)),
              q, k, v)
    gradcheck(lambda lib, q, k, v: lib.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True, scale=.7),
              q, rand(2, 3, 4, seed=25), rand(2, 3, 2, seed=26))


SDPA_ERRORS = [
    (((4,), (4,), (4,)), {}, "at least 2 dimensional, but got query.dim: 1 key.dim: 1 and value.dim: 1"),
    (((2, 3, 4), (2, 5, 4), (2, 5, 6)), {"attn_mask": "bool", "is_causal": True},
     "Explicit attn_mask should not be set when is_causal=True"),
    (((2, 3, 4), (2, 5, 4), (2, 5, 6)), {"attn_mask": "long"},
     r"attn_mask dtype to be bool or float or to match query dtype, but got attn_mask.dtype: long int and  "
     r"query.dtype: float"),
    (((2, 3, 4), (2, 5, 4), (2, 5, 6)), {"v_dtype": "double"},
     "same dtype, but got query.dtype: float key.dtype: float and value.dtype: double instead"),
    (((2, 4, 3, 4), (2, 3, 5, 4), (2, 3, 5, 4)), {"enable_gqa": True},
     "Number of heads in key and value must divide the number of heads in"),
]


@pytest.mark.parametrize("shapes,kw,msg", SDPA_ERRORS)
def test_sdpa_errors(shapes, kw, msg):
    for lib in (ember, torch):
        q, k, v = (lib.ones(*s) for s in shapes)
        args = dict(kw)
        if args.pop("v_dtype", None):
            v = v.double()
        mask = args.pop("attn_mask", None)
        if mask:
            args["attn_mask"] = lib.ones(shapes[0][-2], shapes[1][-2], dtype=getattr(lib, mask))
        with pytest.raises(RuntimeError, match=msg):
            lib.nn.functional.scaled_dot_product_attention(q, k, v, **args)


# MultiheadAttention ----------------------------------------------------------------------------


def _mha_pair(*args, **kw):
    torch.manual_seed(0)
    t = torch.nn.MultiheadAttention(*args, **kw)
    with torch.no_grad():  # non-zero biases, so a bias gradient that is wrong shows
        for p in t.parameters():
            p.add_(torch.rand_like(p) * 0.2)
    e = ember.nn.MultiheadAttention(*args, **kw)
    e.load_state_dict({k: ember.tensor(v.detach().cpu().numpy()) for k, v in t.state_dict().items()})
    return e, t


def run_mha_both(e, t, q, k, v, **kw):
    """Runs both modules on the same inputs (and masks given as NumPy), compares outputs, weights, input and
    parameter gradients."""
    ins = [q] if k is None else [q, k, v]
    e_in = [ember.tensor(x, requires_grad=True) for x in ins]
    t_in = [torch.tensor(x, requires_grad=True) for x in ins]
    ekw = {n: ember.tensor(a) if isinstance(a, np.ndarray) else a for n, a in kw.items()}
    tkw = {n: torch.tensor(a) if isinstance(a, np.ndarray) else a for n, a in kw.items()}
    e_args = e_in * 3 if k is None else e_in
    t_args = t_in * 3 if k is None else t_in
    eo, ew = e(*e_args, **ekw)
    to, tw = t(*t_args, **tkw)
    assert_same(eo, to, what="output")
    assert (ew is None) == (tw is None)
    if tw is not None:
        assert_same(ew, tw, what="weights")
    up = rand(*to.shape, seed=99)
    loss_e = (eo * ember.tensor(up)).sum() + (0 if ew is None else (ew * ew).nan_to_num().sum())
    loss_t = (to * torch.tensor(up)).sum() + (0 if tw is None else (tw * tw).nan_to_num().sum())
    loss_e.backward()
    loss_t.backward()
    for i, (a, b) in enumerate(zip(e_in, t_in)):
        assert_same(a.grad, b.grad, atol=1e-4, what=f"grad of input {i}")
    for (name, ep), (tname, tp) in zip(e.named_parameters(), t.named_parameters()):
        assert name == tname
        assert_same(ep.grad, tp.grad, atol=1e-4, what=name)
    return eo, ew


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("average", [True, False])
@pytest.mark.parametrize("batch_first", [False, True])
def test_mha_self_attention(need_weights, average, batch_first):
    e, t = _mha_pair(8, 2, batch_first=batch_first)
    run_mha_both(e, t, rand(3, 4, 8, seed=1), None, None, need_weights=need_weights,
                 average_attn_weights=average)


@pytest.mark.parametrize("kw", [{}, {"kdim": 3, "vdim": 5}, {"bias": False}, {"add_bias_kv": True},
                                {"add_zero_attn": True}, {"add_bias_kv": True, "add_zero_attn": True}])
@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_cross_attention_options(kw, need_weights):
    e, t = _mha_pair(6, 3, **kw)
    kd, vd = kw.get("kdim", 6), kw.get("vdim", 6)
    kpm = np.zeros((2, 5), dtype=bool)
    kpm[0, 3:] = True
    attn = rand(4, 5, dtype=np.bool_, seed=3)
    attn[:, 0] = False
    run_mha_both(e, t, rand(4, 2, 6, seed=4), rand(5, 2, kd, seed=5), rand(5, 2, vd, seed=6),
                 key_padding_mask=kpm, attn_mask=attn, need_weights=need_weights)


@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_masks(need_weights):
    e, t = _mha_pair(4, 2, batch_first=True)
    x = rand(2, 3, 4, seed=7)
    run_mha_both(e, t, x, None, None, attn_mask=rand(3, 3, seed=8), need_weights=need_weights)
    run_mha_both(e, t, x, None, None, attn_mask=rand(4, 3, 3, seed=9), need_weights=need_weights)
    causal = np.triu(np.full((3, 3), -np.inf, dtype=np.float32), 1)
    run_mha_both(e, t, x, None, None, attn_mask=causal, is_causal=True, need_weights=need_weights)
    run_mha_both(e, t, x, None, None, key_padding_mask=rand(2, 3, seed=10), need_weights=need_weights)


def test_mha_batch_first_self_attention_path():
    """Batch-first self-attention without weights runs in its own layout (q, k, v strided views of one
    projection): both masks at once, bool masks, fully masked rows and an unbiased module match torch."""
    e, t = _mha_pair(6, 3, batch_first=True)
    x = rand(2, 4, 6, seed=12)
    kpm = np.array([[False, False, True, True], [True, True, True, True]])  # batch 1: every key padded
    attn = rand(4, 4, dtype=np.bool_, seed=13)
    attn[:, 0] = False
    out, _ = run_mha_both(e, t, x, None, None, key_padding_mask=kpm[:1].repeat(2, 0), attn_mask=attn,
                          need_weights=False)
    assert out.is_contiguous()  # the batch-first path, not a transposed sequence-first result
    run_mha_both(e, t, x, None, None, key_padding_mask=kpm, need_weights=False)
    run_mha_both(e, t, x, None, None, attn_mask=rand(6, 4, 4, seed=14), key_padding_mask=rand(2, 4, seed=15),
                 need_weights=False)
    e, t = _mha_pair(6, 2, batch_first=True, bias=False)
    run_mha_both(e, t, x, None, None, need_weights=False)


def test_mha_batch_first_path_dropout_matches_sequence_first():
    """With dropout, the batch-first path draws the same mask as the sequence-first functional form."""
    e, _ = _mha_pair(8, 2, batch_first=True, dropout=0.5)
    x = ember.tensor(rand(3, 5, 8, seed=16))
    ember.manual_seed(7)
    fast, _ = e(x, x, x, need_weights=False)
    ember.manual_seed(7)
    xs = x.transpose(0, 1)
    slow, _ = ember.nn.functional.multi_head_attention_forward(
        xs, xs, xs, 8, 2, e.in_proj_weight, e.in_proj_bias, None, None, False, 0.5, e.out_proj.weight,
        e.out_proj.bias, training=True, need_weights=False)
    np.testing.assert_allclose(fast.detach().cpu().numpy(), slow.transpose(0, 1).detach().cpu().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kw, match", [({"x": (2, 4, 5)}, "was expecting embedding dimension of 6, but got 5"),
                                       ({"attn_mask": (5, 4, 4)}, "The shape of the 3D attn_mask is"),
                                       ({"is_causal": True}, "Need attn_mask if specifying the is_causal hint")])
def test_mha_batch_first_path_errors(kw, match):
    e, t = _mha_pair(6, 3, batch_first=True)
    x = rand(*kw.pop("x", (2, 4, 6)), seed=17)
    extra = {k: rand(*v, seed=18) if isinstance(v, tuple) else v for k, v in kw.items()}
    raised = []
    for lib, m in ((torch, t), (ember, e)):
        xx = lib.tensor(x)
        with pytest.raises((AssertionError, RuntimeError), match=match) as info:
            m(xx, xx, xx, need_weights=False, **{k: lib.tensor(v) if isinstance(v, np.ndarray) else v
                                                for k, v in extra.items()})
        raised.append(info.type)
    assert raised[0] is raised[1]


def test_mha_fully_masked_rows():
    """Weights of a fully masked row are NaN with need_weights (plain softmax), output zeros without."""
    e, t = _mha_pair(4, 2)
    kpm = np.array([[False, False, False], [True, True, True]])
    x = rand(3, 2, 4, seed=11)
    for need in (True, False):
        eo, _ = e(ember.tensor(x), ember.tensor(x), ember.tensor(x), key_padding_mask=ember.tensor(kpm),
                  need_weights=need)
        to, _ = t(torch.tensor(x), torch.tensor(x), torch.tensor(x), key_padding_mask=torch.tensor(kpm),
                  need_weights=need)
        assert_same(eo, to)


@pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask")
@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_unbatched(need_weights):
    e, t = _mha_pair(4, 2)
    run_mha_both(e, t, rand(3, 4, seed=12), rand(5, 4, seed=13), rand(5, 4, seed=14), need_weights=need_weights,
                 key_padding_mask=np.array([False, False, True, False, False]), attn_mask=rand(2, 3, 5, seed=15))


def test_mha_eval_dropout_and_float64():
    e, t = _mha_pair(4, 2, dropout=0.5)
    e.eval()
    t.eval()
    run_mha_both(e, t, rand(3, 2, 4, seed=16), None, None)
    e, t = _mha_pair(4, 1)
    e, t = e.double(), t.double()
    run_mha_both(e, t, rand(3, 2, 4, dtype=np.float64, seed=17), None, None)


def test_mha_gradcheck():
    e, _ = _mha_pair(4, 2, add_bias_kv=True)
    e = e.double()
    mask = np.array([[0, 1, 0], [0, 0, 1]], dtype=bool)
    gradcheck(lambda lib, q, k, v: e(q, k, v, attn_mask=lib.tensor(mask))[0],
              rand(2, 1, 4, seed=18), rand(3, 1, 4, seed=19), rand(3, 1, 4, seed=20))
    gradcheck(lambda lib, q, w, b: lib.nn.functional.multi_head_attention_forward(
        q, q, q, 4, 2, w, b, None, None, False, 0.0, e.out_proj.weight, None, need_weights=False)[0],
        rand(2, 1, 4, seed=21), rand(12, 4, seed=22), rand(12, seed=23), gradgrad=False)


def test_mha_state_repr_and_init():
    e, t = _mha_pair(6, 2, kdim=3, vdim=5, add_bias_kv=True, bias=False)
    assert list(e.state_dict()) == list(t.state_dict())
    assert [tuple(p.shape) for p in e.parameters()] == [tuple(p.shape) for p in t.parameters()]
    assert repr(e) == repr(t)
    ember.manual_seed(0)
    m = ember.nn.MultiheadAttention(16, 4)
    assert float(m.in_proj_bias.abs().sum()) == 0 and float(m.out_proj.bias.abs().sum()) == 0
    bound = (6 / (16 + 48)) ** 0.5  # xavier_uniform_ over the packed (48, 16) weight
    w = m.in_proj_weight.detach().cpu().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound


MHA_CTOR_ERRORS = [((0, 2), {}, ValueError, "embed_dim and num_heads must be greater than 0, got embed_dim=0"),
                   ((5, 2), {}, AssertionError, "embed_dim must be divisible by num_heads")]


@pytest.mark.parametrize("args,kw,exc,msg", MHA_CTOR_ERRORS)
def test_mha_constructor_errors(args, kw, exc, msg):
    for lib in (ember, torch):
        with pytest.raises(exc, match=msg):
            lib.nn.MultiheadAttention(*args, **kw)


MHA_ERRORS = [
    ({"q": (2, 3, 2, 4)}, AssertionError, "query should be unbatched 2D or batched 3D tensor but received 4-D"),
    ({"k": (5, 4)}, AssertionError, r"For batched \(3-D\) `query`, expected `key` and `value` to be 3-D but found 2-D"),
    ({"attn_mask": (4, 5)}, RuntimeError, r"The shape of the 2D attn_mask is torch.Size\(\[4, 5\]\), but should be "
                                          r"\(3, 5\)."),
    ({"attn_mask": (3, 3, 5)}, RuntimeError, r"The shape of the 3D attn_mask is torch.Size\(\[3, 3, 5\]\), but "
                                             r"should be \(4, 3, 5\)."),
    ({"key_padding_mask": (2, 4)}, AssertionError, r"Expected key_padded_mask.shape\[1\] to be 5, but got 4"),
    ({"q": (3, 2, 6)}, AssertionError, "was expecting embedding dimension of 4, but got 6"),
    ({"is_causal": True}, RuntimeError, "Need attn_mask if specifying the is_causal hint"),
    ({"key_padding_mask_int": (2, 5)}, AssertionError, "only bool and floating types of key_padding_mask"),
]


@pytest.mark.parametrize("spec,exc,msg", MHA_ERRORS)
def test_mha_errors(spec, exc, msg):
    for lib in (ember, torch):
        m = lib.nn.MultiheadAttention(4, 2)
        q = lib.ones(*spec.get("q", (3, 2, 4)))
        k = lib.ones(*spec.get("k", (5, 2, 4)))
        kw = {n: lib.zeros(*s) for n, s in spec.items() if n in ("attn_mask", "key_padding_mask")}
        if "key_padding_mask_int" in spec:
            kw["key_padding_mask"] = lib.zeros(*spec["key_padding_mask_int"], dtype=lib.int64)
        if "is_causal" in spec:
            kw["is_causal"] = True
        with pytest.raises(exc, match=msg.replace("torch.Size", "(torch|ember).Size")):
            m(q, k, k, **kw)


def test_sdpa_dropout():
    """dropout_p drops whole attention weights and rescales the rest: with v = ones each output is the kept
    weight mass / (1 - p), so some rows differ from 1 while the mean stays near 1; p=0 leaves rows at 1."""
    ember.manual_seed(0)
    q, k = ember.tensor(rand(4, 16, 8, seed=30)), ember.tensor(rand(4, 16, 8, seed=31))
    v = ember.ones(4, 16, 1)
    out = ember.nn.functional.scaled_dot_product_attention(q, k, v, dropout_p=0.5).cpu().numpy()
    assert not np.allclose(out, 1.0) and abs(out.mean() - 1.0) < 0.15
    np.testing.assert_allclose(ember.nn.functional.scaled_dot_product_attention(q, k, v).cpu().numpy(), 1.0, rtol=1e-5)
    mha = ember.nn.MultiheadAttention(8, 2, dropout=0.5)
    x = ember.tensor(rand(5, 2, 8, seed=32))
    train = mha(x, x, x)[1].detach().cpu().numpy()
    mha.eval()
    assert not np.allclose(train, mha(x, x, x)[1].detach().cpu().numpy())
