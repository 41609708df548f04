"""A rank that dies or stalls: every other rank raises a named error, the launcher exits non-zero
and reports the first failure, and no process is left behind (checked by _jobs.run)."""
import glob

from _jobs import launch
from ember.distributed._job import SHM_SEGMENTS, orphan_segments


def test_killed_rank_makes_the_others_raise_and_the_launcher_fail():
    segments = set(glob.glob(SHM_SEGMENTS))
    rc, out, seconds = launch(4, "failing.py", "kill", launcher_args=["--failure-grace", "10"], timeout=60)
    assert rc == 1, out
    assert "rank 2 (pid" in out and "failed first: killed by signal 9 (SIGKILL)" in out, out
    for r in (0, 1, 3):
        assert f"then rank {r}: DistBackendError: all_reduce #" in out, out
    assert out.count("aborted: rank 2 failed first (killed by signal 9 (SIGKILL))") >= 3, out
    assert not orphan_segments(segments), "the launcher left the failed job's MPI shared memory in /dev/shm"


def test_stalled_rank_is_named_within_the_timeout():
    rc, out, seconds = launch(2, "failing.py", "stall", launcher_args=["--failure-grace", "1"], timeout=60)
    assert rc == 1, out
    assert "timed out after 2 s: rank(s) [1] did not join it" in out, out
    assert "rank 0 (pid" in out and "failed first: DistBackendError: all_reduce #" in out, out
    assert "rank(s) [1] were stopped by the launcher" in out, out
    assert "raised after" in out
    waited = float(out.split("raised after ")[1].split()[0])
    assert 2.0 <= waited < 2.0 + 5, out  # the timeout, plus the short exchange that names the missing rank
