"""Wrappers that train one model on several processes (``DistributedDataParallel``) or devices (``DataParallel``)."""
from ember.nn.parallel.data_parallel import DataParallel
from ember.nn.parallel.distributed import DistributedDataParallel

__all__ = ["DataParallel", "DistributedDataParallel"]
