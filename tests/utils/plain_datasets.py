"""Datasets for the ember.utils.data tests that import neither torch nor the test modules,
so a "spawn" worker unpickles them without paying for a torch import."""
import ember.utils.data as edata


class Squares:
    """Sample i is i * i (an int): for sampler-order tests."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return i * i


def check_worker_id(worker_id):
    """A worker_init_fn: the worker info it sees agrees with the id it is given."""
    assert edata.get_worker_info().id == worker_id
