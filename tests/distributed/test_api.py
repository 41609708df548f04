"""What needs no MPI job: mpi4py stays unloaded by ``import ember``, the launcher's mpiexec command and
torchrun environment, argument errors, and DistributedSampler against PyTorch's."""
import subprocess
import sys

import pytest
import torch

import ember
import ember.distributed as dist
from ember.distributed import _agent, run
from ember.utils.data.distributed import DistributedSampler
from _jobs import job_env


def test_import_ember_does_not_load_mpi():
    code = "import sys, ember, ember.distributed; assert 'mpi4py' not in sys.modules; print(ember.distributed.is_initialized())"
    out = subprocess.run([sys.executable, "-c", code], env=job_env(), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "False", out.stderr


def test_launcher_builds_one_mpiexec_for_every_host():
    args = run.parse(["--nproc-per-node", "3", "--hosts", "a,b", "--iface", "eth1", "-m", "pkg.train", "--lr", "1"])
    cmd = run.mpiexec_command(args, "/tmp/x")
    assert cmd[1:7] == ["-n", "6", "-ppn", "3", "-hosts", "a,b"] and cmd[7:9] == ["-iface", "eth1"]
    assert cmd[-5:] == ["5.0", "-m", "pkg.train", "--lr", "1"]
    with pytest.raises(SystemExit, match="--hosts"):
        run.mpiexec_command(run.parse(["--nnodes", "2", "t.py"]), "/tmp/x")
    with pytest.raises(SystemExit, match="once, on the first host"):
        run.mpiexec_command(run.parse(["--node-rank", "1", "--hosts", "a,b", "t.py"]), "/tmp/x")


def test_agent_sets_the_torchrun_environment():
    env, rank, size = _agent.torchrun_env({"PMI_RANK": "5", "PMI_SIZE": "8", "MPI_LOCALRANKID": "1",
                                           "MPI_LOCALNRANKS": "4"}, "10.0.0.1", 1234, "/tmp/r")
    assert (rank, size) == (5, 8)
    assert {k: env[k] for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "GROUP_RANK", "MASTER_ADDR",
                                "MASTER_PORT")} == {"RANK": "5", "WORLD_SIZE": "8", "LOCAL_RANK": "1",
                                                    "LOCAL_WORLD_SIZE": "4", "GROUP_RANK": "1",
                                                    "MASTER_ADDR": "10.0.0.1", "MASTER_PORT": "1234"}


def test_bad_arguments_raise_torchs_errors():
    with pytest.raises(ValueError, match="Invalid backend"):
        dist.Backend("carrier-pigeon")
    with pytest.raises(ValueError, match="has not been initialized"):
        dist.get_rank()
    with pytest.raises(ValueError, match="has not been initialized"):
        dist.all_reduce(ember.ones(2))
    with pytest.raises(TypeError, match="Expected parameter `tensor` of type Tensor"):
        dist.all_reduce([1.0, 2.0])
    with pytest.raises(ValueError, match="init_method"):
        dist.init_process_group("gloo", init_method="udp://x")
    with pytest.raises(RuntimeError, match="DataParallel over several GPUs"):
        ember.nn.parallel.DataParallel(ember.nn.Linear(2, 2), device_ids=[0, 1])
    dp = ember.nn.parallel.DataParallel(ember.nn.Linear(2, 2))
    x = ember.ones(3, 2)
    assert ember.equal(dp(x), dp.module(x))


@pytest.mark.parametrize("n,replicas,drop_last,shuffle", [(10, 3, False, True), (10, 3, True, True),
                                                         (7, 2, False, False), (5, 4, False, True)])
def test_distributed_sampler_matches_torch(n, replicas, drop_last, shuffle):
    orders = []
    for epoch in (0, 3):
        ours_all, theirs_all = [], []
        for rank in range(replicas):
            ours = DistributedSampler(range(n), num_replicas=replicas, rank=rank, shuffle=shuffle, seed=11,
                                      drop_last=drop_last)
            theirs = torch.utils.data.DistributedSampler(range(n), num_replicas=replicas, rank=rank,
                                                         shuffle=shuffle, seed=11, drop_last=drop_last)
            ours.set_epoch(epoch)
            theirs.set_epoch(epoch)
            assert len(ours) == len(theirs) == len(list(ours))
            ours_all += list(ours)
            theirs_all += list(theirs)
            if not shuffle:
                assert list(ours) == list(theirs)
        # ember's generator is not torch's, so a shuffled order differs; what each rank gets covers the
        # data the same way (every index once, plus the same number of wrapped-around repeats)
        assert len(ours_all) == len(theirs_all)
        assert len(set(ours_all)) == len(set(theirs_all))
        orders.append(ours_all)
    if shuffle:
        assert orders[0] != orders[1], "set_epoch must reshuffle"
