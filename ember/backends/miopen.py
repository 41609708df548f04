"""MIOpen (AMD's cuDNN): not part of ember; ``immediate`` is recorded."""
import sys

from ember.backends._flags import temporarily

immediate = False


def is_available():
    return False


def flags(immediate=False):
    return temporarily(sys.modules[__name__], dict(immediate=immediate))
