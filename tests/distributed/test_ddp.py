"""DistributedDataParallel in real MPI jobs: the same parameters as one process on the whole batch."""
import re

from _jobs import launch, mpiexec


def _gaps(out):
    found = re.search(r"max \|ddp - single process\|: (\{.*\})", out)
    assert found, out
    return eval(found.group(1))  # the job's own printed dict of floats


def test_ddp_matches_one_process_two_ranks(tmp_path):
    rc, out, _ = mpiexec(2, "ddp.py", tmp_path / "ckpt.ember", timeout=60)
    assert rc == 0, out
    gaps = _gaps(out)
    assert set(gaps) == {"plain", "buckets", "no_sync"} and max(gaps.values()) < 1e-5
    assert "ranks ok: [0, 1]" in out, out
    assert (tmp_path / "ckpt.ember").exists()


def test_ddp_matches_one_process_four_ranks_under_the_launcher():
    rc, out, _ = launch(4, "ddp.py", timeout=90)
    assert rc == 0, out
    assert max(_gaps(out).values()) < 1e-5
    assert "ranks ok: [0, 1, 2, 3]" in out, out
