"""``ember version``: the installed ember's version."""
from ember.version import __version__

HELP = "print ember's version"


def add_arguments(parser):
    pass


def run(args):
    print(f"ember {__version__}")
    return 0
