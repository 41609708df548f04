"""Data-parallel training across processes and machines, with ``torch.distributed``'s API.

CPU tensors travel over MPI (mpi4py; the ``mpich`` wheel or a system MPI), CUDA tensors over
NCCL (CuPy). ``"gloo"`` is accepted as a name for the MPI engine so that PyTorch programs run
unchanged. Start ranks with ``python -m ember.distributed.run``, ``mpiexec`` or
``ember.multiprocessing.spawn``. mpi4py is imported when a process group is created, never by
``import ember``.
"""
from ember.distributed.checkpoint import is_main_process, save_on_main
from ember.distributed.collectives import (
    all_gather, all_gather_into_tensor, all_reduce, all_to_all, all_to_all_single, barrier, broadcast, gather,
    irecv, isend, recv, reduce, reduce_scatter, reduce_scatter_tensor, scatter, send,
)
from ember.distributed.constants import Backend, DistBackendError, DistError, ReduceOp, default_pg_timeout
from ember.distributed.objects import all_gather_object, broadcast_object_list, gather_object, scatter_object_list
from ember.distributed.process_group import (
    GroupMember, ProcessGroup, destroy_process_group, get_backend, get_global_rank, get_group_rank,
    get_process_group_ranks, get_rank, get_world_size, group, init_process_group, is_available,
    is_gloo_available, is_initialized, is_mpi_available, is_nccl_available, new_group,
)
from ember.distributed.work import Work

all_gather_base = all_gather_into_tensor
reduce_scatter_base = reduce_scatter_tensor

__all__ = [
    "Backend", "DistBackendError", "DistError", "GroupMember", "ProcessGroup", "ReduceOp", "Work", "all_gather",
    "all_gather_into_tensor", "all_gather_object", "all_reduce", "all_to_all", "all_to_all_single", "barrier",
    "broadcast", "broadcast_object_list", "default_pg_timeout", "destroy_process_group", "gather", "gather_object",
    "get_backend", "get_global_rank", "get_group_rank", "get_process_group_ranks", "get_rank", "get_world_size",
    "group", "init_process_group", "irecv", "is_available", "is_main_process", "is_gloo_available", "is_initialized",
    "is_mpi_available", "is_nccl_available", "isend", "new_group", "recv", "reduce", "reduce_scatter",
    "reduce_scatter_tensor", "save_on_main", "scatter", "scatter_object_list", "send",
]
