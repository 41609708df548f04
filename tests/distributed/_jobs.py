"""Running MPI jobs from the tests: bounded in time, and checked for processes left behind.

Every job's processes carry a marker in their environment; after the job, /proc is searched for
it, so a rank, an agent or an ``mpiexec`` that outlived its job is caught.
"""
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = Path(__file__).parent / "scripts"
MPIEXEC = Path(sys.executable).parent / "mpiexec"


def job_env(**extra):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["EMBER_TEST_JOB"] = uuid.uuid4().hex
    env["OMP_NUM_THREADS"] = env["OPENBLAS_NUM_THREADS"] = "1"
    env.pop("TORCH_DISTRIBUTED_DEBUG", None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def processes_with(marker):
    """PIDs of live processes whose environment holds ``EMBER_TEST_JOB=marker``."""
    needle = f"EMBER_TEST_JOB={marker}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if needle in f.read().split(b"\0"):
                    with open(f"/proc/{entry}/stat") as s:
                        if s.read().split(")")[-1].split()[0] != "Z":
                            found.append(int(entry))
        except OSError:
            continue
    return found


def run(cmd, timeout, env=None, cwd=None):
    """Run ``cmd`` in its own session; kill the session if it outlives ``timeout``.

    Returns (returncode, stdout+stderr, seconds). Fails the test if any process of the job remains."""
    env = env or job_env()
    start = time.monotonic()
    proc = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                            cwd=cwd or ROOT, start_new_session=True, text=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        raise AssertionError(f"job {cmd} ran past {timeout} s:\n{out}") from None
    finally:
        leftover = _await_exit(env["EMBER_TEST_JOB"])
    assert not leftover, f"processes left behind by {cmd}: {leftover}"
    return proc.returncode, out, time.monotonic() - start


def _await_exit(marker, grace=3.0):
    deadline = time.monotonic() + grace
    while (left := processes_with(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return left


def mpiexec(n, script, *args, timeout=30, env=None):
    return run([MPIEXEC, "-n", n, sys.executable, SCRIPTS / script, *args], timeout, env)


def launch(nproc, script, *args, launcher_args=(), timeout=30, env=None):
    """``python -m ember.distributed.run --nproc-per-node nproc [launcher_args] script args``."""
    return run([sys.executable, "-m", "ember.distributed.run", "--nproc-per-node", nproc, *launcher_args,
                SCRIPTS / script, *args], timeout, env)
