"""nn.SyncBatchNorm in a real MPI job: two ranks with half a batch each match one BatchNorm on the whole batch."""
import re

from _jobs import mpiexec


def test_sync_batchnorm_matches_one_batchnorm_on_the_whole_batch():
    rc, out, _ = mpiexec(2, "sync_batchnorm.py", timeout=60)
    assert rc == 0, out
    found = re.search(r"max \|sync - whole batch\|: (\S+)", out)
    assert found, out
    assert float(found.group(1)) < 1e-10
