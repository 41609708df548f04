"""Tiny models built the same way in ember and torch, for the nn tests."""
from collections import OrderedDict

import pytest


def make_net(lib):
    """A small tree: parameters, persistent and non-persistent buffers, nested containers, a shared child."""
    nn = lib.nn

    class Leaf(nn.Module):
        def __init__(self, n):
            super().__init__()
            self.w = nn.Parameter(lib.ones(n))
            self.register_buffer("rm", lib.zeros(n))
            self.register_buffer("tmp", lib.zeros(1), persistent=False)

        def forward(self, x):
            return x * self.w

        def extra_repr(self):
            return f"n={self.w.shape[0]}"

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = Leaf(2)
            self.seq = nn.Sequential(Leaf(2), nn.Sequential(OrderedDict(x=Leaf(2))), Leaf(2))
            self.ml = nn.ModuleList([Leaf(2), Leaf(2), Leaf(3)])
            self.md = nn.ModuleDict({"p": Leaf(1)})
            self.pl = nn.ParameterList([nn.Parameter(lib.ones(2)), lib.zeros(3)])
            self.pd = nn.ParameterDict({"k": nn.Parameter(lib.ones(2, 2))})
            self.b = self.a
            self.bias = nn.Parameter(lib.zeros(2))

        def forward(self, x):
            return self.seq(self.a(x)) + self.bias

    return Net()


@pytest.fixture
def nets():
    import torch

    import ember
    return make_net(ember), make_net(torch)


def same_repr(e, t):
    return repr(e) == repr(t).replace("torch.", "ember.")
