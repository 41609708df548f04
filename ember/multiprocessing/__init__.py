"""Python's ``multiprocessing`` plus what training across processes needs: tensors in shared memory
(``Tensor.share_memory_()``, ``Module.share_memory()``; shared tensors travel to other processes
as shared memory) and ``spawn``, whose processes can join a process group.
"""
from multiprocessing import (
    Array, Barrier, Condition, Event, JoinableQueue, Lock, Manager, Pipe, Pool, Process, Queue, RLock, Semaphore,
    SimpleQueue, Value, active_children, cpu_count, current_process, get_all_start_methods, get_context,
    get_start_method, set_start_method,
)

from ember.multiprocessing.shared_memory import is_shared, share_memory_
from ember.multiprocessing.spawn import (
    ProcessContext, ProcessException, ProcessExitedException, ProcessRaisedException, spawn, start_processes,
)

__all__ = [
    "Array", "Barrier", "Condition", "Event", "JoinableQueue", "Lock", "Manager", "Pipe", "Pool", "Process",
    "ProcessContext", "ProcessException", "ProcessExitedException", "ProcessRaisedException", "Queue", "RLock",
    "Semaphore", "SimpleQueue", "Value", "active_children", "cpu_count", "current_process", "get_all_start_methods",
    "get_context", "get_start_method", "is_shared", "set_start_method", "share_memory_", "spawn", "start_processes",
]
