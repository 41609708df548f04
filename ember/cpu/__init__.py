"""``ember.cpu``: PyTorch's CPU device module, for the programs that ask it (``ember.cpu.amp``)."""


def is_available():
    """The CPU is always there."""
    return True


def device_count():
    return 1


def current_device():
    return "cpu"


def synchronize(device=None):
    """Nothing to wait for: CPU ops finish before they return."""
