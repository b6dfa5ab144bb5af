"""``ganforge presets``: the named configurations, one line each."""

from __future__ import annotations

import argparse

from ganforge.commands.common import add_command
from ganforge.presets import COLOUR_DEFAULT, GRAY_DEFAULT, PRESETS

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
    print(
        f"\nwithout --preset: {GRAY_DEFAULT} for mnist, fashion-mnist, grayscale images up to 64 px and any "
        f"image under 32 px (stacked-mnist); {COLOUR_DEFAULT} for twemoji and colour (or larger) folders"
    )
    return 0
