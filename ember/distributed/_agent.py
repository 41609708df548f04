"""The process ``mpiexec`` starts for each rank under ``ember.distributed.run``.

It sets the environment ``torchrun`` sets (``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``,
``LOCAL_WORLD_SIZE``, ``GROUP_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``), runs the rank's program as
its child (which joins MPI through the inherited PMI connection), and records how the child ended
in the job's run directory. Because the agent outlives its child and keeps the PMI connection
open, MPI does not tear the job down when a rank dies: the other ranks see the record, raise an
error that names the failed rank, and the launcher stops the job.
"""
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time

_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _write(run_dir, name, record):
    tmp = os.path.join(run_dir, f".{name}.tmp")
    with open(tmp, "w") as f:
        json.dump(record, f)
    os.replace(tmp, os.path.join(run_dir, name))


def _describe(returncode, run_dir, rank):
    try:
        with open(os.path.join(run_dir, f"error-{rank}.txt")) as f:
            return f.read()
    except OSError:
        pass
    if returncode < 0:
        sig = signal.Signals(-returncode)
        return f"killed by signal {-returncode} ({sig.name})"
    return f"exited with code {returncode}"


def torchrun_env(environ, master_addr, master_port, run_dir):
    rank, size = int(environ["PMI_RANK"]), int(environ["PMI_SIZE"])
    local_rank = int(environ.get("MPI_LOCALRANKID", 0))
    local_size = int(environ.get("MPI_LOCALNRANKS", 1))
    env = dict(environ)
    env.update(RANK=str(rank), WORLD_SIZE=str(size), LOCAL_RANK=str(local_rank),
               LOCAL_WORLD_SIZE=str(local_size), GROUP_RANK=str(rank // max(local_size, 1)),
               MASTER_ADDR=master_addr, MASTER_PORT=str(master_port), EMBER_RUN_DIR=run_dir)
    return env, rank, size


def main(argv):
    run_dir, master_addr, master_port, grace = argv[0], argv[1], argv[2], float(argv[3])
    target = argv[4:]
    os.makedirs(run_dir, exist_ok=True)
    env, rank, size = torchrun_env(os.environ, master_addr, master_port, run_dir)
    fds = tuple(int(env[k]) for k in ("PMI_FD",) if env.get(k, "").isdigit())
    child = subprocess.Popen([sys.executable, "-m", "ember.distributed._child", *target], env=env,
                             pass_fds=fds, preexec_fn=_die_with_parent)
    _write(run_dir, f"started-{rank}.json", {"rank": rank, "pid": child.pid, "agent": os.getpid(),
                                              "host": socket.gethostname()})

    def stop(signum, frame):
        child.terminate()
        try:
            child.wait(2)
        except subprocess.TimeoutExpired:
            child.kill()
        os._exit(128 + signum)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    code = child.wait()
    if code == 0:
        _write(run_dir, f"done-{rank}.json", {"rank": rank})
        return 0
    _write(run_dir, f"failed-{rank}.json", {"rank": rank, "host": socket.gethostname(), "pid": child.pid,
                                             "time": time.time(), "returncode": code,
                                             "reason": _describe(code, run_dir, rank)})
    # Stay (holding the PMI connection) while the other ranks notice and report, so that MPI does
    # not kill them first; the launcher ends the job, or the grace period ends the wait.
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        ended = [n for n in os.listdir(run_dir) if n.startswith(("failed-", "done-"))]
        if len(ended) >= size:
            break
        time.sleep(0.05)
    return 1 if code > 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
