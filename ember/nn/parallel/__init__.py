"""Wrappers that train one model on several processes (``DistributedDataParallel``) or devices (``DataParallel``)."""
from ember.nn.parallel.data_parallel import DataParallel
from ember.nn.parallel import sync_batchnorm  # noqa: F401 (installs SyncBatchNorm's collectives)
from ember.nn.parallel.distributed import DistributedDataParallel

__all__ = ["DataParallel", "DistributedDataParallel"]
