"""Input pipelines with PyTorch's ``torch.utils.data`` API: datasets, samplers, collation
and the ``DataLoader`` (worker processes, resumable iteration).

>>> from ember.utils.data import DataLoader, TensorDataset
>>> next(iter(DataLoader(TensorDataset(ember.arange(4)), batch_size=2)))
[tensor([0, 1])]
"""
from ember.utils.data._worker import WorkerInfo, get_worker_info
from ember.utils.data.collate import default_collate, default_convert
from ember.utils.data.dataloader import DataLoader
from ember.utils.data.datapipes import (
    DataChunk, DFIterDataPipe, IterDataPipe, MapDataPipe, argument_validation, functional_datapipe,
    guaranteed_datapipes_determinism, non_deterministic, runtime_validation, runtime_validation_disabled,
)
from ember.utils.data.dataset import (
    ChainDataset, ConcatDataset, Dataset, IterableDataset, StackDataset, Subset, TensorDataset, random_split,
)
from ember.utils.data.distributed import DistributedSampler
from ember.utils.data.sampler import (
    BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler, WeightedRandomSampler,
)

__all__ = ["BatchSampler", "ChainDataset", "ConcatDataset", "DataChunk", "DataLoader", "Dataset", "DFIterDataPipe",
           "DistributedSampler", "IterDataPipe", "IterableDataset", "MapDataPipe", "argument_validation",
           "functional_datapipe", "guaranteed_datapipes_determinism", "non_deterministic", "runtime_validation",
           "runtime_validation_disabled", "RandomSampler", "Sampler", "SequentialSampler", "StackDataset", "Subset",
           "SubsetRandomSampler", "TensorDataset", "WeightedRandomSampler", "WorkerInfo", "default_collate",
           "default_convert", "get_worker_info", "random_split"]
