"""Transformer layers, stacks and the full Transformer against torch, with weights copied from torch."""
import numpy as np
import pytest
import torch

import ember
from tests.oracle import assert_same, gradcheck, rand

pytestmark = [pytest.mark.filterwarnings("ignore:enable_nested_tensor is True"),
              pytest.mark.filterwarnings("ignore:Support for mismatched")]


def _copy(e, t):
    """Loads torch's (perturbed, so zero biases do not hide mistakes) weights into ember's module."""
    torch.manual_seed(0)
    with torch.no_grad():
        for p in t.parameters():
            p.add_(torch.rand_like(p) * 0.1)
    e.load_state_dict({k: ember.tensor(v.detach().cpu().numpy()) for k, v in t.state_dict().items()})
    e.eval()
    t.eval()
    return e, t


def _pair(name, *args, **kw):
    return _copy(getattr(ember.nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw))


def _run(e, t, inputs, **masks):
    """Same inputs (NumPy) through both; compares the output and the gradients of inputs and parameters."""
    e_in = [ember.tensor(x, requires_grad=True) for x in inputs]
    t_in = [torch.tensor(x, requires_grad=True) for x in inputs]
    ekw = {k: ember.tensor(v) if isinstance(v, np.ndarray) else v for k, v in masks.items()}
    tkw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in masks.items()}
    eo, to = e(*e_in, **ekw), t(*t_in, **tkw)
    assert_same(eo, to, atol=1e-4)
    up = rand(*to.shape, seed=42)
    (eo * ember.tensor(up)).sum().backward()
    (to * torch.tensor(up)).sum().backward()
    for i, (a, b) in enumerate(zip(e_in, t_in)):
        assert_same(a.grad, b.grad, atol=1e-4, what=f"grad of input {i}")
    for (name, ep), (tname, tp) in zip(e.named_parameters(), t.named_parameters()):
        assert name == tname
        assert_same(ep.grad, tp.grad, atol=1e-4, what=name)


def _kpm(batch, length):
    m = np.zeros((batch, length), dtype=bool)
    m[0, length - 2:] = True
    return m


CAUSAL = np.triu(np.full((5, 5), -np.inf, dtype=np.float32), 1)
LAYER_OPTS = [{}, {"norm_first": True}, {"activation": "gelu"}, {"batch_first": True}, {"bias": False},
              {"layer_norm_eps": 1e-3, "activation": torch.nn.functional.silu}]


def _act(kw, lib):
    """The callable activation of a case, taken from the library under test."""
    act = kw.get("activation")
    return dict(kw, activation=lib.nn.functional.silu) if callable(act) else kw


@pytest.mark.parametrize("kw", LAYER_OPTS)
def test_encoder_layer(kw):
    e, t = _copy(ember.nn.TransformerEncoderLayer(8, 2, 16, **_act(kw, ember)),
                 torch.nn.TransformerEncoderLayer(8, 2, 16, **_act(kw, torch)))
    x = rand(2, 5, 8, seed=1) if kw.get("batch_first") else rand(5, 2, 8, seed=1)
    _run(e, t, [x], src_mask=CAUSAL, src_key_padding_mask=_kpm(2, 5))
    _run(e, t, [x])


@pytest.mark.parametrize("kw", LAYER_OPTS)
def test_decoder_layer(kw):
    e, t = _copy(ember.nn.TransformerDecoderLayer(8, 2, 16, **_act(kw, ember)),
                 torch.nn.TransformerDecoderLayer(8, 2, 16, **_act(kw, torch)))
    bf = kw.get("batch_first")
    tgt, mem = (rand(2, 5, 8, seed=2), rand(2, 4, 8, seed=3)) if bf else (rand(5, 2, 8, seed=2), rand(4, 2, 8, seed=3))
    _run(e, t, [tgt, mem], tgt_mask=CAUSAL, tgt_key_padding_mask=_kpm(2, 5), memory_key_padding_mask=_kpm(2, 4),
         memory_mask=rand(5, 4, seed=4))
    _run(e, t, [tgt, mem], tgt_mask=CAUSAL, tgt_is_causal=True)


def test_unbatched_layers():
    e, t = _pair("TransformerEncoderLayer", 8, 2, 16)
    _run(e, t, [rand(5, 8, seed=5)], src_key_padding_mask=np.array([False] * 4 + [True]))
    e, t = _pair("TransformerDecoderLayer", 8, 2, 16)
    _run(e, t, [rand(5, 8, seed=6), rand(3, 8, seed=7)])


