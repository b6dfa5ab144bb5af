"""What every command shares: the parser class (one-line errors), examples in help, small checks."""

from __future__ import annotations

import argparse
from typing import Any, NoReturn

from ganforge.config import RunConfig
from ganforge.errors import UserError


class Parser(argparse.ArgumentParser):
    """argparse without prefix matching, and with one-line errors."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # No prefix matching: a typo such as --epoch must be an error, not silently --epochs.
        super().__init__(*args, allow_abbrev=False, **kwargs)

    def error(self, message: str) -> NoReturn:
        # One line, not argparse's usage block: the hint says where the full usage is.
        self.exit(2, f"ganforge: error: {message} (see '{self.prog} --help')\n")


def add_command(
    subparsers: argparse._SubParsersAction, name: str, summary: str, examples: list[str], **kwargs: Any
) -> argparse.ArgumentParser:
    """A sub-command's parser whose help ends with runnable examples (tests run each through the parser)."""
    epilog = "examples:\n" + "".join(f"  {line}\n" for line in examples)
    return subparsers.add_parser(
        name, help=summary, epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs
    )


def add_device(parser: argparse.ArgumentParser, default: str = "auto") -> None:
    """``--device``, as every command that runs a generator takes it."""
    parser.add_argument(
        "--device",
        default=default,
        help=f"auto (cuda, then mps, then cpu), cpu, cuda, mps (default {default})",
    )


def check_label(cfg: RunConfig, label: int | None) -> None:
    """``--label`` fits the run: a conditional run, and a class it has."""
    if label is None:
        return
    if not cfg.model.conditional:
        raise UserError("--label needs a class-conditional run (trained with --conditional)")
    if not 0 <= label < cfg.model.num_classes:
        raise UserError(f"--label must be in 0..{cfg.model.num_classes - 1}, got {label}")
