"""The data-parallel digits example, under the launcher, reaches the single-process example's accuracy
(its test asks >= 0.96 after 5 epochs; here 2 ranks with the same global batch, 5 epochs)."""
import re
import sys

from _jobs import run


def test_digits_ddp_reaches_the_single_process_accuracy(tmp_path):
    rc, out, _ = run([sys.executable, "-m", "ember.distributed.run", "--nproc-per-node", "2", "-m",
                      "ember.examples.digits_ddp", "--epochs", "5", "--quiet", "--out", tmp_path], 240)
    assert rc == 0, out
    found = re.findall(r"test accuracy ([0-9.]+) on \d+ digits with 2 ranks", out)
    assert len(found) == 1, out  # printed by rank 0 only
    assert float(found[0]) >= 0.96, out
    assert (tmp_path / "checkpoint.ember").exists()
