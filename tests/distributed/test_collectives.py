"""Every collective, run as a real MPI job (2 and 4 ranks), against NumPy references computed on each rank."""
import re

from _jobs import job_env, mpiexec



def _checks(out, n):
    counts = dict(re.findall(r"rank (\d+): (\d+) checks passed", out))
    assert sorted(counts) == [str(r) for r in range(n)], out
    return counts


def test_every_collective_two_ranks():
    rc, out, _ = mpiexec(2, "collectives.py", timeout=60)
    assert rc == 0, out
    assert all(int(c) > 500 for c in _checks(out, 2).values()), out


def test_every_collective_four_ranks():
    rc, out, _ = mpiexec(4, "collectives.py", "--quick", timeout=60)
    assert rc == 0, out
    _checks(out, 4)


def test_mismatched_collectives_are_reported_in_debug_mode():
    rc, out, _ = mpiexec(2, "mismatch.py", timeout=30, env=job_env(TORCH_DISTRIBUTED_DEBUG="DETAIL"))
    assert rc != 0
    assert "Detected mismatch between collectives on ranks" in out, out
    assert "rank 0 runs all_reduce #2 (shape [4], float32, SUM)" in out, out
    assert "rank 1 runs all_reduce #2 (shape [5], float32, SUM)" in out, out
