"""The batched-fetch protocol: a dataset's ``__getitems__(indices)`` serves a whole batch, as in torch."""
import numpy as np
import pytest
import torch

import ember
from ember.utils.data import DataLoader, Dataset, Subset, TensorDataset

X = np.random.default_rng(0).standard_normal((37, 5)).astype(np.float32)
Y = np.arange(37)


class CountingTensorDataset(TensorDataset):
    def __init__(self, *tensors):
        super().__init__(*tensors)
        self.item_calls, self.batch_calls = 0, 0

    def __getitem__(self, index):
        self.item_calls += 1
        return super().__getitem__(index)

    def __getitems__(self, indices):
        self.batch_calls += 1
        return super().__getitems__(indices)


@pytest.mark.parametrize("kw", [dict(batch_size=8), dict(batch_size=8, drop_last=True), dict(batch_size=1),
                                dict(batch_size=37)], ids=str)
def test_tensor_dataset_batches_equal_torchs(kw):
    mine = [[t.cpu().numpy() for t in b] for b in DataLoader(TensorDataset(ember.tensor(X), ember.tensor(Y)), **kw)]
    ref = [[t.cpu().numpy() for t in b] for b in torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.tensor(X), torch.tensor(Y)), **kw)]
    assert len(mine) == len(ref)
    for a, b in zip(mine, ref):
        assert [t.dtype for t in a] == [t.dtype for t in b] and [t.shape for t in a] == [t.shape for t in b]
        for s, t in zip(a, b):
            np.testing.assert_array_equal(s, t)


def test_one_batched_fetch_per_batch_and_shuffled_order_kept():
    ds = CountingTensorDataset(ember.tensor(X), ember.tensor(Y))
    batches = list(DataLoader(ds, batch_size=8, shuffle=True, generator=ember.Generator().manual_seed(3)))
    assert ds.batch_calls == len(batches) == 5 and ds.item_calls == 0
    per_item = list(DataLoader(ItemOnly(ds), batch_size=8, shuffle=True, generator=ember.Generator().manual_seed(3)))
    assert ds.batch_calls == 5 and ds.item_calls == 37
    assert sorted(np.concatenate([b[1].cpu().numpy() for b in batches]).tolist()) == list(range(37))
    for (xb, yb), (xi, yi) in zip(batches, per_item):
        np.testing.assert_array_equal(yb.cpu().numpy(), yi.cpu().numpy())
        np.testing.assert_array_equal(xb.cpu().numpy(), X[yb.cpu().numpy()])
        np.testing.assert_array_equal(xb.cpu().numpy(), xi.cpu().numpy())
        assert xb.is_contiguous()


class ItemOnly(Dataset):
    """The same samples, fetched one ``__getitem__`` at a time."""

    def __init__(self, ds):
        self.ds = ds

    def __getitem__(self, i):
        return self.ds[i]

    def __len__(self):
        return len(self.ds)


def test_custom_collate_sees_per_sample_tuples_as_torch_does():
    seen = []

    def collate(batch):
        seen.append([tuple(int(v) for v in sample[1:]) for sample in batch])
        return len(batch)

    sizes = list(DataLoader(TensorDataset(ember.tensor(X), ember.tensor(Y)), batch_size=16, collate_fn=collate))
    assert sizes == [16, 16, 5]
    assert seen[2] == [(i,) for i in range(32, 37)]


def test_subset_forwards_to_the_datasets_batched_fetch():
    ds = CountingTensorDataset(ember.tensor(X), ember.tensor(Y))
    sub = Subset(ds, [5, 1, 30, 2])
    (xb, yb), = DataLoader(sub, batch_size=4)
    assert ds.batch_calls == 1 and ds.item_calls == 0
    np.testing.assert_array_equal(yb.cpu().numpy(), [5, 1, 30, 2])
    plain = Subset(Plain(), [3, 0])
    assert plain.__getitems__([1, 0]) == [0, 3] == torch.utils.data.Subset(Plain(), [3, 0]).__getitems__([1, 0])


class Plain(Dataset):
    def __getitem__(self, i):
        return i

    def __len__(self):
        return 10


def test_a_users_getitems_is_used_like_torchs():
    class Batched(Plain):
        def __getitems__(self, indices):
            return [i * 10 for i in indices]

    for lib in (ember, torch):
        loader = lib.utils.data.DataLoader(Batched(), batch_size=4)
        assert [b.tolist() for b in loader] == [[0, 10, 20, 30], [40, 50, 60, 70], [80, 90]]


def test_out_of_range_index_raises_index_error():
    ds = TensorDataset(ember.tensor(X))
    with pytest.raises(IndexError):
        ds.__getitems__([0, 37])