@pytest.mark.parametrize("norm", [False, True])
def test_encoder_stack(norm):
    def build(lib):
        layer = lib.nn.TransformerEncoderLayer(8, 2, 16, batch_first=True)
        return lib.nn.TransformerEncoder(layer, 3, norm=lib.nn.LayerNorm(8) if norm else None,
                                         enable_nested_tensor=False)

    e, t = _copy(build(ember), build(torch))
    assert list(e.state_dict()) == list(t.state_dict())
    assert "layers.2.self_attn.in_proj_weight" in e.state_dict()
    _run(e, t, [rand(2, 5, 8, seed=8)], mask=CAUSAL, src_key_padding_mask=_kpm(2, 5))
    _run(e, t, [rand(2, 5, 8, seed=8)], mask=CAUSAL)


@pytest.mark.parametrize("norm", [False, True])
def test_decoder_stack(norm):
    def build(lib):
        layer = lib.nn.TransformerDecoderLayer(8, 2, 16, norm_first=True)
        return lib.nn.TransformerDecoder(layer, 2, norm=lib.nn.LayerNorm(8) if norm else None)

    e, t = _copy(build(ember), build(torch))
    _run(e, t, [rand(5, 2, 8, seed=9), rand(4, 2, 8, seed=10)], tgt_mask=CAUSAL,
         memory_key_padding_mask=_kpm(2, 4))


@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer(batch_first):
    e, t = _pair("Transformer", 8, 2, 2, 2, 16, batch_first=batch_first)
    assert list(e.state_dict()) == list(t.state_dict())
    src, tgt = (rand(2, 6, 8, seed=11), rand(2, 5, 8, seed=12)) if batch_first else \
        (rand(6, 2, 8, seed=11), rand(5, 2, 8, seed=12))
    _run(e, t, [src, tgt], tgt_mask=CAUSAL, src_key_padding_mask=_kpm(2, 6), memory_key_padding_mask=_kpm(2, 6))


def test_square_subsequent_mask():
    assert_same(ember.nn.Transformer.generate_square_subsequent_mask(4),
                torch.nn.Transformer.generate_square_subsequent_mask(4))
    assert_same(ember.nn.Transformer.generate_square_subsequent_mask(3, dtype=ember.float64),
                torch.nn.Transformer.generate_square_subsequent_mask(3, dtype=torch.float64))


def test_transformer_init_and_repr():
    e, t = ember.nn.Transformer(8, 2, 1, 1, 16), torch.nn.Transformer(8, 2, 1, 1, 16)
    assert repr(e) == repr(t)
    assert [(n, tuple(p.shape)) for n, p in e.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in t.named_parameters()]
    w = e.encoder.layers[0].linear1.weight.detach().cpu().numpy()
    bound = (6 / (8 + 16)) ** 0.5  # xavier_uniform_ over every matrix
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    layer_e = ember.nn.TransformerEncoderLayer(8, 2, 16, activation="gelu", norm_first=True)
    layer_t = torch.nn.TransformerEncoderLayer(8, 2, 16, activation="gelu", norm_first=True)
    assert repr(layer_e) == repr(layer_t)
    assert layer_e.activation is ember.nn.functional.gelu


def test_dropout_in_training_mode():
    """Training mode with dropout: outputs differ from eval mode but keep the shape; p=0 equals eval."""
    ember.manual_seed(0)
    layer = ember.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.5)
    x = ember.tensor(rand(5, 2, 8, seed=13))
    train_out = layer(x)
    layer.eval()
    eval_out = layer(x)
    assert train_out.shape == eval_out.shape and not np.allclose(np.asarray(train_out.detach()), np.asarray(eval_out))
    layer = ember.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0)
    out = layer(x)
    layer.eval()
    np.testing.assert_allclose(out.detach().cpu().numpy(), layer(x).detach().cpu().numpy(), rtol=1e-6)


ERRORS = [
    (lambda lib: lib.nn.TransformerEncoderLayer(8, 2, activation="tanh"), RuntimeError,
     "activation should be relu/gelu, not tanh"),
    (lambda lib: lib.nn.Transformer(8, 2, 1, 1, 16)(lib.ones(5, 2, 8), lib.ones(5, 3, 8)), RuntimeError,
     "the batch number of src and tgt must be equal"),
    (lambda lib: lib.nn.Transformer(8, 2, 1, 1, 16)(lib.ones(5, 2, 8), lib.ones(5, 2, 6)), RuntimeError,
     "the feature number of src and tgt must be equal to d_model"),
    (lambda lib: lib.nn.TransformerEncoderLayer(8, 2, 16)(lib.ones(5, 2, 8), is_causal=True), RuntimeError,
     "Need attn_mask if specifying the is_causal hint"),
]


@pytest.mark.parametrize("fn,exc,msg", ERRORS)
def test_errors(fn, exc, msg):
    for lib in (ember, torch):
        with pytest.raises(exc, match=msg):
            fn(lib)


def test_encoder_layer_gradcheck():
    ember.manual_seed(0)
    layer = ember.nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0).double()
    gradcheck(lambda lib, x: layer(x, src_mask=lib.tensor(CAUSAL[:3, :3]).double()), rand(3, 1, 4, seed=14),
              gradgrad=False)
