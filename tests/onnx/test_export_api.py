"""ember.onnx.export's contract: errors that name the op, module and opset; files; coverage."""
import subprocess
import sys

import numpy as np
import onnxruntime as ort
import pytest

import ember
from ember import nn


class Outer(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 4), Cumulative())

    def forward(self, x):
        return self.body(x)


class Cumulative(nn.Module):
    def forward(self, x):
        return x.cumsum(1)


def test_an_op_without_emitter_names_the_op_module_and_opset():
    with pytest.raises(RuntimeError, match=r"opset 18.*'cumsum' in body\.1 \(Cumulative\)"):
        ember.onnx.export(Outer(), (ember.randn(2, 4),))


def test_writes_a_file_that_onnxruntime_runs(tmp_path):
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Softmax(dim=1)).eval()
    x = ember.randn(4, 3)
    path = tmp_path / "m.onnx"
    ember.onnx.export(model, x, str(path), input_names=["input"], opset_version=20)
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"input": x.numpy()})[0]
    with ember.no_grad():
        np.testing.assert_allclose(got, model(x).numpy(), atol=1e-5)


def test_without_export_params_the_weights_are_inputs():
    proto = ember.onnx.export(nn.Linear(3, 2), (ember.randn(1, 3),), export_params=False)
    assert not proto.graph.initializer
    assert {"weight", "bias"} <= {i.name for i in proto.graph.input}


def test_export_restores_the_training_flag_and_exports_eval_behaviour():
    model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5)).train()
    x = ember.randn(8, 3)
    proto = ember.onnx.export(model, (x,))
    assert model.training
    got = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"input": x.numpy()})
    with ember.no_grad():
        np.testing.assert_allclose(got[0], model.eval()(x).numpy(), atol=1e-5)


@pytest.mark.parametrize("opset", [11, 21])
def test_unsupported_opsets_are_refused(opset):
    with pytest.raises(ValueError, match="opset"):
        ember.onnx.export(nn.Linear(2, 2), (ember.randn(1, 2),), opset_version=opset)


def test_dynamic_axes_must_name_inputs_or_outputs():
    with pytest.raises(ValueError, match="neither input_names nor output_names"):
        ember.onnx.export(nn.Linear(2, 2), (ember.randn(1, 2),), input_names=["x"], dynamic_axes={"z": [0]})


def test_import_ember_does_not_import_onnx():
    code = "import sys, ember; print('onnx' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


def test_coverage_summary():
    covered, ops = ember.onnx.coverage()
    print(f"\nONNX export coverage: {len(covered)}/{len(ops)} registry ops have an emitter")
    assert set(covered) <= set(ops)
    assert {"conv", "linear", "lstm_seq", "gru_seq", "native_norm", "softmax", "getitem"} <= set(covered)
