"""Cross entropy and NLL loss exported to ONNX (SoftmaxCrossEntropyLoss with label smoothing decomposed,
NegativeLogLikelihoodLoss) and run in onnxruntime, against ember's own loss on the same inputs."""
import io

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import ember
import ember.nn.functional as F  # noqa: N812 - the name every PyTorch program uses
from ember import nn


class Loss(nn.Module):
    def __init__(self, **kwargs):
        super().__init__()
        self.kwargs = kwargs

    def forward(self, x, target):
        if self.kwargs.get("nll"):
            kwargs = {k: v for k, v in self.kwargs.items() if k != "nll"}
            return F.nll_loss(F.log_softmax(x, 1), target, **kwargs)
        return F.cross_entropy(x, target, **self.kwargs)


CASES = [
    {},
    {"reduction": "sum"},
    {"reduction": "none", "ignore_index": 1},
    {"weight": True, "ignore_index": 2},
    {"label_smoothing": 0.2},
    {"label_smoothing": 0.1, "weight": True, "ignore_index": 0},
    {"label_smoothing": 0.3, "weight": True, "reduction": "sum"},
    {"label_smoothing": 0.3, "reduction": "none", "ignore_index": 3},
    {"nll": True},
    {"nll": True, "weight": True, "ignore_index": 1},
    {"nll": True, "reduction": "none"},
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "default")
def test_cross_entropy_runs_in_onnxruntime(case):
    ember.manual_seed(0)
    kwargs = dict(case)
    if kwargs.pop("weight", False):
        kwargs["weight"] = ember.rand(5) + 0.5
    x, target = ember.randn(6, 5), ember.tensor([0, 1, 2, 3, 4, 1], dtype=ember.uint8 if case.get("nll") else None)
    model = Loss(**kwargs)
    buf = io.BytesIO()
    ember.onnx.export(model, (x, target), buf, input_names=["x", "target"], output_names=["loss"])
    proto = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(proto, full_check=True)
    loss_op = "NegativeLogLikelihoodLoss" if case.get("nll") else "SoftmaxCrossEntropyLoss"
    assert loss_op in {n.op_type for n in proto.graph.node}
    got = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"]).run(
        None, {"x": x.numpy(), "target": target.numpy()})[0]
    np.testing.assert_allclose(got, model(x, target).numpy(), rtol=1e-5, atol=1e-6)
