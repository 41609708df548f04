import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

pytest_plugins = ["opdb.plugin"]  # the op database's options and summary, active in the xdist controller too


def pytest_addoption(parser):
    parser.addoption("--fake-cuda", action="store_true",
                     help="run CUDA code on the strict CPU stand-in for CuPy (sets EMBER_FAKE_CUDA=1)")
    parser.addoption("--default-device", default=None,
                     help="the device ember's factories use when given none (ember.set_default_device), e.g. cuda")


def pytest_configure(config):
    config.addinivalue_line("markers", "cpu_only: checks CPU-specific output or placement; skipped when "
                                       "--default-device makes factories build tensors elsewhere")
    if config.getoption("fake_cuda"):
        os.environ["EMBER_FAKE_CUDA"] = "1"
    if config.getoption("default_device"):
        import ember
        ember.set_default_device(config.getoption("default_device"))


def pytest_collection_modifyitems(config, items):
    device = config.getoption("default_device")
    if device and device != "cpu":
        skip = pytest.mark.skip(reason=f"CPU-specific check: factories build tensors on {device} in this run")
        for item in items:
            if "cpu_only" in item.keywords:
                item.add_marker(skip)
