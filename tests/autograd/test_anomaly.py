"""Anomaly detection: the backward that produced NaN is named, as in torch."""
import warnings

import pytest
import torch

import ember
from autograd_helpers import leaf

pytestmark = pytest.mark.filterwarnings("ignore:Anomaly Detection has been enabled")


@pytest.mark.parametrize("lib", [ember, torch])
def test_nan_in_backward_names_the_op(lib):
    x = leaf(lib, [0.0, 1.0])
    with lib.autograd.detect_anomaly():
        y = (x.sqrt() * 0).sum()  # d sqrt at 0 is inf; inf * 0 is nan
        with pytest.raises(RuntimeError, match=r"Function 'SqrtBackward0' returned nan values in its 0th output"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                y.backward()


def test_message_shows_the_forward_trace():
    x = leaf(ember, [0.0])
    with ember.autograd.detect_anomaly():
        y = x.sqrt() * 0  # the line to find in the trace
        with pytest.raises(RuntimeError) as err:
            y.sum().backward()
    assert "the line to find in the trace" in str(err.value)


@pytest.mark.parametrize("lib", [ember, torch])
def test_without_anomaly_mode_nan_passes(lib):
    x = leaf(lib, [0.0, 1.0])
    (x.sqrt() * 0).sum().backward()
    assert bool(x.grad.isnan()[0]) and x.grad[1].item() == 0.0


@pytest.mark.parametrize("lib", [ember, torch])
def test_check_nan_false_and_set_detect_anomaly(lib):
    x = leaf(lib, [0.0])
    with lib.autograd.detect_anomaly(check_nan=False):
        assert lib.is_anomaly_enabled() and not lib.is_anomaly_check_nan_enabled()
        (x.sqrt() * 0).sum().backward()
    assert not lib.is_anomaly_enabled()
    lib.autograd.set_detect_anomaly(True)
    try:
        assert lib.is_anomaly_enabled()
        with pytest.raises(RuntimeError, match="returned nan values"):
            (x.sqrt() * 0).sum().backward()
    finally:
        lib.autograd.set_detect_anomaly(False)
    assert not lib.is_anomaly_enabled()


@pytest.mark.parametrize("lib", [ember, torch])
def test_error_in_backward_warns_with_node_name(lib):
    class Broken(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 1

        @staticmethod
        def backward(ctx, g):
            raise ValueError("boom")

    x = leaf(lib, [1.0])
    with lib.autograd.detect_anomaly():
        y = Broken.apply(x).sum()
        with pytest.warns(UserWarning, match="Error detected in BrokenBackward"):
            with pytest.raises(ValueError, match="boom"):
                y.backward()


def test_enabling_warns():
    with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
        ember.autograd.detect_anomaly()


@pytest.mark.parametrize("lib", [ember, torch])
def test_set_anomaly_enabled_top_level(lib):
    lib.set_anomaly_enabled(True, check_nan=False)
    try:
        assert lib.is_anomaly_enabled() and not lib.is_anomaly_check_nan_enabled()
    finally:
        lib.set_anomaly_enabled(False)
    assert not lib.is_anomaly_enabled() and lib.is_anomaly_check_nan_enabled()
