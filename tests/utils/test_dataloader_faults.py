"""DataLoader worker faults that torch leaves hanging or unreadable: batches and exceptions that cannot
be pickled, KeyErrors, the sample indices of a failing batch, and workers orphaned by a killed parent."""
import gc
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import ember
import ember.utils.data as edata

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Samples(edata.Dataset):
    """Sample i is {"x": i}; sample ``bad`` is what ``make(i)`` returns instead."""

    def __init__(self, n, bad, make):
        self.n, self.bad, self.make = n, bad, make

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return self.make(i) if i == self.bad else {"x": i}


def lambda_sample(i):
    return {"x": i, "f": lambda: i}


def raise_unpicklable(i):
    class UnpicklableError(Exception):  # a local class cannot be pickled by reference
        pass
    raise UnpicklableError(f"sample {i} failed")


def raise_key_error(i):
    return {}["missing"]


def no_children(wait=3.0):
    gc.collect()  # the failed iterator, held by the traceback's frames, shuts its workers down when collected
    deadline = time.monotonic() + wait
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.02)
    return not multiprocessing.active_children()


def run_bounded(fn, seconds=20):
    """Run ``fn`` in a thread; fail instead of hanging when it does not finish in time."""
    out = {}

    def target():
        try:
            out["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - carried to the test thread
            out["error"] = e
    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), f"hung for {seconds} s"
    if "error" in out:
        raise out["error"]
    return out.get("value")


def test_unpicklable_batch_is_an_error_not_a_hang():
    loader = edata.DataLoader(Samples(8, 5, lambda_sample), batch_size=2, num_workers=2, timeout=0,
                              collate_fn=lambda b: b)
    with pytest.raises(RuntimeError, match=r"DataLoader worker 0 could not send the batch of sample indices "
                                           r"\[4, 5\] to the main process: batch\[1\]\['f'\] is a builtins.function, "
                                           r"which cannot be pickled"):
        run_bounded(lambda: list(loader))
    assert no_children()


def test_unpicklable_exception_arrives_as_runtime_error():
    loader = edata.DataLoader(Samples(6, 3, raise_unpicklable), batch_size=1, num_workers=2)
    with pytest.raises(RuntimeError, match=r"(?s)exception type .*<locals>.UnpicklableError cannot be pickled.*"
                                           r"Caught UnpicklableError in DataLoader worker process 1 "
                                           r"while loading sample indices \[3\].*"
                                           r"sample 3 failed"):
        run_bounded(lambda: list(loader))
    assert no_children()


@pytest.mark.parametrize("workers", [0, 2])
def test_errors_name_the_sample_indices_and_key_errors_read_well(workers):
    loader = edata.DataLoader(Samples(6, 4, raise_key_error), batch_size=3, num_workers=workers)
    with pytest.raises(KeyError) as info:
        run_bounded(lambda: list(loader))
    text = str(info.value)
    loader = info = None
    if workers:
        assert "while loading sample indices [3, 4, 5]" in text
        assert text.startswith("Caught KeyError") and "\nOriginal Traceback (most recent call last):\n" in text
        assert text.endswith("KeyError: 'missing'\n")
    else:
        assert text == "'missing'"
    assert no_children()


def test_workers_exit_when_the_main_process_is_killed(tmp_path):
    script = textwrap.dedent(f"""
        import os, sys, time
        sys.path.insert(0, {ROOT!r})
        import ember.utils.data as edata

        class Stuck(edata.Dataset):
            def __len__(self):
                return 100
            def __getitem__(self, i):
                with open({str(tmp_path)!r} + f"/worker-{{os.getpid()}}", "w"):
                    pass
                time.sleep(1000)  # user code that never returns

        for batch in edata.DataLoader(Stuck(), batch_size=1, num_workers=2):
            pass
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT})
    try:
        deadline = time.monotonic() + 60
        while len(list(tmp_path.glob("worker-*"))) < 2:
            assert time.monotonic() < deadline and proc.poll() is None, "workers never started"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    pids = [int(p.name.split("-")[1]) for p in tmp_path.glob("worker-*")]
    deadline = time.monotonic() + 5
    while any(alive(pid) for pid in pids):
        assert time.monotonic() < deadline, f"orphaned workers still running: {[p for p in pids if alive(p)]}"
        time.sleep(0.05)


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def test_good_batches_still_flow():
    loader = edata.DataLoader(Samples(5, -1, None), batch_size=2, num_workers=2)
    assert [b["x"].tolist() for b in run_bounded(lambda: list(loader))] == [[0, 1], [2, 3], [4]]
    assert isinstance(ember.utils.data.get_worker_info(), type(None))
