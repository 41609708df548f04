"""DataLoader (single process) against torch's: batches, collation, options, errors, resume."""
import numpy as np
import pytest
import torch
import torch.utils.data as tdata

import ember
import ember.utils.data as edata
from tests.utils.data_common import Mixed, Squares, assert_same_batches


def _stream(lib, n):
    return type("S", (lib.utils.data.IterableDataset,), {"__iter__": lambda s: iter(range(n)),
                                                        "__len__": lambda s: n})()


@pytest.mark.parametrize("kwargs", [{}, {"batch_size": 3}, {"batch_size": 3, "drop_last": True},
                                    {"batch_size": 4, "drop_last": False}, {"batch_size": None},
                                    {"batch_size": 20}, {"batch_size": 20, "drop_last": True}])
def test_mixed_dataset_matches_torch(kwargs):
    e, t = edata.DataLoader(Mixed(10), **kwargs), tdata.DataLoader(Mixed(10), **kwargs)
    assert len(e) == len(t)
    assert_same_batches(e, t)


def test_tensor_dataset_matches_torch():
    x = np.random.default_rng(0).standard_normal((7, 3)).astype(np.float32)
    e = edata.DataLoader(edata.TensorDataset(ember.tensor(x), ember.arange(7)), batch_size=2)
    t = tdata.DataLoader(tdata.TensorDataset(torch.tensor(x), torch.arange(7)), batch_size=2)
    assert_same_batches(e, t)


def test_batch_sampler_and_sampler_arguments():
    order = [5, 1, 3, 0]
    e = edata.DataLoader(Squares(6), sampler=order, batch_size=3)
    t = tdata.DataLoader(Squares(6), sampler=order, batch_size=3)
    assert_same_batches(e, t)
    batches = [[0, 1], [4], [2, 3, 5]]
    assert_same_batches(edata.DataLoader(Squares(6), batch_sampler=batches),
                        tdata.DataLoader(Squares(6), batch_sampler=batches))
    assert_same_batches(edata.DataLoader(Squares(4), collate_fn=lambda b: b, batch_size=3),
                        tdata.DataLoader(Squares(4), collate_fn=lambda b: b, batch_size=3))


@pytest.mark.parametrize("kwargs", [{"batch_size": 3}, {"batch_size": 3, "drop_last": True}, {"batch_size": None}])
def test_iterable_dataset_matches_torch(kwargs):
    e, t = edata.DataLoader(_stream(ember, 7), **kwargs), tdata.DataLoader(_stream(torch, 7), **kwargs)
    assert len(e) == len(t)
    assert_same_batches(e, t)


def test_shuffle_is_a_permutation_and_seeded():
    def run(seed):
        return [b.tolist() for b in edata.DataLoader(Squares(10), batch_size=4, shuffle=True,
                                                      generator=ember.Generator().manual_seed(seed))]
    first = run(0)
    assert sorted(v for b in first for v in b) == [i * i for i in range(10)]
    assert [len(b) for b in first] == [4, 4, 2]
    assert run(0) == first and run(1) != first


@pytest.mark.parametrize("kwargs,msg", [
    ({"batch_size": 2, "batch_sampler": [[0]]}, "batch_sampler option is mutually exclusive"),
    ({"sampler": [0], "shuffle": True}, "sampler option is mutually exclusive with shuffle"),
    ({"num_workers": -1}, "num_workers option should be non-negative"),
    ({"timeout": -1}, "timeout option should be non-negative"),
    ({"prefetch_factor": 2}, "prefetch_factor option could only be specified in multiprocessing"),
    ({"persistent_workers": True}, "persistent_workers option needs num_workers > 0"),
    ({"batch_size": None, "drop_last": True}, "batch_size=None option disables auto-batching"),
])
def test_option_errors_match_torch(kwargs, msg):
    for lib in (edata, tdata):
        with pytest.raises(ValueError, match=msg):
            lib.DataLoader(Squares(3), **kwargs)


@pytest.mark.parametrize("kwargs", [{"shuffle": True}, {"sampler": [0]}, {"batch_sampler": [[0]]}])
def test_iterable_dataset_rejects_sampling_options(kwargs):
    for lib in (ember, torch):
        with pytest.raises(ValueError, match="DataLoader with IterableDataset: expected unspecified"):
            lib.utils.data.DataLoader(_stream(lib, 3), **kwargs)


@pytest.mark.cpu_only  # no GPU at all: the factories must build on the CPU
def test_pin_memory_without_a_gpu_warns_and_loads_as_usual(no_cuda):
    with pytest.warns(UserWarning, match="no accelerator is found"):
        batches = list(edata.DataLoader(Squares(3), batch_size=2, pin_memory=True))
    assert [b.tolist() for b in batches] == [[0, 1], [4]] and not batches[0].is_pinned()


def _resume(make, stop_after):
    first = make()
    it = iter(first)
    seen = [next(it).tolist() for _ in range(stop_after)]
    state = first.state_dict()
    rest_of_first = [b.tolist() for b in it]
    second = make()
    second.load_state_dict(state)
    resumed = [b.tolist() for b in second]
    assert resumed == rest_of_first
    assert second.state_dict()["yielded"] == len(seen) + len(resumed)
    return seen, resumed


@pytest.mark.parametrize("stop_after", [0, 2, 5])
def test_resume_shuffled_epoch(stop_after):
    seen, resumed = _resume(lambda: edata.DataLoader(Squares(10), batch_size=2, shuffle=True), stop_after)
    assert sorted(v for b in seen + resumed for v in b) == [i * i for i in range(10)]


def test_resume_then_next_epoch_is_fresh():
    loader = edata.DataLoader(Squares(6), batch_size=4)
    loader.load_state_dict({"order": [[5], [4, 3], [2]], "yielded": 1})
    assert [b.tolist() for b in loader] == [[16, 9], [4]]
    assert [b.tolist() for b in loader] == [[0, 1, 4, 9], [16, 25]]


def test_resume_iterable_dataset():
    seen, resumed = _resume(lambda: edata.DataLoader(_stream(ember, 9), batch_size=2), 3)
    assert seen + resumed == [[0, 1], [2, 3], [4, 5], [6, 7], [8]]


def test_state_dict_survives_a_round_trip_through_plain_data():
    loader = edata.DataLoader(Squares(5), batch_size=2, shuffle=True)
    it = iter(loader)
    next(it)
    state = loader.state_dict()
    assert state["yielded"] == 1 and all(isinstance(b, list) for b in state["order"])
    with pytest.raises(KeyError, match="expects keys 'order' and 'yielded'"):
        loader.load_state_dict({"yielded": 1})
