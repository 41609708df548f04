from collections import OrderedDict

import pytest
import torch
from conftest import same_repr

import ember


def leaves(lib, n=4):
    class Add(lib.nn.Module):
        def __init__(self, k):
            super().__init__()
            self.k = k

        def forward(self, x):
            return x * 2 + self.k

        def extra_repr(self):
            return f"k={self.k}"

    return [Add(k) for k in range(n)]


def both(make):
    return make(ember), make(torch)


def test_sequential_forward_and_indexing():
    e, t = both(lambda lib: lib.nn.Sequential(*leaves(lib)))
    assert float(e(ember.tensor(1.0))) == float(t(torch.tensor(1.0)))
    assert e[-1].k == 3 and e[1].k == 1 and len(e) == 4
    assert [m.k for m in e] == [0, 1, 2, 3]
    assert isinstance(e[1:3], ember.nn.Sequential) and same_repr(e[1:3], t[1:3])
    assert same_repr(e[::-2], t[::-2])
    with pytest.raises(IndexError):
        e[4]


def test_sequential_ordered_dict_append_insert_del():
    def make(lib):
        s = lib.nn.Sequential(*leaves(lib, 2))
        s.append(leaves(lib)[2])
        s.insert(1, leaves(lib)[3])
        del s[0]
        s[0] = leaves(lib)[1]
        return s
    e, t = both(make)
    assert same_repr(e, t)
    assert [n for n, _ in e.named_children()] == [n for n, _ in t.named_children()]
    e, t = both(lambda lib: lib.nn.Sequential(OrderedDict(a=leaves(lib)[0], b=leaves(lib)[1])).append(leaves(lib)[2]))
    assert same_repr(e, t) and same_repr(e[1:], t[1:])


def test_module_list_ops():
    def make(lib):
        ml = lib.nn.ModuleList(leaves(lib, 2))
        ml.append(leaves(lib)[2])
        ml.extend(leaves(lib, 2))
        ml.insert(0, leaves(lib)[3])
        ml += leaves(lib, 1)
        del ml[2]
        return ml
    e, t = both(make)
    assert same_repr(e, t) and len(e) == len(t)
    assert same_repr(e[1:4], t[1:4]) and e[-1].k == t[-1].k
    assert [n for n, _ in e.named_modules()] == [n for n, _ in t.named_modules()]
    with pytest.raises(TypeError):
        e.extend(ember.nn.Module())


def test_module_list_repr_groups_repeats():
    e, t = both(lambda lib: lib.nn.ModuleList([leaves(lib, 1)[0] for _ in range(3)] + leaves(lib, 2)))
    assert same_repr(e, t)
    assert "(0-3): 4 x Add(k=0)" in repr(e)
    assert same_repr(*both(lambda lib: lib.nn.ModuleList()))


def test_module_dict():
    def make(lib):
        md = lib.nn.ModuleDict({"x": leaves(lib)[0]})
        md["y"] = leaves(lib)[1]
        md.update([("z", leaves(lib)[2])])
        md.pop("x")
        return md
    e, t = both(make)
    assert same_repr(e, t) and list(e) == list(t) == ["y", "z"]
    assert "y" in e and len(e) == 2 and list(e.keys()) == list(t.keys())
    assert [m.k for m in e.values()] == [1, 2]


@pytest.mark.cpu_only  # compares with output torch prints for CPU tensors
def test_parameter_list_and_dict():
    def make(lib):
        m = lib.nn.Module()
        m.pl = lib.nn.ParameterList([lib.ones(2), lib.nn.Parameter(lib.zeros(3, 2))])
        m.pl.append(lib.ones(1, dtype=lib.float64))
        m.pd = lib.nn.ParameterDict({"a": lib.ones(2)})
        m.pd["b"] = lib.nn.Parameter(lib.zeros(1))
        return m
    e, t = both(make)
    assert same_repr(e, t)
    assert list(e.state_dict()) == list(t.state_dict())
    assert all(isinstance(p, ember.nn.Parameter) for p in e.pl) and len(e.pl) == 3
    assert isinstance(e.pd["a"], ember.nn.Parameter) and list(e.pd.keys()) == ["a", "b"]
    assert len(e.pl[1:]) == 2 and e.pl[-1].dtype == ember.float64
    del e.pd["a"]
    assert list(e.pd.keys()) == ["b"] and [n for n, _ in e.named_parameters()][-1] == "pd.b"
