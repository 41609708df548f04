"""Samplers against torch.utils.data: identical deterministic orders, properties of random ones."""
import collections
import itertools
import time

import pytest
import torch.utils.data as tdata

import ember
import ember.utils.data as edata
from tests.utils.data_common import Squares


def test_sequential_sampler():
    assert list(edata.SequentialSampler(Squares(5))) == list(tdata.SequentialSampler(Squares(5)))
    assert len(edata.SequentialSampler(Squares(0))) == 0


@pytest.mark.parametrize("n,bs,drop", [(10, 3, False), (10, 3, True), (9, 3, True), (2, 5, False), (2, 5, True),
                                       (0, 2, False)])
def test_batch_sampler(n, bs, drop):
    e = edata.BatchSampler(edata.SequentialSampler(range(n)), bs, drop)
    t = tdata.BatchSampler(tdata.SequentialSampler(range(n)), bs, drop)
    assert list(e) == list(t) and len(e) == len(t)


@pytest.mark.parametrize("kwargs,msg", [({"batch_size": 0, "drop_last": False}, "batch_size should be a positive"),
                                        ({"batch_size": True, "drop_last": False}, "batch_size should be a positive"),
                                        ({"batch_size": 2, "drop_last": 1}, "drop_last should be a boolean value")])
def test_batch_sampler_errors(kwargs, msg):
    for lib in (edata, tdata):
        with pytest.raises(ValueError, match=msg):
            lib.BatchSampler(range(3), **kwargs)


@pytest.mark.parametrize("num_samples", [None, 3, 25])
def test_random_sampler_permutation(num_samples):
    gen = ember.Generator().manual_seed(1)
    s = edata.RandomSampler(range(10), num_samples=num_samples, generator=gen)
    out = list(s)
    assert len(out) == len(s) == (num_samples or 10)
    counts = collections.Counter(out)
    assert max(counts.values()) - min(counts.values()) <= 1 and set(out) <= set(range(10))
    assert out == list(edata.RandomSampler(range(10), num_samples=num_samples, generator=ember.Generator().manual_seed(1)))


def test_random_sampler_replacement_and_epochs():
    s = edata.RandomSampler(range(4), replacement=True, num_samples=200)
    out = list(s)
    assert len(out) == 200 and set(out) == {0, 1, 2, 3}
    ember.manual_seed(3)
    first, second = list(edata.RandomSampler(range(50))), list(edata.RandomSampler(range(50)))
    assert sorted(first) == list(range(50)) and first != second
    ember.manual_seed(3)
    assert list(edata.RandomSampler(range(50))) == first


@pytest.mark.parametrize("kwargs,error,msg", [({"replacement": 1}, TypeError, "replacement should be a boolean"),
                                              ({"num_samples": 0}, ValueError, "num_samples should be a positive")])
def test_random_sampler_errors(kwargs, error, msg):
    for lib in (edata, tdata):
        with pytest.raises(error, match=msg):
            lib.RandomSampler(range(3), **kwargs)


def test_subset_random_sampler():
    s = edata.SubsetRandomSampler([5, 7, 9, 11], generator=ember.Generator().manual_seed(0))
    assert sorted(s) == [5, 7, 9, 11] and len(s) == 4


def test_weighted_random_sampler():
    s = edata.WeightedRandomSampler([0.0, 1.0, 3.0], 400, generator=ember.Generator().manual_seed(0))
    counts = collections.Counter(s)
    assert len(s) == 400 and counts[0] == 0 and 2 < counts[2] / counts[1] < 4.5
    once = list(edata.WeightedRandomSampler([1.0, 1.0, 1.0, 0.0], 3, replacement=False))
    assert sorted(once) == [0, 1, 2]
    for lib in (edata, tdata):
        with pytest.raises(ValueError, match=r"weights should be a 1d sequence but given weights have shape \(1, 2\)"):
            lib.WeightedRandomSampler([[1.0, 2.0]], 2)
        with pytest.raises(ValueError, match="num_samples should be a positive integer value"):
            lib.WeightedRandomSampler([1.0], -1)


@pytest.mark.parametrize("n", [0, 1, 7, 10, 12])
@pytest.mark.parametrize("replicas", [1, 3, 4])
@pytest.mark.parametrize("drop_last", [False, True])
def test_distributed_sampler_matches_torch(n, replicas, drop_last):
    for rank in range(replicas):
        e = edata.DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        t = tdata.DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(e) == list(t) and len(e) == len(t)


@pytest.mark.parametrize("drop_last", [False, True])
def test_distributed_sampler_shuffle_properties(drop_last):
    n, replicas = 23, 4

    def shards(epoch, seed=0):
        out = []
        for rank in range(replicas):
            s = edata.DistributedSampler(range(n), replicas, rank, shuffle=True, seed=seed, drop_last=drop_last)
            s.set_epoch(epoch)
            out.append(list(s))
        return out

    first = shards(0)
    assert len({len(s) for s in first}) == 1
    flat = [i for s in first for i in s]
    if drop_last:
        assert len(set(flat)) == len(flat) == 20
    else:
        assert set(flat) == set(range(n)) and len(flat) == 24
    assert shards(0) == first and shards(1) != first and shards(0, seed=5) != first


def test_distributed_sampler_bad_rank():
    for lib in (edata, tdata):
        with pytest.raises(ValueError, match=r"Invalid rank 2, rank should be in the interval \[0, 1\]"):
            lib.DistributedSampler(range(4), num_replicas=2, rank=2)


def test_endless_random_sampler_draws_lazily_in_the_same_order():
    s = edata.RandomSampler(range(10), replacement=True, num_samples=int(1e10), generator=ember.Generator().manual_seed(4))
    assert len(s) == 10**10
    first = list(itertools.islice(iter(s), 70000))  # across two draw chunks
    expected = ember.randint(0, 10, (70000,), generator=ember.Generator().manual_seed(4)).tolist()
    assert first == expected
    for n in (3, 32768, 32769, 65536):
        short = list(edata.RandomSampler(range(7), replacement=True, num_samples=n, generator=ember.Generator().manual_seed(1)))
        assert short == ember.randint(0, 7, (n,), generator=ember.Generator().manual_seed(1)).tolist()


@pytest.mark.parametrize("workers", [0, 4])
def test_endless_loader_plans_as_it_goes(workers):
    def loader():
        sampler = edata.RandomSampler(range(50), replacement=True, num_samples=int(1e10),
                                      generator=ember.Generator().manual_seed(7))
        return edata.DataLoader(list(range(50)), batch_size=8, sampler=sampler, num_workers=workers)
    start = time.monotonic()
    dl = loader()
    assert len(dl) == 1250000000
    got = [b.tolist() for b in itertools.islice(dl, 100)]
    assert time.monotonic() - start < 60
    flat = ember.randint(0, 50, (800,), generator=ember.Generator().manual_seed(7)).tolist()
    assert got == [flat[i:i + 8] for i in range(0, 800, 8)]


def test_state_dict_of_a_lazy_plan_resumes_exactly():
    def make():
        return edata.DataLoader(list(range(20)), batch_size=3, shuffle=True, num_workers=2,
                                generator=ember.Generator().manual_seed(2))
    first = make()
    it = iter(first)
    seen = [next(it).tolist() for _ in range(3)]
    state = first.state_dict()
    assert state["start"] == state["yielded"] == 3 and len(state["order"]) == 7 - 3
    rest = [b.tolist() for b in it]
    second = make()
    second.load_state_dict(state)
    assert [b.tolist() for b in second] == rest and len(seen + rest) == 7
