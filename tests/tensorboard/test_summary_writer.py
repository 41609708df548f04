"""SummaryWriter's event files, read back with TensorBoard's EventAccumulator."""
import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from tensorboard.plugins.hparams import plugin_data_pb2  # noqa: E402

import ember  # noqa: E402
from ember.utils.tensorboard import SummaryWriter  # noqa: E402


def _read(path):
    acc = EventAccumulator(str(path), size_guidance={"scalars": 0, "histograms": 0, "images": 0, "tensors": 0})
    acc.Reload()
    return acc


def test_scalars_steps_and_tags(tmp_path):
    with SummaryWriter(tmp_path) as w:
        for step in range(5):
            w.add_scalar("loss/train", 1.0 / (step + 1), step)
            w.add_scalar("lr", ember.tensor(0.1 * step), global_step=step * 10)
    acc = _read(tmp_path)
    assert set(acc.Tags()["scalars"]) == {"loss/train", "lr"}
    loss = acc.Scalars("loss/train")
    assert [e.step for e in loss] == [0, 1, 2, 3, 4]
    np.testing.assert_allclose([e.value for e in loss], [1.0, 0.5, 1 / 3, 0.25, 0.2], rtol=1e-6)
    assert [e.step for e in acc.Scalars("lr")] == [0, 10, 20, 30, 40]
    with pytest.raises(ValueError, match="1 element"):
        SummaryWriter(tmp_path / "bad").add_scalar("x", ember.ones(2))


def test_add_scalars_writes_one_run_per_tag(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_scalars("loss", {"train": 1.0, "val": 2.0}, 3)
    for tag, value in (("train", 1.0), ("val", 2.0)):
        (event,) = _read(tmp_path / f"loss_{tag}").Scalars("loss")
        assert event.step == 3 and event.value == value


def test_histogram_buckets(tmp_path):
    values = np.array([0.5, 1.5, 1.5, 2.5, 2.5, 2.5], dtype=np.float32)
    with SummaryWriter(tmp_path) as w:
        w.add_histogram("w", ember.tensor(values), 7, bins=3)
        w.add_histogram("default", ember.randn(1000), 1)
    (event,) = _read(tmp_path).Histograms("w")
    h = event.histogram_value
    assert event.step == 7 and h.num == 6 and h.min == 0.5 and h.max == 2.5
    assert h.sum == pytest.approx(values.sum()) and h.sum_squares == pytest.approx((values ** 2).sum())
    assert list(h.bucket) == [1, 2, 3]
    np.testing.assert_allclose(h.bucket_limit, [0.5 + 2 / 3, 0.5 + 4 / 3, 2.5], rtol=1e-6)
    (default,) = _read(tmp_path).Histograms("default")
    assert default.histogram_value.num == 1000 and sum(default.histogram_value.bucket) == 1000


def test_image_and_images_sizes(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_image("chw", ember.rand(3, 10, 20), 0)
        w.add_image("hw", (np.random.rand(6, 5) * 255).astype(np.uint8), 0, dataformats="HW")
        w.add_images("batch", ember.rand(10, 1, 4, 6), 2)
    acc = _read(tmp_path)
    (chw,) = acc.Images("chw")
    assert (chw.height, chw.width) == (10, 20)
    (hw,) = acc.Images("hw")
    assert (hw.height, hw.width) == (6, 5)
    (grid,) = acc.Images("batch")
    assert (grid.height, grid.width, grid.step) == (8, 48, 2)  # 8 images per row, 2 rows
    with pytest.raises(ValueError, match="dataformats"):
        SummaryWriter(tmp_path / "bad").add_image("x", ember.rand(3, 4), 0)


def test_text(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_text("notes", "hello **tensorboard**", 4)
    (event,) = _read(tmp_path).Tensors("notes/text_summary")
    assert event.step == 4 and event.tensor_proto.string_val[0].decode() == "hello **tensorboard**"


def test_graph_from_the_capture(tmp_path):
    model = ember.nn.Sequential(ember.nn.Linear(4, 3), ember.nn.ReLU())
    with SummaryWriter(tmp_path) as w:
        w.add_graph(model, ember.ones(2, 4))
    graph = _read(tmp_path).Graph()
    ops = {n.name: n for n in graph.node}
    assert ops["0.Linear/linear"].op == "linear"
    assert list(ops["1.ReLU/relu"].input) == ["0.Linear/linear"]
    dims = [d.size for d in ops["0.Linear/linear"].attr["_output_shapes"].list.shape[0].dim]
    assert dims == [2, 3]


def test_hparams(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_hparams({"lr": 0.1, "optimizer": "sgd", "bn": True}, {"hparam/accuracy": 0.9}, run_name="run0")
    acc = _read(tmp_path / "run0")
    (metric,) = acc.Scalars("hparam/accuracy")
    assert metric.value == pytest.approx(0.9)
    content = acc.PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    values = start.session_start_info.hparams
    assert values["lr"].number_value == pytest.approx(0.1) and values["optimizer"].string_value == "sgd"
    assert values["bn"].bool_value is True
    experiment = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/experiment"]).experiment
    assert [m.name.tag for m in experiment.metric_infos] == ["hparam/accuracy"]
    with pytest.raises(TypeError):
        w.add_hparams([], {})


def test_flush_makes_events_visible_before_close(tmp_path):
    w = SummaryWriter(tmp_path, flush_secs=1000)
    w.add_scalar("x", 1.0, 0)
    w.flush()
    assert [e.value for e in _read(tmp_path).Scalars("x")] == [1.0]
    w.close()


def test_import_ember_does_not_import_tensorboard():
    code = "import sys, ember; print('tensorboard' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ, check=True)
    assert out.stdout.strip() == "False"
