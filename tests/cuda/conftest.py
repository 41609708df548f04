"""``fake_cuda`` turns on the strict CPU stand-in for CuPy inside one test, ``no_cuda`` turns every GPU
off, whatever ran before."""
import importlib

import pytest

from ember.ops import dispatch

device_module = importlib.import_module("ember.backend.device")  # the module: ember.backend.device is also a class


def _forget_gpu_modules():
    for dev in [d for d in dispatch._XP if d.type == "cuda"]:
        del dispatch._XP[dev]
    device_module._GPU.clear()


@pytest.fixture
def fake_cuda(monkeypatch):
    _forget_gpu_modules()
    monkeypatch.setenv("EMBER_FAKE_CUDA", "1")
    yield device_module.gpu_module()
    _forget_gpu_modules()


@pytest.fixture
def no_cuda(monkeypatch):
    """No GPU module at all, as on a machine without CuPy or a GPU."""
    _forget_gpu_modules()
    monkeypatch.setattr(device_module, "_GPU", [None])
    yield
    _forget_gpu_modules()
