"""The ``ember`` command line (``python -m ember`` or the ``ember`` console script).

Each subcommand is a module of this package with a ``HELP`` line, ``add_arguments(parser)`` and
``run(args)`` returning an exit code; ``COMMANDS`` lists them, so a new command (``ember run``) is one
new module and one entry here. A subsystem with commands of its own adds them to the same table
(``ember serve`` and ``ember archive`` are ``ember.serve.cli``'s ``SERVE`` and ``ARCHIVE``).

>>> main(["version"])  # doctest: +ELLIPSIS
ember ...
0
"""
import argparse
import sys

from ember.cli import info, version
from ember.serve.cli import ARCHIVE, SERVE

COMMANDS = {"version": version, "info": info, "serve": SERVE, "archive": ARCHIVE}


def build_parser():
    parser = argparse.ArgumentParser(prog="ember", description="ember: a deep-learning framework with PyTorch's API.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for name, module in COMMANDS.items():
        sub = commands.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def main(argv=None):
    """Parse ``argv`` (default: the process's arguments), run the subcommand, return its exit code."""
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.command is None:
        parser.print_help()
        return 2
    return args.run(args)
