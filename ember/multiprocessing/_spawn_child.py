"""A process started by ``ember.multiprocessing.spawn``: rebuild the parent's main module (as
Python's "spawn" start method does), then run ``fn(rank, *args)``."""
import os
import pickle
import sys
from multiprocessing import spawn as mp_spawn


def main(run_dir):
    with open(os.path.join(run_dir, "main.pkl"), "rb") as f:
        preparation = pickle.load(f)
    mp_spawn.prepare(preparation)  # fn may live in the main script: import it before unpickling fn
    with open(os.path.join(run_dir, "payload.pkl"), "rb") as f:
        fn, args = pickle.load(f)
    fn(int(os.environ["RANK"]), *args)


if __name__ == "__main__":
    main(sys.argv[1])
