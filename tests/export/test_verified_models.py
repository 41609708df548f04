"""The verified list: every nn layer family and the reference models are traced and exported,
saved, and loaded in a fresh process (that has ember but not the models' classes), which must
reproduce the eager outputs."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import ember
from ember import nn
from ember.examples.char_gpt import GPT
from ember.vision.models import MLP, LeNet5, resnet18

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class LanguageModel(nn.Module):
    def __init__(self, cell, vocab=20, width=16):
        super().__init__()
        self.embed = nn.Embedding(vocab, width)
        self.rnn = cell(width, width, num_layers=2, batch_first=True)
        self.head = nn.Linear(width, vocab)

    def forward(self, idx):
        out, _ = self.rnn(self.embed(idx))
        return self.head(out)


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        layer = nn.TransformerEncoderLayer(16, 4, dim_feedforward=32, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)

    def forward(self, x):
        return self.encoder(x)


class Pair(nn.Module):
    """A module of two inputs as a one-input one (Bilinear, distances, attention)."""

    def __init__(self, inner, attention=False):
        super().__init__()
        self.inner, self.attention = inner, attention

    def forward(self, x):
        return self.inner(x, x, x)[0] if self.attention else self.inner(x, x.flip(-1))


class First(nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x)[0]


class Cells(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn, self.lstm, self.gru = nn.RNNCell(5, 5), nn.LSTMCell(5, 5), nn.GRUCell(5, 5)

    def forward(self, x):
        return self.gru(self.lstm(self.rnn(x))[0])


class Losses(nn.Module):
    def __init__(self):
        super().__init__()
        self.losses = nn.ModuleList([nn.MSELoss(), nn.L1Loss(), nn.SmoothL1Loss(), nn.HuberLoss(), nn.KLDivLoss(
            reduction="batchmean"), nn.BCEWithLogitsLoss(), nn.SoftMarginLoss(), nn.CosineEmbeddingLoss()])

    def forward(self, x):
        target = x.flip(0).sigmoid()
        out = [loss(x, target) for loss in self.losses[:-1]]
        out.append(self.losses[-1](x, target, ember.ones(x.shape[0])))
        out.append(nn.functional.cross_entropy(x, ember.tensor([0, 3, 1, 4])))
        return ember.stack(out)


def _img(*shape):
    return ember.randn(*shape)


def families():
    """(name, module, example input) for one layer of each nn family."""
    seq = lambda *m: nn.Sequential(*m)  # noqa: E731
    return [
        ("linear_activations", seq(nn.Linear(6, 8), nn.GELU(), nn.Linear(8, 8), nn.SiLU(), nn.Hardswish(), nn.Mish(),
                                   nn.LeakyReLU(0.1), nn.ELU(), nn.Softplus(), nn.Tanh(), nn.Sigmoid(),
                                   nn.LogSoftmax(-1)), _img(3, 6)),
        ("prelu_glu_identity", seq(nn.Linear(6, 8), nn.PReLU(), nn.GLU(), nn.Identity(), nn.Hardtanh(), nn.ReLU6()),
         _img(3, 6)),
        ("bilinear", Pair(nn.Bilinear(6, 6, 4)), _img(3, 6)),
        ("distances", Pair(nn.CosineSimilarity()), _img(3, 6)),
        ("conv1d_pool", seq(nn.Conv1d(2, 4, 3, padding=1), nn.MaxPool1d(2), nn.AvgPool1d(2), nn.AdaptiveMaxPool1d(2)),
         _img(2, 2, 12)),
        ("conv2d_norms", seq(nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.BatchNorm2d(4), nn.GroupNorm(2, 4),
                             nn.InstanceNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d((2, 2))), _img(2, 3, 9, 9)),
        ("conv3d", seq(nn.Conv3d(1, 2, 3), nn.MaxPool3d(2), nn.BatchNorm3d(2)), _img(1, 1, 6, 6, 6)),
        ("conv_transpose2d", nn.ConvTranspose2d(2, 3, 3, stride=2), _img(1, 2, 4, 4)),
        ("conv_transpose1d", nn.ConvTranspose1d(2, 3, 2, stride=2), _img(1, 2, 5)),
        ("upsample_shuffle", seq(nn.Upsample(scale_factor=2, mode="bilinear"), nn.PixelShuffle(2),
                                 nn.PixelUnshuffle(2), nn.UpsamplingNearest2d(scale_factor=2)), _img(1, 4, 3, 3)),
        ("padding", seq(nn.ReflectionPad2d(1), nn.ReplicationPad2d((1, 0, 2, 0)), nn.ZeroPad2d(1),
                        nn.CircularPad2d(1)), _img(1, 2, 4, 4)),
        ("fold_unfold", seq(nn.Unfold(2), nn.Fold((4, 4), 2)), _img(1, 2, 4, 4)),
        ("flatten_norm", seq(nn.Flatten(), nn.LayerNorm(18), nn.RMSNorm(18), nn.Unflatten(1, (2, 9)),
                             nn.Dropout(0.3), nn.LocalResponseNorm(2)), _img(3, 2, 3, 3)),
        ("embedding_bag", nn.EmbeddingBag(10, 4, mode="mean"), ember.randint(0, 10, (3, 4))),
        ("rnn", First(nn.RNN(5, 6, batch_first=True)), _img(2, 3, 5)),
        ("cells", Cells(), _img(2, 5)),
        ("attention", Pair(nn.MultiheadAttention(8, 2, batch_first=True), attention=True), _img(2, 5, 8)),
        ("transformer", Pair(nn.Transformer(8, 2, 1, 1, dim_feedforward=16, dropout=0.0, batch_first=True)),
         _img(2, 5, 8)),
        ("losses", Losses(), _img(4, 5)),
        ("pool_variants", seq(nn.LPPool2d(2, 2), nn.AdaptiveMaxPool2d(2), nn.Softmin(-1)), _img(1, 2, 8, 8)),
        ("lstm_lm", LanguageModel(nn.LSTM), ember.randint(0, 20, (2, 7))),
        ("gru_lm", LanguageModel(nn.GRU), ember.randint(0, 20, (2, 7))),
        ("transformer_encoder", Encoder(), _img(2, 5, 16)),
        ("mlp", MLP(20, [32, 32, 5]), _img(4, 20)),
        ("lenet5", LeNet5(), _img(2, 1, 28, 28)),
        ("resnet18", resnet18(num_classes=10), _img(1, 3, 32, 32)),
        ("char_gpt", GPT(30, 16, d_model=32, n_heads=4, n_layers=2), ember.randint(0, 30, (2, 16))),
    ]


def _fresh_process_check(tmp_path, names):
    script = textwrap.dedent(f"""
        import numpy as np, ember
        folder = {str(tmp_path)!r}
        for name in {names!r}:
            x = ember.from_numpy(np.load(f"{{folder}}/{{name}}.x.npy"))
            want = np.load(f"{{folder}}/{{name}}.y.npy")
            traced = ember.jit.load(f"{{folder}}/{{name}}.pt")
            exported = ember.export.load(f"{{folder}}/{{name}}.ep").module()
            for how, m in (("trace", traced), ("export", exported)):
                with ember.no_grad():
                    got = m(x).numpy()
                assert got.shape == want.shape, (name, how, got.shape)
                assert np.allclose(got, want, rtol=1e-5, atol=1e-5), (name, how, np.abs(got - want).max())
        print("ok", len({names!r}))
    """)
    env = dict(os.environ, PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == ["ok", str(len(names))]


def test_trace_and_export_save_load_in_fresh_process(tmp_path):
    ember.manual_seed(0)
    names = []
    for name, module, x in families():
        module.eval()
        with ember.no_grad():
            want = module(x).numpy()
        traced = ember.jit.trace(module, x)
        with ember.no_grad():
            np.testing.assert_allclose(traced(x).numpy(), want, rtol=1e-5, atol=1e-5, err_msg=name)
        traced.save(str(tmp_path / f"{name}.pt"))
        ember.export.save(ember.export.export(module, (x,)), str(tmp_path / f"{name}.ep"))
        np.save(tmp_path / f"{name}.x.npy", x.numpy())
        np.save(tmp_path / f"{name}.y.npy", want)
        names.append(name)
    _fresh_process_check(tmp_path, names)


def test_char_gpt_exports_with_dynamic_batch_and_sequence():
    ember.manual_seed(0)
    gpt = GPT(30, 16, d_model=32, n_heads=4, n_layers=1).eval()
    batch, seq = ember.export.Dim("batch", min=1, max=8), ember.export.Dim("seq", min=2, max=16)
    ep = ember.export.export(gpt, (ember.randint(0, 30, (2, 8)),), dynamic_shapes={"idx": {0: batch, 1: seq}})
    mod = ep.module()
    for shape in [(1, 3), (5, 16), (3, 11)]:
        idx = ember.randint(0, 30, shape)
        with ember.no_grad():
            np.testing.assert_allclose(mod(idx).numpy(), gpt(idx).numpy(), rtol=1e-5, atol=1e-5)
    with pytest.raises(RuntimeError, match=r"in \[2, 16\], but got 17"):
        mod(ember.randint(0, 30, (2, 17)))


def _batch_of(x, b):
    if x.dtype == ember.int64:
        return ember.randint(0, 10, (b, *x.shape[1:]))
    return ember.randn(b, *x.shape[1:])


def test_export_with_dynamic_batch_runs_at_other_batch_sizes():
    """export(dynamic batch) -> save -> load, then two batch sizes other than the example's."""
    import io
    ember.manual_seed(0)
    fixed_batch = {"losses", "distances", "embedding_bag"}  # a batch-sized constant / array parameter
    for name, module, x in families():
        if name in fixed_batch:
            continue
        module.eval()
        ep = ember.export.export(module, (x,), dynamic_shapes=({0: ember.export.Dim("batch", min=1, max=16)},))
        buf = io.BytesIO()
        ember.export.save(ep, buf)
        buf.seek(0)
        loaded = ember.export.load(buf).module()
        for b in (1, 5):
            xb = _batch_of(x, b)
            with ember.no_grad():
                np.testing.assert_allclose(loaded(xb).numpy(), module(xb).numpy(), rtol=1e-5, atol=1e-5,
                                           err_msg=f"{name} at batch {b}")


def test_batch_sized_array_parameter_is_refused_clearly():
    with pytest.raises(ember.export.ExportError, match="array parameter .* follows a dynamic dim"):
        ember.export.export(nn.EmbeddingBag(10, 4), (ember.randint(0, 10, (3, 4)),),
                            dynamic_shapes=({0: ember.export.Dim("batch")},))
