"""A started ``mpiexec`` job whose ranks report, through ember's per-rank agent, into a run directory:
how the launcher and ``ember.multiprocessing.spawn`` watch, stop and report a job."""
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path


def mpiexec_path():
    """``mpiexec`` beside this Python (the ``mpich`` wheel puts it there), else the one on PATH."""
    beside = Path(sys.executable).parent / "mpiexec"
    found = str(beside) if beside.exists() else shutil.which("mpiexec")
    if found is None:
        raise SystemExit("ember.distributed.run: no mpiexec found; pip install 'ember[distributed]' (mpich)")
    return found


SHM_SEGMENTS = "/dev/shm/mpich_shm_*"


def _mapped_files():
    """Every file some live process of this machine has mapped."""
    mapped = set()
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/maps") as f:
                    mapped.update(line.split(None, 5)[-1].strip() for line in f if "/dev/shm/" in line)
            except OSError:
                continue
    return mapped


def orphan_segments(before):
    """MPICH shared-memory segments that appeared since ``before`` (a set of paths) and that no live
    process maps: what ranks that died without MPI_Finalize left in /dev/shm."""
    new = set(glob.glob(SHM_SEGMENTS)) - before
    return sorted(new - _mapped_files()) if new else []


def _records(run_dir, prefix):
    out = {}
    for name in os.listdir(run_dir):
        if name.startswith(prefix) and name.endswith(".json"):
            try:
                with open(os.path.join(run_dir, name)) as f:
                    record = json.load(f)
                out[record["rank"]] = record
            except (OSError, ValueError, KeyError):
                continue
    return out


def _stop(proc, run_dir):
    """Stop the job: mpiexec's session, and every local rank and agent by the pids they recorded."""
    pids = [pid for r in _records(run_dir, "started-").values() for pid in (r["pid"], r["agent"])]
    for sig, pause in ((signal.SIGTERM, 2.0), (signal.SIGKILL, 0)):
        for kill in [lambda s: os.killpg(proc.pid, s)] + [lambda s, p=p: os.kill(p, s) for p in pids]:
            try:
                kill(sig)
            except OSError:
                pass
        try:
            proc.wait(pause)
        except subprocess.TimeoutExpired:
            pass
    proc.wait()


class Job:
    """A started ``mpiexec`` whose ranks report into ``run_dir``; ``wait()`` returns the job's exit status
    (0 when every rank finished, 1 otherwise), stopping the job after a failure."""

    def __init__(self, cmd, run_dir, world_size, grace):
        self.run_dir, self.world_size, self.grace = run_dir, world_size, grace
        self._segments_before = set(glob.glob(SHM_SEGMENTS))
        self.proc = subprocess.Popen(cmd, start_new_session=True)
        self.first_failure_at = None
        self.status = None

    def poll(self):
        """One look at the job; returns its status once it is over, else None."""
        if self.status is not None:
            return self.status
        if self.proc.poll() is None:
            failed = _records(self.run_dir, "failed-")
            if failed and self.first_failure_at is None:
                self.first_failure_at = time.monotonic()
            if self.first_failure_at is None:
                return None
            ended = len(failed) + len(_records(self.run_dir, "done-"))
            if ended < self.world_size and time.monotonic() - self.first_failure_at <= self.grace:
                return None
            _stop(self.proc, self.run_dir)
        ok = not self.failures() and self.proc.returncode == 0 and len(_records(self.run_dir, "done-")) == self.world_size
        self.status = 0 if ok else 1
        if not ok:  # ranks that failed skipped MPI_Finalize: remove the shared memory they left
            for path in orphan_segments(self._segments_before):
                try:
                    os.unlink(path)
                except OSError:
                    pass
        return self.status

    def wait(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while self.poll() is None:
                if deadline is not None and time.monotonic() > deadline:
                    return None
                time.sleep(0.05)
        except KeyboardInterrupt:
            self.stop()
            raise
        return self.status

    def stop(self):
        _stop(self.proc, self.run_dir)
        self.status = 1 if self.status is None else self.status

    def failures(self):
        """The failed ranks' records, first failure first."""
        return sorted(_records(self.run_dir, "failed-").values(), key=lambda r: r["time"])

    def report(self, out=sys.stderr):
        failed = self.failures()
        if not failed:
            print(f"ember.distributed.run: mpiexec exited with status {self.proc.returncode}", file=out)
            return
        first = failed[0]
        print(f"ember.distributed.run: rank {first['rank']} (pid {first['pid']} on {first['host']}) failed first: "
              f"{first['reason']}", file=out)
        for r in failed[1:]:
            print(f"  then rank {r['rank']}: {r['reason']}", file=out)
        lost = sorted(set(range(self.world_size)) - set(_records(self.run_dir, "done-")) - {r["rank"] for r in failed})
        if lost:
            print(f"  rank(s) {lost} were stopped by the launcher", file=out)
