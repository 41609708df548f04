"""One rank's program under ``ember.distributed.run``: run the user's script or module as
``__main__`` and, if it fails, leave a one-line reason for the launcher before exiting.

A failed rank exits with ``os._exit``: MPI_Finalize would wait for ranks that are gone.
"""
import os
import runpy
import sys
import traceback


def _reason(exc):
    text = f"{type(exc).__name__}: {exc}".strip()
    return text.splitlines()[0][:500] if text else type(exc).__name__


def _record(reason):
    run_dir, rank = os.environ.get("EMBER_RUN_DIR"), os.environ.get("RANK", "?")
    if run_dir:
        tmp = os.path.join(run_dir, f".error-{rank}.tmp")
        with open(tmp, "w") as f:
            f.write(reason)
        os.replace(tmp, os.path.join(run_dir, f"error-{rank}.txt"))


def main(argv):
    module = argv[0] == "-m"
    target = argv[1] if module else argv[0]
    sys.argv = [target, *argv[2 if module else 1:]]
    if not module:
        sys.path.insert(0, os.path.dirname(os.path.abspath(target)))
    try:
        if module:
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            runpy.run_path(target, run_name="__main__")
    except SystemExit as e:
        if e.code in (None, 0):
            return
        _record(f"SystemExit: {e.code}")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(e.code if isinstance(e.code, int) else 1)
    except BaseException as e:  # the rank's failure, reported whatever it was
        traceback.print_exc()
        _record(_reason(e))
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)


if __name__ == "__main__":
    main(sys.argv[1:])
