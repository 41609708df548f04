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


def test_resume_before_any_checkpoint_starts_fresh(tmp_path, capsys):
    model, acc = digits.main(["--epochs", "1", "--out", str(tmp_path / "new"), "--quiet", "--resume"])
    out = capsys.readouterr().out
    assert f"no checkpoint at {tmp_path / 'new' / digits.CHECKPOINT} yet: starting from epoch 1" in out
    assert (tmp_path / "new" / digits.CHECKPOINT).exists() and acc > 0.5


def test_resume_after_a_finished_run_says_how_to_continue(tmp_path, capsys):
    digits.main(["--epochs", "1", "--out", str(tmp_path), "--quiet"])
    capsys.readouterr()
    digits.main(["--epochs", "1", "--out", str(tmp_path), "--quiet", "--resume"])
    assert "trained all 1 epochs; to train further, resume with --epochs larger than 1" in capsys.readouterr().out


def test_help_names_the_module_and_every_default(capsys):
    with pytest.raises(SystemExit):
        digits.main(["--help"])
    text = capsys.readouterr().out
    assert text.startswith("usage: python -m ember.examples.digits ")
    options = [a for a in digits.parse_args([]).__dict__]
    assert text.count("(default:") == len(options) and "raise --epochs to train further" in " ".join(text.split())
