"""Fixtures of the op database: the device and the transform every entry runs with
(options in plugin.py)."""
import pytest

from opdb import transforms
from opdb.runner import Context


@pytest.fixture(scope="session")
def opdb_context(pytestconfig):
    device, name = pytestconfig.getoption("opdb_device"), pytestconfig.getoption("opdb_transform")
    return Context(device, transforms.get(name), name)
