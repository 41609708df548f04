"""Errors raised inside a model name the failing layer's path and class, keeping torch's exception type and text."""
import pytest
import torch

import ember
from ember import nn


def _torch_message(fn):
    with pytest.raises(Exception) as info:
        fn()
    return type(info.value), str(info.value)


def test_nested_linear_names_its_path_and_keeps_torch_text():
    def build(lib):
        return lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.Sequential(lib.nn.ReLU(), lib.nn.Linear(5, 2)))
    kind, text = _torch_message(lambda: build(torch)(torch.ones(2, 3)))
    with pytest.raises(kind) as info:
        build(ember)(ember.ones(2, 3))
    assert str(info.value) == f"1.1 (Linear): {text}"


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Linear(8, 8), nn.ReLU())
        self.head = nn.Linear(7, 2)

    def forward(self, x):
        return self.head(self.features(x))


def test_custom_module_path_and_unannotated_success():
    net = Net()
    with pytest.raises(RuntimeError, match=r"^head \(Linear\): mat1 and mat2 shapes cannot be multiplied \(4x8 and 7x2\)$"):
        net(ember.ones(4, 8))
    with pytest.raises(RuntimeError, match=r"^features\.0 \(Linear\): mat1 and mat2 .*\(4x6 and 8x8\)$"):
        net(ember.ones(4, 6))
    net.head = nn.Linear(8, 2)
    assert tuple(net(ember.ones(4, 8)).shape) == (4, 2)


def test_error_in_a_modules_own_forward_and_shared_layer():
    class Reshaper(nn.Module):
        def forward(self, x):
            return x.view(5, 5)

    kind, text = _torch_message(lambda: torch.ones(4).view(5, 5))
    with pytest.raises(kind) as info:
        nn.Sequential(nn.Identity(), Reshaper())(ember.ones(4))
    assert str(info.value) == f"1 (Reshaper): {text}"
    shared = nn.Linear(3, 3)
    model = nn.Sequential(shared, nn.ReLU(), shared, nn.Linear(2, 1))
    with pytest.raises(RuntimeError, match=r"^3 \(Linear\)"):
        model(ember.ones(1, 3))


def test_unregistered_module_stops_the_path_and_non_string_errors_untouched():
    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            object.__setattr__(self, "hidden", nn.Linear(2, 2))  # not registered as a submodule

        def forward(self, x):
            return self.hidden(x)

    with pytest.raises(RuntimeError, match=r"^Linear: mat1 and mat2"):
        nn.Sequential(Holder())(ember.ones(1, 3))

    class Odd(nn.Module):
        def forward(self, x):
            raise ValueError(1, 2)

    with pytest.raises(ValueError) as info:
        nn.Sequential(Odd())(ember.ones(1))
    assert info.value.args == (1, 2)


def test_conv_and_lstm_inside_models_name_their_path():
    def features(lib):
        return lib.nn.Sequential(lib.nn.Conv2d(1, 8, 3), lib.nn.ReLU(), lib.nn.MaxPool2d(2), lib.nn.Conv2d(4, 8, 3))
    kind, text = _torch_message(lambda: features(torch)(torch.ones(2, 1, 12, 12)))
    net = nn.Sequential()
    net.add_module("features", features(ember))
    with pytest.raises(kind) as info:
        net(ember.ones(2, 1, 12, 12))
    assert str(info.value) == f"features.3 (Conv2d): {text}"
    assert "weight of size [8, 4, 3, 3]" in text and "[2, 8, 5, 5]" in text  # both shapes are named

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.LSTM(10, 20)

        def forward(self, x):
            return self.rnn(x)[0]
    with pytest.raises(RuntimeError, match=r"^rnn \(LSTM\): input.size\(-1\) must be equal to input_size. Expected 10, got 7$"):
        Tagger()(ember.ones(5, 3, 7))
