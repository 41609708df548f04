"""The main job: the digits CNN reaches a real accuracy, and a killed-then-resumed run matches an uninterrupted one."""
import numpy as np
import pytest

from ember.examples import digits


def test_digits_reaches_accuracy(tmp_path, capsys):
    _, acc = digits.main(["--epochs", "5", "--out", str(tmp_path), "--quiet"])
    assert acc >= 0.96
    out = capsys.readouterr().out
    assert "test accuracy" in out
    assert (tmp_path / digits.CHECKPOINT).exists()


def _weights(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def test_killed_and_resumed_run_ends_with_the_same_weights(tmp_path, monkeypatch):
    straight, _ = digits.main(["--epochs", "2", "--out", str(tmp_path / "a"), "--quiet"])

    real_step = digits.train_one_epoch
    calls = {"n": 0}

    def dies_after(loader, batches):
        for i, batch in enumerate(loader):
            if i == batches:
                raise KeyboardInterrupt  # as if killed: 10 real steps changed the weights and the RNG
            yield batch

    def crash_in_second_epoch(model, loader, optimizer, bar):
        calls["n"] += 1
        return real_step(model, dies_after(loader, 10) if calls["n"] == 2 else loader, optimizer, bar)

    monkeypatch.setattr(digits, "train_one_epoch", crash_in_second_epoch)
    with pytest.raises(KeyboardInterrupt):
        digits.main(["--epochs", "2", "--out", str(tmp_path / "b"), "--quiet"])
    monkeypatch.setattr(digits, "train_one_epoch", real_step)
    resumed, _ = digits.main(["--epochs", "2", "--out", str(tmp_path / "b"), "--quiet", "--resume"])

    a, b = _weights(straight), _weights(resumed)
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
