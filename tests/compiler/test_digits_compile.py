"""The main job with ``--compile``: one epoch reaches an eager run's accuracy."""
from ember.examples import digits


def test_digits_compile_matches_eager_accuracy(tmp_path):
    args = ["--epochs", "1", "--quiet", "--batch-size", "64"]
    _, eager = digits.main(args + ["--out", str(tmp_path / "eager")])
    model, compiled = digits.main(args + ["--out", str(tmp_path / "compiled"), "--compile", "eager"])
    assert compiled > 0.75  # one short epoch
    assert abs(compiled - eager) < 0.03
    assert model.forward.counters["captures"] >= 2  # train batches, the last smaller batch, eval
    assert model.forward.counters["graph_breaks"] == 0
