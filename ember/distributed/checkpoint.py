"""Checkpoints and output in a job of several ranks: rank 0 writes, the others wait for it."""
from ember.distributed import collectives
from ember.distributed.process_group import get_rank, is_initialized
from ember.serialization import save


def is_main_process():
    """True on rank 0 (and in a program that has no process group)."""
    return not is_initialized() or get_rank() == 0


def save_on_main(obj, path):
    """Save ``obj`` from rank 0 only, then wait at a barrier so that no rank reads a half-written file.

    >>> save_on_main({"model": model.state_dict()}, "checkpoint.ember")  # doctest: +SKIP
    """
    if is_main_process():
        save(obj, path)
    if is_initialized():
        collectives.barrier()
