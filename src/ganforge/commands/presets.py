"""``ganforge presets``: the named configurations, one line each."""

from __future__ import annotations

import argparse

from ganforge.commands.common import add_command
from ganforge.presets import DEFAULTS_HELP, PRESETS

NAME = "presets"
EXAMPLES = ["ganforge presets", "ganforge train mnist --preset tf-dcgan-mnist --help   (a preset's values)"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """The ``presets`` sub-command's parser."""
    add_command(subparsers, NAME, "list the named presets", EXAMPLES)


def run(_args: argparse.Namespace) -> int:
    """Print the table."""
    width = max(len(name) for name in PRESETS)
    for name, preset in PRESETS.items():
        print(f"{name:<{width}}  {preset.description}")
    print(f"\nwithout --preset: {DEFAULTS_HELP}")
    return 0
