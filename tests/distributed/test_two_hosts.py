"""Across machines: two ranks in two network namespaces joined by a veth pair, each with its own
host name (so MPI carries the data over the network, not shared memory), started by one launcher
through mpiexec's ssh launcher (an ``ssh`` stand-in that enters the namespace). Needs root."""
import os
import shutil
import subprocess
import sys
import uuid

import pytest

from _jobs import SCRIPTS, job_env, run

NEEDS = "creating network namespaces needs root and the `ip` and `unshare` tools"
pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("ip") or not shutil.which("unshare"),
                                reason=NEEDS)

FAKE_SSH = """#!/bin/bash
[ "$1" = "-x" ] && shift
host=$1; shift
case $host in {a_ip}) ns={a};; {b_ip}) ns={b};; *) echo "unknown host $host" >&2; exit 1;; esac
exec ip netns exec $ns unshare --uts bash -c "hostname host-$ns; exec $*"
"""


def _ip(*args):
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


def _rx_bytes(ns, dev):
    out = subprocess.run(["ip", "netns", "exec", ns, "cat", f"/sys/class/net/{dev}/statistics/rx_bytes"],
                         capture_output=True, text=True, timeout=10)
    return int(out.stdout)


@pytest.fixture
def two_hosts(tmp_path):
    tag = uuid.uuid4().hex[:6]
    a, b, va, vb = f"ea{tag}", f"eb{tag}", f"va{tag}", f"vb{tag}"
    a_ip, b_ip = "10.211.0.1", "10.211.0.2"
    try:
        _ip("netns", "add", a)
        _ip("netns", "add", b)
        _ip("link", "add", va, "type", "veth", "peer", "name", vb)
        _ip("link", "set", va, "netns", a)
        _ip("link", "set", vb, "netns", b)
        for ns, dev, addr in ((a, va, a_ip), (b, vb, b_ip)):
            _ip("-n", ns, "addr", "add", f"{addr}/24", "dev", dev)
            _ip("-n", ns, "link", "set", dev, "up")
            _ip("-n", ns, "link", "set", "lo", "up")
    except (subprocess.CalledProcessError, OSError) as e:
        for ns in (a, b):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        pytest.skip(f"cannot create network namespaces here: {e}")
    ssh = tmp_path / "fake_ssh"
    ssh.write_text(FAKE_SSH.format(a=a, b=b, a_ip=a_ip, b_ip=b_ip))
    ssh.chmod(0o755)
    yield a, b, va, vb, a_ip, b_ip, ssh
    for ns in (a, b):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def test_all_reduce_and_ddp_step_across_two_namespaces(two_hosts):
    a, b, va, vb, a_ip, b_ip, ssh = two_hosts
    before = _rx_bytes(b, vb)
    cmd = ["ip", "netns", "exec", a, sys.executable, "-m", "ember.distributed.run", "--nproc-per-node", "1",
           "--hosts", f"{a_ip},{b_ip}", "--iface", va, "--mpiexec-arg=-launcher", "--mpiexec-arg=ssh",
           "--mpiexec-arg=-launcher-exec", f"--mpiexec-arg={ssh}", SCRIPTS / "two_hosts.py"]
    # same machine: keep MPI from finding the peer's memory (UCX would use shared memory), so the data uses TCP
    rc, out, _ = run(cmd, 90, env=job_env(UCX_TLS="tcp,self", MPIR_CVAR_NOLOCAL=1))
    assert rc == 0, out
    assert "rank 0 on" in out and f"rank 1 on host-{b}: ok" in out, out
    assert _rx_bytes(b, vb) - before > (1 << 16) * 4, "the all_reduce did not cross the veth pair"
