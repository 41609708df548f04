"""spawn() with a process that raises: the parent gets ProcessRaisedException naming it."""
import ember.multiprocessing as mp


def run(rank):
    if rank == 1:
        raise ValueError("rank one is broken")


if __name__ == "__main__":
    try:
        mp.spawn(run, nprocs=2)
    except mp.ProcessRaisedException as e:
        print("caught:", e.error_index, e.msg.strip().splitlines()[-1])
