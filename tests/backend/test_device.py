"""device objects: parsing, equality with strings, repr like torch."""
import pickle

import pytest
import torch

import ember


@pytest.mark.parametrize("args", [("cpu",), ("cuda",), ("cuda:1",), ("cuda", 1), ("meta",), ("cpu", 0)])
def test_device_like_torch(args):
    e, t = ember.device(*args), torch.device(*args)
    assert repr(e) == repr(t)
    assert str(e) == str(t)
    assert (e.type, e.index) == (t.type, t.index)
    assert e == str(t) and e == ember.device(str(t))
    assert pickle.loads(pickle.dumps(e)) == e
    assert hash(e) == hash(ember.device(*args))


def test_device_passthrough_and_inequality():
    assert ember.device(0) == "cuda:0"
    d = ember.device("cuda:1")
    assert ember.device(d) is d
    assert d != "cuda:0" and d != ember.device("cpu") and ember.device("cpu") == "cpu"
    with pytest.raises(AttributeError):
        d.index = 3


@pytest.mark.parametrize("bad", ["gpu", "cuda:x"])
def test_bad_device_strings(bad):
    for lib in (torch, ember):
        with pytest.raises(RuntimeError):
            lib.device(bad)


def test_index_twice_is_an_error():
    for lib in (torch, ember):
        with pytest.raises(RuntimeError, match="must not include an index"):
            lib.device("cuda:0", 1)
