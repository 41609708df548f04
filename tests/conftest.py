import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

pytest_plugins = ["opdb.plugin"]  # the op database's options and summary, active in the xdist controller too


def pytest_addoption(parser):
    parser.addoption("--fake-cuda", action="store_true",
                     help="run CUDA code on the strict CPU stand-in for CuPy (sets EMBER_FAKE_CUDA=1)")


def pytest_configure(config):
    if config.getoption("fake_cuda"):
        os.environ["EMBER_FAKE_CUDA"] = "1"
