"""The ``ganforge`` command: parse -> ``commands/<name>.run`` -> one clean line on user mistakes."""

from __future__ import annotations

import argparse
import sys

from ganforge.commands import COMMANDS
from ganforge.commands.common import Parser
from ganforge.errors import UserError
from ganforge.version import __version__

_BY_NAME = {command.NAME: command for command in COMMANDS}


def build_parser() -> Parser:
    """The argument parser of every sub-command."""
    parser = Parser(
        prog="ganforge",
        description="Train, watch and use GANs on images.",
        epilog="run 'ganforge COMMAND --help' for a command's options and examples",
    )
    parser.add_argument("--version", action="version", version=f"ganforge {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def parse_args(argv: list[str]) -> argparse.Namespace:
    """``argv`` as the command it names reads it (``train`` first rewrites its boolean flags)."""
    chosen = _BY_NAME.get(argv[0]) if argv else None
    if chosen is not None and hasattr(chosen, "normalise_argv"):
        argv = [argv[0], *chosen.normalise_argv(argv[1:])]
    args = build_parser().parse_args(argv)
    args.argv = argv
    return args


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ganforge`` console script; returns the exit status."""
    args = parse_args(sys.argv[1:] if argv is None else list(argv))
    try:
        return _BY_NAME[args.command].run(args)
    except UserError as exc:
        # One line even when a file name or a key in the message holds a newline.
        print(f"ganforge: error: {' '.join(str(exc).splitlines())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ganforge: interrupted", file=sys.stderr)
        return 130
