"""The character-level GPT example learns: its loss falls well below uniform guessing, and it samples text."""
import math

from ember.examples import char_gpt


def test_char_gpt_loss_falls(capsys):
    first, last = char_gpt.main(["--steps", "80", "--text-chars", "30000", "--d-model", "64", "--context", "32",
                                 "--sample-chars", "40", "--quiet"])
    out = capsys.readouterr().out
    symbols = int(out.split(" symbols")[0].split(", ")[-1])
    assert first > 0.8 * math.log(symbols)  # an untrained model guesses about uniformly
    assert last < 0.75 * first
    before = out.split("--- sample before training ---\n")[1].split("\n--- sample after")[0]
    assert len(before) >= 40


def test_char_gpt_labels_its_losses(capsys):
    char_gpt.main(["--steps", "12", "--text-chars", "5000", "--d-model", "32", "--context", "16",
                   "--sample-chars", "5", "--quiet"])
    out = capsys.readouterr().out
    assert "mean loss of the first 10 steps" in out and "of the last 10 steps" in out
