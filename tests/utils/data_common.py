"""Shared helpers for the ember.utils.data tests: datasets that work with both libraries
and a structural comparison of an ember batch against a torch batch."""
import collections

import numpy as np
import torch

import ember
from tests.utils.plain_datasets import Squares  # noqa: F401 - re-exported for the tests

Point = collections.namedtuple("Point", "x y")


class Mixed:
    """A map-style dataset whose samples hold every kind default_collate handles (no tensors,
    so the same object serves ember's and torch's DataLoader)."""

    def __init__(self, n=10):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        arr = np.arange(6, dtype=np.float32).reshape(2, 3) + i
        return {"a": arr, "i": i, "f": i / 2, "b": i % 2 == 0, "s": f"s{i}", "p": Point(i, np.int32(i)),
                "l": [i, (i, 2.5)], "n": np.float64(i)}


def assert_same_batch(e, t, path="batch"):
    """ember batch ``e`` has the structure, types, dtypes and values of torch batch ``t``."""
    if isinstance(t, (torch.Tensor, ember.Tensor)):
        assert isinstance(e, ember.Tensor), f"{path}: {type(e)} is not a tensor"
        assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1], f"{path}: {e.dtype} vs {t.dtype}"
        assert tuple(e.shape) == tuple(t.shape), f"{path}: {tuple(e.shape)} vs {tuple(t.shape)}"
        np.testing.assert_array_equal(e.cpu().numpy(), t.cpu().numpy(), err_msg=path)
    elif isinstance(t, dict):
        assert type(e) is type(t) and list(e) == list(t), path
        for k in t:
            assert_same_batch(e[k], t[k], f"{path}[{k!r}]")
    elif isinstance(t, (list, tuple)):
        assert type(e) is type(t) and len(e) == len(t), f"{path}: {type(e)} vs {type(t)}"
        for i, (a, b) in enumerate(zip(e, t)):
            assert_same_batch(a, b, f"{path}[{i}]")
    else:
        assert type(e) is type(t) and e == t, f"{path}: {e!r} vs {t!r}"


def assert_same_batches(e_batches, t_batches):
    e_batches, t_batches = list(e_batches), list(t_batches)
    assert len(e_batches) == len(t_batches)
    for i, (e, t) in enumerate(zip(e_batches, t_batches)):
        assert_same_batch(e, t, f"batch{i}")
