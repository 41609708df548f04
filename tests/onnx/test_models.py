"""ONNX export of whole models, checked in onnxruntime against ember at two batch sizes
through a dynamic batch axis."""
import io

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import ember
from ember import nn
from ember.examples.char_gpt import GPT
from ember.vision import models


class LanguageModel(nn.Module):
    def __init__(self, kind):
        super().__init__()
        self.emb = nn.Embedding(50, 16)
        self.rnn = getattr(nn, kind)(16, 32, num_layers=2, batch_first=True)
        self.out = nn.Linear(32, 50)

    def forward(self, x):
        h, _ = self.rnn(self.emb(x))
        return self.out(h)


def _tokens(vocab, seq):
    return lambda n: ember.randint(0, vocab, (n, seq))


CASES = {
    "lenet5": (lambda: models.LeNet5(), lambda n: ember.randn(n, 1, 28, 28)),
    "resnet18": (lambda: models.resnet18(num_classes=10), lambda n: ember.randn(n, 3, 32, 32)),
    "mlp": (lambda: models.MLP(784, [64, 10]), lambda n: ember.randn(n, 784)),
    "lstm_lm": (lambda: LanguageModel("LSTM"), _tokens(50, 7)),
    "gru_lm": (lambda: LanguageModel("GRU"), _tokens(50, 7)),
    "transformer_encoder": (lambda: nn.TransformerEncoder(nn.TransformerEncoderLayer(32, 4, 64, batch_first=True), 2),
                            lambda n: ember.randn(n, 5, 32)),
    "char_gpt": (lambda: GPT(40, 16, d_model=32, n_heads=4, n_layers=2), _tokens(40, 16)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_model_runs_in_onnxruntime_with_a_dynamic_batch(name):
    ember.manual_seed(0)
    make, example = CASES[name]
    model = make().eval()
    buf = io.BytesIO()
    ember.onnx.export(model, (example(2),), buf, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
    proto = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(proto, full_check=True)
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    session = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    for n in (3, 5):
        x = example(n)
        with ember.no_grad():
            want = model(x).numpy()
        got = session.run(None, {"x": x.numpy()})[0]
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=1e-4, rtol=1e-4)
